/**
 * The report of `shoal chaos --real --run "<command>"`: one plain,
 * JSON-serialisable data model that every output renders — the text summary
 * (chaos/run/summary.ts), `--report FILE` (this object as JSON, or with a
 * .html name the page of chaos/html-report.ts), `--junit FILE`
 * (chaos/junit.ts) — plus the
 * small pure helpers that fill it. No I/O, no clocks: times come in as data.
 */
import type { CheckerName, Violation } from "./checkers.ts";
import type { Traffic } from "./run/traffic.ts";
import type { Timeline } from "./timeline.ts";

/** One fault interval: on one node, on every link, or on the application's connections. */
export interface FaultLogEntry {
  /** kill | stop | restart | netem-loss | netem-delay | partition (node faults) or client (client faults). */
  what: string;
  /** The node name (n0, n1, …), or "all" (every link, every proxy). */
  target: string;
  /** ms since the command started (negative: set before it started, e.g. --client-faults). */
  startMs: number;
  /** ms since the command started when it was reverted (null while still in force; never null in a finished report). */
  endMs: number | null;
  /** What exactly: the client-fault spec, the loss or delay applied. */
  detail?: string;
  /** Node faults: ms the cluster took to converge again after the revert (null: not within the bound). */
  recoveredMs?: number | null;
  /** Client faults: who set it (--client-faults, PUT /v1/faults). */
  source?: string;
}

/** A checker's verdict over the run. */
export interface CheckerResult {
  name: CheckerName;
  status: "passed" | "failed" | "skipped";
  /** One line: what it checked, or why it was skipped. */
  detail: string;
  violations: Violation[];
}

/** One node and the addresses the command was given for it. */
export interface NodeEntry {
  name: string;
  /** Where the node listens (RESP, HTTP). */
  resp: string;
  http: string;
  /** The proxies in front of it (what SHOAL_NODES / SHOAL_HTTP list). */
  proxyResp: string;
  proxyHttp: string;
}

/** How the user's command ended. */
export interface CommandResult {
  text: string;
  /** Exit code, or null when a signal ended it (or it never started). */
  exitCode: number | null;
  signal: string | null;
  /** Shell-style status: the exit code or 128 + signal number. */
  status: number;
  durationMs: number;
  /** Killed at --timeout. */
  timedOut: boolean;
  /** Processes of its group still alive after it exited, that the runner ended. */
  stragglersKilled: number;
  /** The last 64 KiB of its output, when it was captured (--junit). */
  stdoutTail?: string;
  stderrTail?: string;
}

/** The whole report (what --report FILE writes). */
export interface ChaosRunReport {
  kind: "shoal-chaos-run";
  version: 1;
  /** ISO time the run started. */
  startedAt: string;
  seed: number;
  /** The exact command line that replays the same fault schedule. */
  replay: string;
  /** What shoal exits with. */
  exitStatus: number;
  /** Why: the command's status, a checker violation, the command's timeout, or the cluster could not start. */
  exitReason: "command" | "violation" | "timeout" | "setup";
  command: CommandResult;
  cluster: {
    nodes: NodeEntry[];
    netns: boolean;
    netBackend?: string;
    replicaCount: number;
    writeQuorum: number;
    readQuorum: number;
    memberCountQuorum: number;
    preset: string;
  };
  /** The variables the command got. */
  env: Record<string, string>;
  /** The node-fault schedule's settings and counts. */
  faults: { kinds: string[]; everyMs: number; holdMs: number; forMs: number; byKind: Record<string, number> };
  /** Client faults: the spec at the start and the proxies' counters at the end. */
  clientFaults: { initial: string; stats: Record<string, number> };
  /** Every fault, in start order. */
  log: FaultLogEntry[];
  /** The runner's own small workload, whose history the checkers judge (null with --canary-rate 0). */
  canary: { map: string; rate: number; ops: number; byKind: Record<string, { ok: number; fail: number; unknown: number; retries: number }> } | null;
  /** The canary's operations per second of the command's run (ok, failed, unknown; latency quantiles), for the HTML report. */
  timeline?: Timeline;
  /** The command's own traffic through the proxies per second (bytes each way, new connections), for the HTML report. */
  traffic?: Traffic;
  /** The cluster after the faults were healed. */
  convergence: { ok: boolean; ms: number; detail: string };
  checkers: CheckerResult[];
  /** A setup failure (the cluster did not start, …). */
  error?: string;
}

/** What each checker looks at, for the report lines. */
const CHECKERS: { name: CheckerName; detail: string }[] = [
  { name: "linearizable", detail: "every read of the canary's registers returns a value a linearizable register could hold" },
  { name: "lost-write", detail: "no acknowledged canary write is lost" },
  { name: "resurrection", detail: "no deleted canary key comes back" },
  { name: "counter", detail: "canary counters equal the acknowledged increments" },
  { name: "liveness", detail: "after the faults: every node ready, one partition table, every canary key readable through every node" },
];

/**
 * The checkers' verdicts from their violations. `historyJudged` false (no
 * canary) skips the history checkers; liveness always runs.
 */
export function checkerResults(violations: readonly Violation[], historyJudged: boolean): CheckerResult[] {
  return CHECKERS.map(({ name, detail }) => {
    const mine = violations.filter((v) => v.checker === name);
    if (name !== "liveness" && !historyJudged) return { name, status: "skipped", detail: "no canary workload (--canary-rate 0)", violations: [] };
    return { name, status: mine.length > 0 ? "failed" : "passed", detail, violations: mine };
  });
}

/** The exit status and its reason: a violation wins (1), then the command's timeout (124), then its own status. */
export function exitStatusOf(command: CommandResult, checkers: readonly CheckerResult[]): { exitStatus: number; exitReason: ChaosRunReport["exitReason"] } {
  if (checkers.some((c) => c.status === "failed")) return { exitStatus: 1, exitReason: "violation" };
  if (command.timedOut) return { exitStatus: 124, exitReason: "timeout" };
  return { exitStatus: command.status, exitReason: "command" };
}

/** Quotes `arg` for a POSIX shell (unchanged when it needs no quoting). */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line replaying a run: `program` (the binary, or bun and the
 * entry script) and `args` with any --seed replaced by `--seed <seed>`.
 */
export function replayCommand(program: readonly string[], args: readonly string[], seed: number): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--seed") {
      i++;
      continue;
    }
    if (a.startsWith("--seed=")) continue;
    out.push(a);
  }
  return [...program, ...out, "--seed", String(seed)].map(shellQuote).join(" ");
}

/** Node-fault counts by kind from the log. */
export function countByKind(log: readonly FaultLogEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of log) if (e.what !== "client") out[e.what] = (out[e.what] ?? 0) + 1;
  return out;
}
