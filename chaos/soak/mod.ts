/**
 * `shoal chaos --soak`: a long stability run of real nodes under steady load
 * with periodic faults; samples RSS, open fds, each node's own event-loop lag
 * gauge, /healthz latency and client p99 per interval; fails on RSS growth
 * after the warm-up or a stall. {@link soakMain} is what cmd/chaos.ts calls.
 */
import { type OptionSpec, parseOptions, positiveInt, UsageError } from "../../cmd/io.ts";
import { FAULT_KINDS, type FaultKind, NETNS_FAULTS } from "../real/faults.ts";
import { durationFlag } from "../real/options.ts";
import { table } from "../real/report.ts";
import { runSoak, type SoakOptions, type SoakReport } from "./run.ts";

export { runSoak, type SoakOptions, type SoakReport } from "./run.ts";

export const SOAK_HELP = `Usage: shoal chaos --soak [flags]

Long-running stability test: N real 'shoal serve' processes under steady
load (GET/SET/DEL/INCR on a fixed key space, so memory plateaus) with a
fault every --fault-every. Every --sample-every it records per node RSS
(/proc/<pid>/status), open fds, the node's own event-loop lag (largest
shoal_event_loop_lag_seconds, the node's worst of its last 10 s, scraped
from /metrics every 2 s or half --sample-every; a node paused by a fault is
skipped until 12 s after it resumes), the slowest /healthz answer (paused
nodes excluded; minus the runner's own timer lag of the interval when
judged) and the client p99. Fails (exit 1) when a
node's RSS grew more than --max-rss-growth between the end of the warm-up
and the end (lowest RSS of the first vs the last quarter of the samples after
the warm-up: a leak raises that floor, garbage between collections does not;
the median growth is shown too; kill/restart only hit the last node, which
is judged on its last incarnation after its own warm-up), or on a stall
longer than --max-stall (node-side lag or /healthz).
Prints the timeline at the end; --json for machines.

  --duration <d>           run time [30m]
  --warmup <d>             not judged for RSS growth [max(60s, duration/5), at most duration/2]
  --nodes <n>              nodes [3]
  --rate <n>               operations per second, all clients [500]
  --clients <n>            concurrent clients [8]
  --keys <n>               key space [20000]; --value-bytes <n> [200]
  --fault-every <d>        mean time between faults (0 = no faults) [60s]
  --fault-hold <d>         mean time a fault lasts [3s]
  --faults <list>          kill,stop,restart[,netem-loss,netem-delay,partition with --netns] [stop,restart,kill]
  --sample-every <d>       sampling interval [5s]
  --max-rss-growth <pct>   allowed RSS growth after warm-up [5]
  --max-stall <d>          allowed event-loop lag and /healthz latency [1s]
  --netns                  nodes in network namespaces (root)
  --preset <p>             failure-detection preset [local]
  --seed <n>               seed of load and faults [random]
  --bin <path>             shoal binary for the nodes [this one]
  --json                   report as JSON on stdout
  -q, --quiet              no progress line
`;

const FLAGS: [string, boolean][] = [
  ["--duration", true],
  ["--warmup", true],
  ["--nodes", true],
  ["--rate", true],
  ["--clients", true],
  ["--keys", true],
  ["--value-bytes", true],
  ["--fault-every", true],
  ["--fault-hold", true],
  ["--faults", true],
  ["--sample-every", true],
  ["--max-rss-growth", true],
  ["--max-stall", true],
  ["--netns", false],
  ["--preset", true],
  ["--seed", true],
  ["--bin", true],
  ["--json", false],
  ["--quiet", false],
  ["-q", false],
  ["--soak", false],
];
const SPEC: OptionSpec = Object.fromEntries(FLAGS.map(([f, v]) => [f, { key: f.replace(/^-+/, ""), value: v }]));

/** Parses the flags (null for --help); throws UsageError. */
export function parseSoakOptions(argv: readonly string[]): SoakOptions | null {
  const { options: o, rest, help } = parseOptions(argv, SPEC);
  if (help) return null;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const netns = o["netns"] === "true";
  const durationMs = durationFlag(o["duration"] ?? "30m", "--duration");
  if (durationMs < 10_000) throw new UsageError("--duration: at least 10s");
  const warmupMs = o["warmup"] !== undefined ? durationFlag(o["warmup"], "--warmup") : Math.min(Math.max(60_000, durationMs / 5), durationMs / 2);
  const everyMs = durationFlag(o["fault-every"] ?? "60s", "--fault-every");
  const faults = everyMs === 0 || o["faults"] === "none" ? [] : ((o["faults"]?.split(",").map((s) => s.trim()) ?? ["stop", "restart", "kill"]) as FaultKind[]);
  for (const f of faults) {
    if (!FAULT_KINDS.includes(f)) throw new UsageError(`--faults: unknown fault ${JSON.stringify(f)} (known: ${FAULT_KINDS.join(", ")})`);
    if (!netns && NETNS_FAULTS.includes(f)) throw new UsageError(`--faults ${f} needs --netns`);
  }
  const growth = Number(o["max-rss-growth"] ?? "5");
  if (!Number.isFinite(growth) || growth < 0) throw new UsageError(`--max-rss-growth: expected a percentage, got ${JSON.stringify(o["max-rss-growth"])}`);
  const seed = o["seed"] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(o["seed"]);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed: expected a non-negative integer, got ${JSON.stringify(o["seed"])}`);
  return {
    durationMs,
    warmupMs,
    nodes: positiveInt(o["nodes"] ?? "3", "--nodes"),
    rate: positiveInt(o["rate"] ?? "500", "--rate"),
    clients: positiveInt(o["clients"] ?? "8", "--clients"),
    keys: positiveInt(o["keys"] ?? "20000", "--keys"),
    valueBytes: positiveInt(o["value-bytes"] ?? "200", "--value-bytes"),
    faultEveryMs: everyMs,
    faultHoldMs: durationFlag(o["fault-hold"] ?? "3s", "--fault-hold"),
    faults,
    sampleEveryMs: Math.max(1000, durationFlag(o["sample-every"] ?? "5s", "--sample-every")),
    maxRssGrowthPct: growth,
    maxStallMs: durationFlag(o["max-stall"] ?? "1s", "--max-stall"),
    netns,
    seed,
    bin: o["bin"],
    preset: o["preset"] ?? "local",
    quiet: o["quiet"] === "true" || o["q"] === "true",
    json: o["json"] === "true",
  };
}

/** The human report: timeline (at most ~40 rows), RSS per node, lag, failures. */
export function formatSoakReport(r: SoakReport): string {
  const step = Math.max(1, Math.ceil(r.samples.length / 40));
  const rows = r.samples.filter((s, k) => k % step === 0 || k === r.samples.length - 1 || s.faults.length > 0);
  const cols = (xs: (number | null)[]) => xs.map((x) => x ?? "-").join("/");
  let out = `\nshoal chaos --soak: seed ${r.seed}, ${r.nodes} nodes, ${(r.durationMs / 1000).toFixed(0)} s (warm-up ${(r.warmupMs / 1000).toFixed(0)} s), ${r.ops} operations, ${r.errors} not ok\n\n`;
  out += table(
    ["t s", "ops", "errors", "p99 ms", "RSS MB", "fds", "node lag ms", "healthz max ms", "runner lag ms", "faults"],
    rows.map((s) => [(s.atMs / 1000).toFixed(0), s.ops, s.errors, s.p99Ms, cols(s.rssMb), cols(s.fds), cols(s.nodeLagMs), cols(s.lagMs), s.runnerLagMs, s.faults.join(", ")]),
  );
  out += "\n";
  out += table(
    ["node", "RSS floor after warm-up MB", "RSS floor at end MB", "growth", "median growth", "max node lag ms", "max healthz ms (raw)", "fds start→end"],
    r.rss.map((x, i) => [
      x.node,
      x.baseMb ?? "-",
      x.endMb ?? "-",
      x.growthPct === null ? (x.note ?? "-") : `${x.growthPct}%`,
      x.medianGrowthPct === undefined ? "-" : `${x.medianGrowthPct}%`,
      r.maxNodeLagMs[i] ?? "-",
      `${r.maxLagMs[i] ?? "-"} (${r.maxRawLagMs[i] ?? "-"})`,
      `${r.fdsStartEnd[i]![0] ?? "-"}→${r.fdsStartEnd[i]![1] ?? "-"}`,
    ]),
  );
  const kinds = Object.entries(r.faults.byKind);
  out += `\nfaults: ${kinds.length ? kinds.map(([k, n]) => `${k} ${n}`).join(", ") : "none"}; runner's own max timer lag ${r.maxRunnerLagMs} ms\n`;
  out += r.failures.length === 0 ? "result: ok (no RSS growth over the limit, no stall)\n" : `result: FAILED\n${r.failures.map((f) => `  ${f}`).join("\n")}\n`;
  return out;
}

/** `shoal chaos --soak [flags]`: 0 ok, 1 failed (growth, stall) or could not run, 2 bad usage. */
export async function soakMain(argv: string[]): Promise<number> {
  let o: SoakOptions | null;
  try {
    o = parseSoakOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`shoal chaos --soak: ${err.message}\nRun 'shoal chaos --soak --help' for usage.\n`);
    return 2;
  }
  if (o === null) {
    process.stdout.write(SOAK_HELP);
    return 0;
  }
  let report: SoakReport;
  try {
    report = await runSoak(o);
  } catch (err) {
    process.stderr.write(`shoal chaos --soak: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : formatSoakReport(report));
  return report.failures.length === 0 ? 0 : 1;
}
