/**
 * JUnit XML of a `shoal chaos --real --run` report (the format CI systems —
 * GitHub Actions test reporters, GitLab, Jenkins, CircleCI — display): one
 * suite, one test case for the user's command (its output in the failure
 * when it failed), one per shoal checker, the seed, replay line and fault
 * log as suite properties and output. Pure.
 */
import type { ChaosRunReport } from "./report.ts";

/** Escapes text for XML content and attributes, dropping characters XML 1.0 cannot carry. */
export function xmlEscape(s: string): string {
  return (
    s
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&apos;")
  );
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

/** The fault log as text lines (also the suite's system-out). */
export function faultLogText(r: ChaosRunReport): string {
  return r.log
    .map((e) => {
      const rec = e.recoveredMs === undefined ? "" : e.recoveredMs === null ? ", did not converge in time" : `, converged ${e.recoveredMs} ms later`;
      return `${secs(e.startMs)}s-${e.endMs === null ? "" : `${secs(e.endMs)}s`} ${e.what} ${e.target}${e.detail ? ` (${e.detail})` : ""}${e.source ? ` via ${e.source}` : ""}${rec}`;
    })
    .join("\n");
}

/** Renders the report as a JUnit XML document. */
export function junitXml(r: ChaosRunReport): string {
  const cases: string[] = [];
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  const c = r.command;
  const commandFailed = r.exitReason === "setup" ? "error" : c.status !== 0 || c.timedOut ? "failure" : null;
  let body = "";
  if (commandFailed) {
    const why =
      r.exitReason === "setup"
        ? `the cluster could not be started: ${r.error ?? "unknown error"}`
        : c.timedOut
          ? `killed after the timeout (${secs(c.durationMs)} s)`
          : c.signal
            ? `ended by ${c.signal} (status ${c.status})`
            : `exited with status ${c.status}`;
    const output = [c.stdoutTail ? `--- stdout (last part)\n${c.stdoutTail}` : "", c.stderrTail ? `--- stderr (last part)\n${c.stderrTail}` : ""].filter(Boolean).join("\n");
    body += `\n      <${commandFailed} message="${xmlEscape(why)}" type="${commandFailed === "error" ? "Setup" : "ExitStatus"}">${xmlEscape(`${why}\n${output}`)}</${commandFailed}>`;
    if (c.stdoutTail) body += `\n      <system-out>${xmlEscape(c.stdoutTail)}</system-out>`;
    if (c.stderrTail) body += `\n      <system-err>${xmlEscape(c.stderrTail)}</system-err>`;
    if (commandFailed === "error") errors++;
    else failures++;
  }
  cases.push(`    <testcase classname="shoal-chaos.command" name="${xmlEscape(c.text)}" time="${secs(c.durationMs)}">${body}${body ? "\n    " : ""}</testcase>`);
  for (const k of r.checkers) {
    let inner = "";
    if (k.status === "skipped") {
      skipped++;
      inner = `\n      <skipped message="${xmlEscape(k.detail)}"/>\n    `;
    } else if (k.status === "failed") {
      failures++;
      const text = k.violations.map((v) => `${v.key ? `${v.key}: ` : ""}${v.message}`).join("\n");
      inner = `\n      <failure message="${xmlEscape(`${k.violations.length} violation(s): ${k.violations[0]?.message ?? ""}`.slice(0, 500))}" type="Violation">${xmlEscape(`${text}\nreplay: ${r.replay}`)}</failure>\n    `;
    }
    cases.push(`    <testcase classname="shoal-chaos.checker" name="${xmlEscape(k.name)}" time="0">${inner}</testcase>`);
  }
  const props: [string, string][] = [
    ["seed", String(r.seed)],
    ["replay", r.replay],
    ["exit-status", String(r.exitStatus)],
    ["nodes", String(r.cluster.nodes.length)],
    ["faults", Object.entries(r.faults.byKind).map(([k, n]) => `${k}=${n}`).join(",") || "none"],
    ["client-faults", r.clientFaults.initial],
  ];
  const tests = cases.length;
  const attrs = `tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${secs(c.durationMs)}"`;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="shoal chaos" ${attrs}>`,
    `  <testsuite name="shoal chaos --real --run" ${attrs} timestamp="${xmlEscape(r.startedAt)}">`,
    "    <properties>",
    ...props.map(([n, v]) => `      <property name="${n}" value="${xmlEscape(v)}"/>`),
    "    </properties>",
    ...cases,
    `    <system-out>${xmlEscape(`fault log (seconds since the command started):\n${faultLogText(r) || "no faults"}\nreplay: ${r.replay}`)}</system-out>`,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
