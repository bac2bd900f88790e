/**
 * `shoal chaos --real`: real-network chaos against real `shoal serve`
 * processes. {@link realMain} is what cmd/chaos.ts calls; the pieces live in
 * options.ts (flags), cluster.ts and netns.ts (processes and network),
 * faults.ts (schedule), workload.ts and client.ts (clients and history),
 * run.ts (one run) and report.ts (tables).
 */

import { writeFileSync } from "node:fs";
import { UsageError } from "../../cmd/io.ts";
import { formatViolation } from "../checkers.ts";
import { renderChaosHtml } from "../html-report.ts";
import { pictureOfReal } from "../pictures.ts";
import { isRunMode, runMain } from "../run/mod.ts";
import { RUN_HELP } from "../run/options.ts";
import { parseRealOptions, REAL_HELP } from "./options.ts";
import { pct, table } from "./report.ts";
import { type RealReport, runRealChaos } from "./run.ts";

export { REAL_HELP } from "./options.ts";
export { type RealReport, runRealChaos } from "./run.ts";

/** Human summary of a run: settings, operations by kind, faults by kind, violations. */
export function formatRealReport(r: RealReport): string {
  const s = r.settings;
  let out = `\nshoal chaos --real: seed ${r.seed}, ${r.nodes} nodes${r.netns ? ` (netns, ${r.netBackend})` : " (loopback)"}, RF=${s.replicaCount} W=${s.writeQuorum} R=${s.readQuorum}, preset ${s.preset}`;
  if (s.linkLossPct > 0 || s.linkDelayMs > 0) out += `, every link ${s.linkLossPct}% loss ${s.linkDelayMs} ms delay`;
  if (s.down > 0) out += `, ${s.down} node(s) down during the workload`;
  out += `\nworkload ${(r.workloadMs / 1000).toFixed(1)} s, ${r.ops.logical} operations (${r.ops.attempts} attempts), latency p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms max ${r.latencyMs.max} ms\n\n`;
  out += table(
    ["operation", "ok", "failed", "unknown", "retries", "not ok"],
    Object.entries(r.ops.byKind).map(([k, t]) => [k, t.ok, t.fail, t.unknown, t.retries, pct(t.fail + t.unknown, t.ok + t.fail + t.unknown)]),
  );
  out += `\nwrites not acknowledged within the client timeout: ${(100 * r.writeFailureRate).toFixed(3)}% (puts ${(100 * r.putFailureRate).toFixed(3)}%)\n\n`;
  const kinds = Object.entries(r.faults.byKind);
  if (kinds.length > 0) {
    const rec = (k: string) => r.faults.events.filter((e) => e.kind === k && e.recoveredMs !== null).map((e) => e.recoveredMs!);
    out += table(
      ["fault", "count", "max recovery ms"],
      kinds.map(([k, n]) => [k, n, rec(k).length ? Math.max(...rec(k)) : "-"]),
    );
  } else out += "faults: none\n";
  out += `\nconvergence after the faults: ${r.convergence.ok ? `${r.convergence.ms} ms` : `NOT within 60 s (${r.convergence.detail})`}; final reads ${r.finalReads.ok}/${r.finalReads.reads} (${r.finalReads.keys} keys × ${r.nodes} nodes)\n`;
  if (r.inconclusiveKeys.length > 0) out += `linearizability search inconclusive (budget) on: ${r.inconclusiveKeys.join(", ")}\n`;
  if (r.violations.length === 0) out += "violations: 0\n";
  else {
    out += `violations: ${r.violations.length}\n`;
    for (const v of r.violations.slice(0, 5)) out += formatViolation(v, r.seed);
  }
  return out;
}

/** `shoal chaos --real [flags]`: exit 0 when no violation, 1 on a violation or failure to run, 2 on bad usage. */
export async function realMain(argv: string[]): Promise<number> {
  if (isRunMode(argv)) return await runMain(argv);
  let o: ReturnType<typeof parseRealOptions>;
  try {
    o = parseRealOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`shoal chaos --real: ${err.message}\nRun 'shoal chaos --real --help' for usage.\n`);
    return 2;
  }
  if (o === null) {
    process.stdout.write(REAL_HELP + RUN_HELP);
    return 0;
  }
  let report: RealReport;
  try {
    report = await runRealChaos(o);
  } catch (err) {
    process.stderr.write(`shoal chaos --real: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(formatRealReport(report));
  if (o.reportFile) {
    const html = /\.html?$/i.test(o.reportFile);
    try {
      writeFileSync(o.reportFile, html ? renderChaosHtml(pictureOfReal(report)) : `${JSON.stringify(report, null, 2)}\n`);
      if (!o.json) process.stdout.write(`report: ${o.reportFile}\n`);
    } catch (err) {
      process.stderr.write(`shoal chaos --real: cannot write the report to ${o.reportFile}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  return report.violations.length === 0 ? 0 : 1;
}
