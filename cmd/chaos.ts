/**
 * `shoal chaos`: fault injection for users' CI.
 * - `--sim`: the deterministic simulator (chaos/sim): whole clusters in one
 *   process, a fault schedule per seed, checkers over the recorded history;
 * - `--real` and `--soak`: real processes (chaos/real, chaos/soak).
 * Exit status: 0 no violation, 1 a violation (or a failed run), 2 bad usage.
 */

import { writeFileSync } from "node:fs";
import { renderChaosHtml } from "../chaos/html-report.ts";
import { pictureOfSim } from "../chaos/pictures.ts";
import { formatSummary, parseFaults, runSeeds, runSimSeed, type SimSummary } from "../chaos/sim/mod.ts";
import { BUG_NAMES } from "../core/cluster/bugs.ts";
import { CHAOS_HELP } from "./help.ts";
import { type CommandIO, parseOptions, positiveInt, UsageError } from "./io.ts";

const OPTIONS = {
  "--sim": { key: "sim", value: false },
  "--real": { key: "real", value: false },
  "--soak": { key: "soak", value: false },
  "--seed": { key: "seed", value: true },
  "--seeds": { key: "seeds", value: true },
  "--nodes": { key: "nodes", value: true },
  "--steps": { key: "steps", value: true },
  "--clients": { key: "clients", value: true },
  "--inject-bug": { key: "bug", value: true },
  "--faults": { key: "faults", value: true },
  "--workload": { key: "workload", value: true },
  "--ownership": { key: "ownership", value: true },
  "--link-faults": { key: "links", value: true },
  "--max-faulty": { key: "maxFaulty", value: true },
  "--stop-on-failure": { key: "stop", value: false },
  "--json": { key: "json", value: false },
  "--report": { key: "report", value: true },
  "-q": { key: "quiet", value: false },
};

/** Runs `shoal chaos …`; returns the exit status. */
export async function runChaos(args: readonly string[], io: CommandIO): Promise<number> {
  // --run is a --real mode (the user's command against real processes); alone it implies --real
  if (args.some((a) => a === "--run" || a.startsWith("--run="))) {
    if (args.includes("--sim") || args.includes("--soak")) throw new UsageError("--run works with --real (real processes), not with --sim or --soak");
    return await delegate("real", args, io);
  }
  if (args.includes("--real")) return await delegate("real", args, io);
  if (args.includes("--soak")) return await delegate("soak", args, io);
  const { options: o, rest, help } = parseOptions(args, OPTIONS);
  if (help) {
    io.out(CHAOS_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (!o.sim) throw new UsageError("choose a mode: --sim, --real or --soak");
  const bugs = o.bug ? o.bug.split(",").map((b) => b.trim()) : [];
  for (const b of bugs) if (!(BUG_NAMES as readonly string[]).includes(b)) throw new UsageError(`unknown bug "${b}" for --inject-bug (known: ${BUG_NAMES.join(", ")})`);
  // ack-before-replicate and no-read-repair only show when partition ownership moves: pick that profile unless told otherwise
  const needsFailover = bugs.some((b) => b !== "skip-tombstone");
  let profile: ReturnType<typeof parseFaults>;
  try {
    profile = parseFaults(o.faults ?? (needsFailover ? "failover" : "default"));
  } catch (e) {
    throw new UsageError(`--faults: ${(e as Error).message}`);
  }
  const kinds = profile.kinds;
  const linkSeverity = o.links ?? profile.linkSeverity;
  if (linkSeverity !== "mild" && linkSeverity !== "harsh") throw new UsageError(`--link-faults expects mild or harsh, got ${JSON.stringify(linkSeverity)}`);
  const workload = o.workload ?? (needsFailover && o.faults === undefined ? "registers" : "mixed");
  if (workload !== "mixed" && workload !== "registers") throw new UsageError(`--workload expects mixed or registers, got ${JSON.stringify(workload)}`);
  // read-repair is a second line of defence under agreed tables (owners are never stale there): the planted bug
  // shows where it is the first line, so it runs on gossip ownership unless told otherwise
  const ownership = o.ownership ?? (bugs.includes("no-read-repair") ? "gossip" : "consensus");
  if (ownership !== "consensus" && ownership !== "gossip") throw new UsageError(`--ownership expects consensus or gossip, got ${JSON.stringify(ownership)}`);
  const seed = o.seed === undefined ? 1 : nonNegativeInt(o.seed, "--seed");
  // a planted bug only shows on some seeds (the cluster's own defences hide it on most): look further, stop at the first catch
  const seeds = o.seeds === undefined ? (o.seed === undefined ? (bugs.length > 0 ? 100 : 20) : 1) : positiveInt(o.seeds, "--seeds");
  const nodes = o.nodes === undefined ? 5 : positiveInt(o.nodes, "--nodes");
  if (nodes < 3) throw new UsageError("--nodes must be at least 3 (RF=3)");
  const quiet = o.quiet === "true" || o.json === "true";
  const wall = () => performance.now();
  const every = Math.max(1, Math.floor(seeds / 10));
  const progress = (done: number, s: SimSummary): void => {
    if (quiet) return;
    const line = `chaos --sim: seed ${done}/${seeds} · ${s.seedsPerSecond.toFixed(1)} seeds/s · ${s.operations} ops · ${s.failedSeeds.length} failing seeds`;
    if (io.isTTY) io.err(`\r${line}\x1b[K${done === seeds ? "\n" : ""}`);
    else if (done % every === 0 || done === seeds) io.err(`${line}\n`);
  };
  if (o.report === "") throw new UsageError("--report expects a file name, e.g. --report chaos.html");
  const simOptions = {
    nodes,
    steps: o.steps === undefined ? 100 : positiveInt(o.steps, "--steps"),
    clients: o.clients === undefined ? 4 : positiveInt(o.clients, "--clients"),
    maxFaultyNodes: o.maxFaulty === undefined ? 1 : positiveInt(o.maxFaulty, "--max-faulty"),
    bugs,
    kinds,
    linkSeverity: linkSeverity as "mild" | "harsh",
    workload: workload as "mixed" | "registers",
    ownership: ownership as "consensus" | "gossip",
  };
  const summary = await runSeeds({
    firstSeed: seed,
    seeds,
    ...simOptions,
    stopOnFailure: o.stop === "true" || (bugs.length > 0 && o.seeds === undefined),
    wallClock: wall,
    onSeed: (_r, done, s) => progress(done, s),
  });
  if (io.isTTY && !quiet && summary.seedsRun < seeds) io.err("\n");
  const settings = { nodes, faults: kinds, linkSeverity, workload, bugs, ownership, replicaCount: 3, writeQuorum: 2, readQuorum: 2 };
  if (o.json === "true") io.out(`${JSON.stringify({ mode: "sim", settings, ...summary, ok: summary.failedSeeds.length === 0 })}\n`);
  else {
    io.out(`shoal chaos --sim: ${nodes} nodes, RF=3 W=2 R=2, faults ${kinds.join(",") || "none"} (${linkSeverity} links), workload ${workload}, ${ownership} ownership${bugs.length ? `, planted bug ${bugs.join(",")}` : ""}\n\n`);
    io.out(formatSummary(summary));
    if (summary.failedSeeds.length > 0) io.out(`\nreplay one: shoal chaos --sim --seed ${summary.failedSeeds[0]} ${replayFlags(args)}\n`);
  }
  if (o.report !== undefined) {
    // the seed to draw runs once more with its history kept: it replays exactly
    const pick = summary.failedSeeds[0] ?? seed;
    const one = await runSimSeed({ ...simOptions, seed: pick, keepHistory: true });
    const html = /\.html?$/i.test(o.report);
    const settingsLine = `${nodes} nodes, RF=3 W=2 R=2, faults ${kinds.join(",") || "none"} (${linkSeverity} links), workload ${workload}, ${ownership} ownership${bugs.length ? `, planted bug ${bugs.join(",")}` : ""}`;
    const replay = `shoal chaos --sim --seed ${pick} ${replayFlags(args.filter((a, i) => a !== "--report" && args[i - 1] !== "--report" && !a.startsWith("--report=")))}`.trim();
    const text = html
      ? renderChaosHtml(pictureOfSim(one, { seeds: summary.seedsRun, failedSeeds: summary.failedSeeds, settings: settingsLine, replay }))
      : `${JSON.stringify({ mode: "sim", settings, summary, seed: { ...one, history: undefined } }, (_k, v) => (v === Number.POSITIVE_INFINITY ? null : v), 2)}\n`;
    try {
      writeFileSync(o.report, text);
    } catch (err) {
      io.err(`shoal chaos --sim: cannot write the report to ${o.report}: ${(err as Error).message}\n`);
      return 1;
    }
    if (!quiet) io.err(`report (seed ${pick}): ${o.report}\n`);
  }
  return summary.failedSeeds.length === 0 ? 0 : 1;
}

/** The flags to repeat when replaying a seed (all but --seed/--seeds/--json). */
function replayFlags(args: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--sim" || a === "--json" || a === "-q" || a === "--stop-on-failure") continue;
    if (a === "--seed" || a === "--seeds") {
      i++;
      continue;
    }
    if (a.startsWith("--seed=") || a.startsWith("--seeds=")) continue;
    out.push(a);
  }
  return out.join(" ");
}

function nonNegativeInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError(`${flag} expects an integer 0..4294967295, got ${JSON.stringify(v)}`);
  return n;
}

/** `--real` / `--soak` run code in chaos/real and chaos/soak; "not built yet" if a module fails to load. */
async function delegate(mode: "real" | "soak", args: readonly string[], io: CommandIO): Promise<number> {
  const argv = args.filter((a) => a !== `--${mode}`);
  let main: ((argv: string[]) => Promise<number>) | undefined;
  try {
    main = mode === "real" ? (await import("../chaos/real/mod.ts")).realMain : (await import("../chaos/soak/mod.ts")).soakMain;
  } catch {
    main = undefined;
  }
  if (!main) {
    io.err(`shoal chaos --${mode}: not built yet\n`);
    return 2;
  }
  return await main(argv);
}
