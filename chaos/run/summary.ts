/** The text summary of a --run report (printed to stderr at the end of the run). */
import { formatViolation } from "../checkers.ts";
import { table } from "../real/report.ts";
import type { ChaosRunReport } from "../report.ts";

const at = (ms: number | null) => (ms === null ? "-" : `${ms < 0 ? "-" : "+"}${(Math.abs(ms) / 1000).toFixed(1)}s`);

/** Renders the report for people: command, fault log, client-fault counters, canary, checkers, exit status, replay line. */
export function formatRunSummary(r: ChaosRunReport): string {
  const c = r.cluster;
  let out = `\nshoal chaos --real --run: seed ${r.seed}, ${c.nodes.length} nodes${c.netns ? ` (netns, ${c.netBackend ?? "?"})` : " (loopback)"}, RF=${c.replicaCount} W=${c.writeQuorum} R=${c.readQuorum}\n`;
  if (r.exitReason === "setup") {
    return `${out}the command did not run: ${r.error}\nexit status 1\n`;
  }
  const cmd = r.command;
  const how = cmd.timedOut ? "killed at --timeout" : cmd.signal ? `ended by ${cmd.signal}` : `exit status ${cmd.exitCode}`;
  out += `command: ${cmd.text} → ${how} after ${(cmd.durationMs / 1000).toFixed(1)} s${cmd.stragglersKilled > 0 ? ` (${cmd.stragglersKilled} leftover process(es) ended)` : ""}\n\n`;
  if (r.log.length === 0) out += "fault log: no faults were injected\n";
  else {
    out += "fault log (seconds since the command started):\n";
    out += table(
      ["start", "end", "fault", "target", "detail"],
      r.log.map((e) => [
        at(e.startMs),
        at(e.endMs),
        e.what,
        e.target,
        [e.detail, e.source ? `via ${e.source}` : "", e.recoveredMs === undefined ? "" : e.recoveredMs === null ? "not converged before the faults stopped" : `converged ${e.recoveredMs} ms after`]
          .filter(Boolean)
          .join("; "),
      ]),
    );
  }
  const s = r.clientFaults.stats;
  out += `\nproxied connections: ${s["connections"] ?? 0} (to a down node: ${s["refusedUpstream"] ?? 0}, reset: ${s["resets"] ?? 0}, silenced: ${s["silencedConnections"] ?? 0}, delayed reply chunks: ${s["delayedChunks"] ?? 0}, sliced: ${s["slicedChunks"] ?? 0})\n`;
  if (r.canary) {
    const t = Object.values(r.canary.byKind).reduce((a, x) => ({ ok: a.ok + x.ok, fail: a.fail + x.fail, unknown: a.unknown + x.unknown }), { ok: 0, fail: 0, unknown: 0 });
    out += `canary (map ${r.canary.map}, ${r.canary.rate}/s): ${r.canary.ops} operations, ok ${t.ok}, failed ${t.fail}, unknown ${t.unknown}\n`;
  }
  out += `convergence after the faults: ${r.convergence.ok ? `${r.convergence.ms} ms` : r.convergence.detail}\n`;
  out += `checkers: ${r.checkers.map((k) => `${k.name} ${k.status}`).join(", ")}\n`;
  for (const k of r.checkers) for (const v of k.violations.slice(0, 3)) out += formatViolation(v, r.seed);
  const why = r.exitReason === "violation" ? "a checker found a violation" : r.exitReason === "timeout" ? "the command timed out" : "the command's";
  out += `exit status ${r.exitStatus} (${why})\nreplay: ${r.replay}\n`;
  return out;
}
