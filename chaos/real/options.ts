/** Flags of `shoal chaos --real` (help text, parsing, defaults). */
import { type OptionSpec, parseOptions, positiveInt, UsageError } from "../../cmd/io.ts";
import { parseDuration } from "../../core/units.ts";
import { FAULT_KINDS, type FaultKind, NETNS_FAULTS } from "./faults.ts";

/** Everything a real-network chaos run needs. */
export interface RealOptions {
  nodes: number;
  ops: number;
  durationMs: number;
  faults: FaultKind[];
  /** False when --faults was not given (defaults may drop kinds this machine cannot apply). */
  faultsExplicit: boolean;
  netns: boolean;
  seed: number;
  json: boolean;
  clients: number;
  rate: number;
  replicaCount: number;
  writeQuorum: number;
  readQuorum: number;
  memberCountQuorum: number;
  preset: string;
  faultEveryMs: number;
  faultHoldMs: number;
  lossPct: number;
  delayMs: number;
  linkLossPct: number;
  linkDelayMs: number;
  down: number;
  clientTimeoutMs: number;
  attemptTimeoutMs: number;
  registerKeys: number;
  counterKeys: number;
  bin?: string;
  historyFile?: string;
  /** --report: the report as JSON, or as an HTML page with a .html name. */
  reportFile?: string;
  serveArgs: string[];
  quiet: boolean;
}

export const REAL_HELP = `Usage: shoal chaos --real [flags]

Starts N real 'shoal serve' processes (loopback, or one network namespace
each with --netns), runs a bounded concurrent workload through real RESP
connections (put/get/delete on register keys, incr on counters; random node
per attempt; retries within the client timeout), injects faults, heals,
waits for convergence, reads every key through every node and runs the
history checkers (linearizable reads, no lost acknowledged write, no
resurrection, exact counters). Stops by itself; every process and namespace
it created is removed, also on Ctrl-C. Exit 0 only when no violation.

  --nodes <n>              nodes [3]
  --ops <n>                logical operations in total, at most [20000]
  --duration <d>           workload time, at most [60s]
  --clients <n>            concurrent clients [8]
  --rate <n>               operations per second, all clients (0 = unpaced) [300]
  --faults <list>          kill,stop,restart,netem-loss,netem-delay,partition or none
                           [kill,stop,restart; with --netns all six (netem-delay
                           only where the kernel has tc netem; else nftables does
                           loss and partitions)]
  --fault-every <d>        mean time between faults [5s]
  --fault-hold <d>         mean time a fault lasts [3s]
  --loss <pct>             loss of the netem-loss fault, every link [10]
  --delay <d>              delay of the netem-delay fault, every link [100ms]
  --link-loss <pct>        loss on every link for the whole workload (netns) [0]
  --link-delay <d>         delay on every link for the whole workload (netns) [0]
  --down <n>               nodes kept down during the whole workload [0]
  --netns                  one network namespace per node, veth + bridge, tc netem (root)
  --seed <n>               seed of the workload and fault schedule [random]
  --replica-count <n>      copies of each key [3, at most nodes]
  --write-quorum <n>       copies acknowledging a write [2]
  --read-quorum <n>        copies consulted on a read [2]
  --member-count-quorum <n> members needed for writes [majority]
  --preset <p>             failure-detection preset of the nodes [local]
  --serve-args "<flags>"   extra 'shoal serve' flags for every node
  --client-timeout <d>     give up on an operation after [5s]
  --attempt-timeout <d>    deadline of one attempt [2s]
  --keys <n>               register keys [8] (counters: --counters [2])
  --history <file>         write the operation history (JSON) there
  --report <file>          write the report: JSON, or with a .html name a page with the
                           faults drawn against throughput, errors and latency
  --bin <path>             shoal binary for the nodes [this one]
  --json                   print the report as JSON on stdout
  -q, --quiet              no progress line
`;

/** The flags of `--real` (name, takes a value). */
export const REAL_FLAGS: readonly (readonly [string, boolean])[] = [
  ["--nodes", true],
  ["--ops", true],
  ["--duration", true],
  ["--clients", true],
  ["--rate", true],
  ["--faults", true],
  ["--fault-every", true],
  ["--fault-hold", true],
  ["--loss", true],
  ["--delay", true],
  ["--link-loss", true],
  ["--link-delay", true],
  ["--down", true],
  ["--netns", false],
  ["--seed", true],
  ["--replica-count", true],
  ["--write-quorum", true],
  ["--read-quorum", true],
  ["--member-count-quorum", true],
  ["--preset", true],
  ["--serve-args", true],
  ["--client-timeout", true],
  ["--attempt-timeout", true],
  ["--keys", true],
  ["--counters", true],
  ["--history", true],
  ["--report", true],
  ["--bin", true],
  ["--json", false],
  ["--quiet", false],
  ["-q", false],
  ["--real", false],
];

/** An OptionSpec whose keys are the flag names without leading dashes. */
export function specOf(flags: readonly (readonly [string, boolean])[]): OptionSpec {
  return Object.fromEntries(flags.map(([f, v]) => [f, { key: f.replace(/^-+/, ""), value: v }]));
}

const SPEC = specOf(REAL_FLAGS);

/** The --requirepass given in --serve-args (the workload then AUTHs with it), if any. */
export function servePassword(serveArgs: readonly string[]): string | undefined {
  for (let i = 0; i < serveArgs.length; i++) {
    const a = serveArgs[i]!;
    if (a === "--requirepass") return serveArgs[i + 1];
    if (a.startsWith("--requirepass=")) return a.slice("--requirepass=".length);
  }
  return undefined;
}

/** A duration flag in ms (accepts 500ms, 5s, 2m or plain ms). */
export function durationFlag(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === null || ms < 0) throw new UsageError(`${flag}: expected a duration such as 500ms, 5s, 2m, got ${JSON.stringify(text)}`);
  return ms;
}

function nonNegative(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag}: expected a number ≥ 0, got ${JSON.stringify(text)}`);
  return n;
}

/** Parses the flags; throws UsageError on bad input. Returns null for --help. */
export function parseRealOptions(argv: readonly string[]): RealOptions | null {
  const { options: o, rest, help } = parseOptions(argv, SPEC);
  if (help) return null;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  return realOptionsFrom(o);
}

/** Builds the options from parsed flags (keys without dashes); throws UsageError on bad values. */
export function realOptionsFrom(o: Record<string, string>): RealOptions {
  const netns = o["netns"] === "true";
  const nodes = positiveInt(o["nodes"] ?? "3", "--nodes");
  const faults =
    o["faults"] === "none" || o["faults"] === ""
      ? []
      : ((o["faults"]?.split(",").map((s) => s.trim()) ?? (netns ? [...FAULT_KINDS] : ["kill", "stop", "restart"])) as FaultKind[]);
  for (const f of faults) {
    if (!FAULT_KINDS.includes(f)) throw new UsageError(`--faults: unknown fault ${JSON.stringify(f)} (known: ${FAULT_KINDS.join(", ")})`);
    if (!netns && NETNS_FAULTS.includes(f)) throw new UsageError(`--faults ${f} needs --netns (per-link netem in network namespaces, root only)`);
  }
  const linkLossPct = nonNegative(o["link-loss"] ?? "0", "--link-loss");
  const linkDelayMs = durationFlag(o["link-delay"] ?? "0", "--link-delay");
  if (!netns && (linkLossPct > 0 || linkDelayMs > 0)) throw new UsageError("--link-loss and --link-delay need --netns");
  const down = Number(o["down"] ?? "0");
  if (!Number.isInteger(down) || down < 0 || down >= nodes) throw new UsageError(`--down: expected 0..${nodes - 1}, got ${JSON.stringify(o["down"])}`);
  const replicaCount = positiveInt(o["replica-count"] ?? String(Math.min(3, nodes)), "--replica-count");
  if (o["report"] === "") throw new UsageError("--report expects a file name, e.g. --report chaos.html");
  const seedText = o["seed"];
  const seed = seedText === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed: expected a non-negative integer, got ${JSON.stringify(seedText)}`);
  return {
    nodes,
    ops: positiveInt(o["ops"] ?? "20000", "--ops"),
    durationMs: durationFlag(o["duration"] ?? "60s", "--duration"),
    faults,
    faultsExplicit: o["faults"] !== undefined,
    netns,
    seed,
    json: o["json"] === "true",
    clients: positiveInt(o["clients"] ?? "8", "--clients"),
    rate: nonNegative(o["rate"] ?? "300", "--rate"),
    replicaCount,
    writeQuorum: positiveInt(o["write-quorum"] ?? String(Math.min(2, replicaCount)), "--write-quorum"),
    readQuorum: positiveInt(o["read-quorum"] ?? String(Math.min(2, replicaCount)), "--read-quorum"),
    memberCountQuorum: positiveInt(o["member-count-quorum"] ?? String(Math.floor(nodes / 2) + 1), "--member-count-quorum"),
    preset: o["preset"] ?? "local",
    faultEveryMs: durationFlag(o["fault-every"] ?? "5s", "--fault-every"),
    faultHoldMs: durationFlag(o["fault-hold"] ?? "3s", "--fault-hold"),
    lossPct: nonNegative(o["loss"] ?? "10", "--loss"),
    delayMs: durationFlag(o["delay"] ?? "100ms", "--delay"),
    linkLossPct,
    linkDelayMs,
    down,
    clientTimeoutMs: durationFlag(o["client-timeout"] ?? "5s", "--client-timeout"),
    attemptTimeoutMs: durationFlag(o["attempt-timeout"] ?? "2s", "--attempt-timeout"),
    registerKeys: positiveInt(o["keys"] ?? "8", "--keys"),
    counterKeys: positiveInt(o["counters"] ?? "2", "--counters"),
    bin: o["bin"],
    historyFile: o["history"],
    ...(o["report"] ? { reportFile: o["report"] } : {}),
    serveArgs: (o["serve-args"] ?? "").split(/\s+/).filter(Boolean),
    quiet: o["quiet"] === "true" || o["q"] === "true",
  };
}
