/**
 * The chaos reports of every mode as {@link ChaosPicture}s for
 * html-report.ts: `--real --run` (chaos/report.ts's ChaosRunReport), `--real`
 * (RealReport) and `--sim` (one seed's SeedReport with its history, and the
 * batch's summary). Pure mapping; no I/O.
 */
import type { CheckerName, Violation } from "./checkers.ts";
import type { ChaosPicture, PictureChecker, PictureFault } from "./html-report.ts";
import type { RealReport } from "./real/run.ts";
import { type ChaosRunReport, checkerResults } from "./report.ts";
import type { SeedReport } from "./sim/run.ts";
import { timelineOf } from "./timeline.ts";

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const line = (v: { key?: string; message: string }) => `${v.key === undefined ? "" : `key ${v.key}: `}${v.message}`;

/** `shoal chaos --real --run "<command>"`. */
export function pictureOfRun(r: ChaosRunReport): ChaosPicture {
  const c = r.cluster;
  const ops = Object.values(r.canary?.byKind ?? {}).reduce((s, t) => s + t.ok + t.fail + t.unknown, 0);
  const why =
    r.exitReason === "violation"
      ? `a checker found a violation (exit ${r.exitStatus})`
      : r.exitReason === "timeout"
        ? `the command ran past --timeout (exit ${r.exitStatus})`
        : r.exitReason === "setup"
          ? `the cluster did not start: ${r.error ?? "unknown error"}`
          : r.exitStatus === 0
            ? "the command passed and no checker found a violation"
            : `the command failed (status ${r.exitStatus}); no checker found a violation`;
  return {
    title: `shoal chaos --real --run "${r.command.text}"`,
    subtitle: `seed ${r.seed} · ${c.nodes.length} nodes${c.netns ? ` (netns${c.netBackend ? `, ${c.netBackend}` : ""})` : " (loopback)"} · RF=${c.replicaCount} W=${c.writeQuorum} R=${c.readQuorum} · preset ${c.preset}`,
    ok: r.exitStatus === 0,
    verdict: why,
    clock: "wall",
    durationMs: r.command.durationMs,
    timeline: r.timeline ?? null,
    ...(r.traffic ? { traffic: r.traffic } : {}),
    faults: r.log.map((e) => ({ what: e.what, target: e.target, startMs: e.startMs, endMs: e.endMs, ...(e.detail ? { detail: e.detail } : {}), ...(e.recoveredMs !== undefined ? { recoveredMs: e.recoveredMs } : {}) })),
    checkers: r.checkers.map((k) => ({ name: k.name, status: k.status, detail: k.detail, violations: k.violations.map(line) })),
    facts: [
      ["command", `${r.command.text} → ${r.command.signal ? `ended by ${r.command.signal}` : `exit ${r.command.exitCode}`} after ${(r.command.durationMs / 1000).toFixed(1)} s${r.command.timedOut ? " (timed out)" : ""}`],
      ["node faults", r.faults.kinds.length === 0 ? "none" : `${r.faults.kinds.join(", ")} every ~${r.faults.everyMs} ms, held ~${r.faults.holdMs} ms`],
      ["client faults", r.clientFaults.initial],
      ["canary", r.canary ? `${r.canary.ops} operations at ${r.canary.rate}/s on map ${r.canary.map} (${ops} ended)` : "off"],
      ["convergence after the faults", r.convergence.ok ? `${r.convergence.ms} ms` : `not reached: ${r.convergence.detail}`],
      ["environment", Object.entries(r.env).map(([k, v]) => `${k}=${v}`).join("  ")],
      ["exit status", String(r.exitStatus)],
    ],
    replay: r.replay,
    startedAt: r.startedAt,
  };
}

/** Checker verdicts from violations when the history was judged. */
function verdicts(violations: readonly { checker: CheckerName; key?: string; message: string }[], judged: boolean): PictureChecker[] {
  // the details name the --run canary; here the judged history is the run's own workload
  const detail = (d: string) => d.replace(/the canary's |canary /g, "");
  return checkerResults(violations as Violation[], judged).map((c) => ({ name: c.name, status: c.status, detail: detail(c.detail), violations: c.violations.map(line) }));
}

/** `shoal chaos --real` (shoal's own workload). */
export function pictureOfReal(r: RealReport): ChaosPicture {
  const s = r.settings;
  return {
    title: "shoal chaos --real",
    subtitle: `seed ${r.seed} · ${r.nodes} nodes${r.netns ? ` (netns, ${r.netBackend})` : " (loopback)"} · RF=${s.replicaCount} W=${s.writeQuorum} R=${s.readQuorum} · preset ${s.preset}`,
    ok: r.violations.length === 0,
    verdict: r.violations.length === 0 ? `no violation in ${r.ops.logical} operations` : `${r.violations.length} violation(s)`,
    clock: "wall",
    durationMs: r.workloadMs,
    timeline: r.timeline ?? null,
    faults: r.faults.events.map((e) => ({ what: e.kind, target: e.node ?? "all", startMs: e.startMs, endMs: e.endMs, recoveredMs: e.recoveredMs })),
    checkers: verdicts(r.violations, true),
    facts: [
      ["operations", `${r.ops.logical} logical, ${r.ops.attempts} attempts`],
      ["latency", `p50 ${r.latencyMs.p50} ms · p99 ${r.latencyMs.p99} ms · max ${r.latencyMs.max} ms`],
      ["writes not acknowledged in time", `${pct(r.writeFailureRate)} (puts ${pct(r.putFailureRate)})`],
      ...Object.entries(r.ops.byKind).map(([k, t]): [string, string] => [`  ${k}`, `ok ${t.ok} · failed ${t.fail} · unknown ${t.unknown} · retries ${t.retries}`]),
      ["faults", Object.entries(r.faults.byKind).map(([k, n]) => `${k} ×${n}`).join(", ") || "none"],
      ["links", s.linkLossPct > 0 || s.linkDelayMs > 0 ? `${s.linkLossPct}% loss, ${s.linkDelayMs} ms delay on every link` : "clean"],
      ["convergence after the faults", r.convergence.ok ? `${r.convergence.ms} ms` : `not reached: ${r.convergence.detail}`],
      ["final reads", `${r.finalReads.ok}/${r.finalReads.reads} (${r.finalReads.keys} keys × ${r.nodes} nodes)`],
      ...(r.inconclusiveKeys.length > 0 ? [["inconclusive keys", r.inconclusiveKeys.join(", ")] as [string, string]] : []),
    ],
  };
}

/** One `shoal chaos --sim` seed (run with its history kept), with the batch it belongs to. */
export function pictureOfSim(r: SeedReport, batch: { seeds: number; failedSeeds: number[]; settings: string; replay: string }): ChaosPicture {
  const faults: PictureFault[] = [];
  const open = new Map<string, PictureFault[]>();
  for (const e of r.faultEvents) {
    const target = e.nodes.length === 0 ? "all" : e.nodes.join(" ↔ ");
    const key = `${e.kind}|${target}`;
    if (e.phase === "start") {
      const f: PictureFault = { what: e.kind, target, startMs: e.atMs, endMs: null, ...(e.detail ? { detail: e.detail } : {}) };
      faults.push(f);
      open.set(key, [...(open.get(key) ?? []), f]);
    } else {
      const f = open.get(key)?.shift();
      if (f) f.endMs = e.atMs;
    }
  }
  const ops = r.history?.ops ?? [];
  const outcome = r.outcomes;
  return {
    title: `shoal chaos --sim (seed ${r.seed})`,
    subtitle: `${batch.settings} · seed ${r.seed} of ${batch.seeds} run${batch.failedSeeds.length > 0 ? ` · failing seeds ${batch.failedSeeds.slice(0, 10).join(" ")}${batch.failedSeeds.length > 10 ? " …" : ""}` : ""}`,
    ok: r.violations.length === 0,
    verdict: r.violations.length === 0 ? `seed ${r.seed}: no violation in ${r.operations} operations` : `seed ${r.seed}: ${r.violations.length} violation(s)`,
    clock: "simulated",
    durationMs: r.simulatedMs,
    timeline: ops.length > 0 ? timelineOf(ops, { bucketMs: 0, toMs: r.simulatedMs }) : null,
    faults,
    checkers: verdicts(r.violations, true),
    facts: [
      ["operations", `${r.operations} (ok ${outcome.ok}, fail ${outcome.fail}, unknown ${outcome.unknown})`],
      ["faults", Object.entries(r.faults).filter(([, n]) => n > 0).map(([k, n]) => `${k} ×${n}`).join(", ") || "none"],
      ["messages", Object.entries(r.network).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ") || "none disturbed"],
      ["converged after the faults", r.liveness.convergedAfterMs === null ? "not within the bound" : `${r.liveness.convergedAfterMs} ms (simulated)`],
      ["history hash", r.historyHash],
      ...(r.inconclusive.length > 0 ? [["inconclusive keys", r.inconclusive.join(", ")] as [string, string]] : []),
    ],
    replay: batch.replay,
  };
}
