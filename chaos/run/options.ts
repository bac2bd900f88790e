/** Flags of `shoal chaos --real --run "<command>"`: the --real cluster and fault flags plus the run's own. */
import { parseOptions, positiveInt, UsageError } from "../../cmd/io.ts";
import { durationFlag, REAL_FLAGS, type RealOptions, realOptionsFrom, specOf } from "../real/options.ts";
import { ClientFaultError, type ClientFaults, parseClientFaults } from "./client-faults.ts";

/** Everything a --run needs. */
export interface RunOptions {
  /** The cluster and node-fault settings (the --real flags). */
  real: RealOptions;
  /** The command, run with /bin/sh -c. */
  command: string;
  clientFaults: ClientFaults;
  reportFile?: string;
  junitFile?: string;
  /** Port of the control endpoint on 127.0.0.1 (0 = any free one). */
  controlPort: number;
  /** Kill the command after this long, ms. */
  timeoutMs: number;
  /** Operations per second of the runner's canary workload (0 = none). */
  canaryRate: number;
  /** Time the command's process group gets between SIGTERM and SIGKILL, ms. */
  graceMs: number;
  /** The flags as given (after `chaos`), for the replay line. */
  argv: string[];
}

export const RUN_HELP = `
Your own tests against a failing cluster:

  shoal chaos --real --run "<command>" [--faults kill,…] [--client-faults …]
              [--duration d] [--timeout d] [--seed n] [--report FILE] [--junit FILE]

Starts the cluster as above, waits until it is ready, then runs <command>
(/bin/sh -c, in a process group of its own) with these variables set:
  SHOAL_NODES      host:port of every node's RESP port, comma-separated
  SHOAL_HTTP       host:port of every node's HTTP port, comma-separated
  REDIS_URL        redis://host:port of the first node
  SHOAL_CHAOS_URL  http://127.0.0.1:port of the runner's control endpoint
The addresses are proxies in front of the nodes, so client faults apply to
the connections the command makes. Node faults (--faults, --fault-every,
--fault-hold) are injected while the command runs, for at most --duration;
a small canary workload of the runner's own (map shoal-chaos-canary) runs
beside it. When the command exits, faults are removed, the cluster is
healed and checked (linearizable, lost-write, resurrection, counter,
liveness), the rest of its process group is killed, everything stops.
Exit status: the command's (128+n when signal n ended it, 124 when killed
at --timeout), or 1 when a checker found a violation. Its stdout and stderr
pass through; Ctrl-C / SIGTERM are forwarded to it. The fault log, the
seed and the command that replays the same schedule go to stderr.

  --run "<command>"        the command to run (e.g. "npm test")
  --client-faults <spec>   faults on the command's connections [none]:
                             latency=<d>      added to every reply chunk
                             jitter=<d>       ± on top of latency
                             bandwidth=<size> replies paced to size/s per connection
                             reset=<pct>      chance per request of a TCP reset
                             timeout=<pct>    share of connections that never answer
                             slice=<size>     replies cut into ~size-byte pieces
                             slice-delay=<d>  pause between pieces [1ms]
                           e.g. latency=200ms,jitter=50ms,reset=1%
  --duration <d>           inject node faults for at most this long [--timeout]
  --timeout <d>            kill the command after this long [1h]
  --grace <d>              SIGTERM → SIGKILL wait for the command's processes [5s]
  --canary-rate <n>        canary operations per second (0 = no canary;
                           history checkers skipped) [20]
  --control-port <n>       port of SHOAL_CHAOS_URL on 127.0.0.1 [any free]
  --report <file>          write the report: JSON (fault log, checkers, seed, replay), or
                           with a .html name a page with the faults drawn against the
                           canary's throughput, errors and latency
  --junit <file>           write JUnit XML: a test case for the command (its
                           output on failure) and one per checker

Client faults at run time (SHOAL_CHAOS_URL; these are the proxies' faults,
not a node's peer-transport /v1/faults):
  curl -X PUT --data 'latency=200ms' "$SHOAL_CHAOS_URL/v1/faults"   # or JSON {"latency":"200ms"}
  curl "$SHOAL_CHAOS_URL/v1/faults"                                  # in force + counters
  curl -X DELETE "$SHOAL_CHAOS_URL/v1/faults"                        # off again
  curl -X PUT --data 'timeout=100%' "$SHOAL_CHAOS_URL/v1/faults?node=n1"   # one node's proxies
  curl "$SHOAL_CHAOS_URL/v1/log"                                     # fault log so far
(n0, n1, … are the nodes in SHOAL_NODES order.)
`;

const RUN_FLAGS: readonly (readonly [string, boolean])[] = [
  ["--run", true],
  ["--client-faults", true],
  ["--report", true],
  ["--junit", true],
  ["--control-port", true],
  ["--timeout", true],
  ["--grace", true],
  ["--canary-rate", true],
];

/** --real flags that shape shoal's own workload, which --run replaces with the command. */
const WORKLOAD_ONLY = ["ops", "clients", "rate", "keys", "counters"];

/** True when `argv` asks for the --run mode. */
export function isRunMode(argv: readonly string[]): boolean {
  return argv.some((a) => a === "--run" || a.startsWith("--run="));
}

/** Parses `shoal chaos --real --run …` flags (`argv` without `chaos`); null for --help; throws UsageError. */
export function parseRunOptions(argv: readonly string[]): RunOptions | null {
  const { options: o, rest, help } = parseOptions(argv, specOf([...REAL_FLAGS, ...RUN_FLAGS]));
  if (help) return null;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}; quote the whole command: --run "npm test -- --watch=false"`);
  const command = (o["run"] ?? "").trim();
  if (command === "") throw new UsageError('--run expects a command, e.g. --run "npm test"');
  for (const k of WORKLOAD_ONLY) if (o[k] !== undefined) throw new UsageError(`--${k} shapes shoal's own workload and does not apply with --run (the command is the workload; see --canary-rate)`);
  if (o["json"] !== undefined) throw new UsageError("--json prints on stdout, which the command's output uses under --run; write the report with --report FILE");
  let clientFaults: ClientFaults;
  try {
    clientFaults = parseClientFaults(o["client-faults"] ?? "none");
  } catch (e) {
    if (e instanceof ClientFaultError) throw new UsageError(`--client-faults: ${e.message}`);
    throw e;
  }
  const timeoutMs = durationFlag(o["timeout"] ?? "1h", "--timeout");
  if (timeoutMs === 0) throw new UsageError("--timeout must be more than 0");
  const durationGiven = o["duration"] !== undefined;
  const real = realOptionsFrom({ ...o, duration: o["duration"] ?? "0" });
  if (!durationGiven) real.durationMs = timeoutMs;
  const controlPort = o["control-port"] === undefined ? 0 : positiveInt(o["control-port"], "--control-port");
  if (controlPort > 65535) throw new UsageError(`--control-port: expected a port 1-65535, got ${JSON.stringify(o["control-port"])}`);
  const rateText = o["canary-rate"] ?? "20";
  const canaryRate = Number(rateText);
  if (!/^\d+(\.\d+)?$/.test(rateText.trim()) || !Number.isFinite(canaryRate) || canaryRate > 10_000) {
    throw new UsageError(`--canary-rate: expected operations per second 0-10000, got ${JSON.stringify(rateText)}`);
  }
  for (const f of ["report", "junit"] as const) if (o[f] === "") throw new UsageError(`--${f} expects a file name`);
  return {
    real,
    command,
    clientFaults,
    ...(o["report"] ? { reportFile: o["report"] } : {}),
    ...(o["junit"] ? { junitFile: o["junit"] } : {}),
    controlPort,
    timeoutMs,
    canaryRate,
    graceMs: durationFlag(o["grace"] ?? "5s", "--grace"),
    argv: [...argv],
  };
}
