/**
 * Harness of the multi-process cluster e2e tests (tests/e2e/cluster-*.test.ts
 * and discovery-*.test.ts): starts `dist/shoal` nodes on loopback (any
 * 127.0.0.0/8 address, random free ports), restarts them on the same
 * addresses, reads their JSON log events, drives the /v1/faults injector, and
 * writes/reads many keys with pipelining. Every process is tracked and
 * {@link killAll} kills each by PID. Every wait is a bounded poll.
 */
import { freePorts, sleep } from "../helpers/ports.ts";
import { childEnv, REPO_ROOT, waitForPing } from "../helpers/processes.ts";
import { RawClient } from "../helpers/raw-client.ts";
import { encodeCommand } from "../helpers/resp.ts";
import { requireBinary } from "./binary.ts";

/** Where one node listens and how it was started (kept for restarts). */
export interface NodeSpec {
  name: string;
  host: string;
  port: number;
  httpPort: number;
  peerPort: number;
  /** Full argv after the binary. */
  args: string[];
}

/** One JSON log event of a node. */
export type LogEvent = { time: string; level: string; event: string; [field: string]: unknown };

const live = new Set<ShoalProc>();
process.on("exit", () => {
  for (const p of live) p.signal("SIGKILL");
});

/** A running (or exited) shoal process. */
export class ShoalProc {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly exited: Promise<number>;
  readonly startedAt = Date.now();
  private readonly chunks: string[] = [];
  private dead = false;

  constructor(readonly spec: NodeSpec) {
    this.proc = Bun.spawn([requireBinary(), ...spec.args], {
      cwd: REPO_ROOT,
      env: childEnv(),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    live.add(this);
    this.collect(this.proc.stdout as ReadableStream<Uint8Array>);
    this.collect(this.proc.stderr as ReadableStream<Uint8Array>);
    this.exited = this.proc.exited.then((code) => {
      this.dead = true;
      live.delete(this);
      return code;
    });
  }

  /** `host:peerPort`, the node's member name. */
  get peer(): string {
    return `${this.spec.host}:${this.spec.peerPort}`;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get isDead(): boolean {
    return this.dead;
  }

  /** Everything the process printed so far. */
  output(): string {
    return this.chunks.join("");
  }

  /** The JSON log events printed so far (non-JSON lines skipped). */
  events(name?: string): LogEvent[] {
    const out: LogEvent[] = [];
    for (const line of this.output().split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const e = JSON.parse(line) as LogEvent;
        if (name === undefined || e.event === name) out.push(e);
      } catch {
        // partial line
      }
    }
    return out;
  }

  /** Member count of the last "partition table rebuilt" event (0 before the first). */
  members(): number {
    const e = this.events("partition table rebuilt").at(-1);
    return e ? Number(e.members) : 0;
  }

  /** Sends `sig` (ignored once exited). */
  signal(sig: NodeJS.Signals): void {
    if (this.dead) return;
    try {
      this.proc.kill(sig);
    } catch {
      // already gone
    }
  }

  /** kill -9; resolves with the exit code. */
  async kill9(): Promise<number> {
    this.signal("SIGKILL");
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 10_000): Promise<number> {
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** GET /readyz status (0 when the HTTP port does not answer). */
  async readyz(): Promise<number> {
    try {
      const res = await fetch(`http://${this.spec.host}:${this.spec.httpPort}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** A JSON request to the node's HTTP API; returns status and parsed body. */
  async http(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`http://${this.spec.host}:${this.spec.httpPort}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  }

  /** Replaces this node's faults (PUT /v1/faults); throws unless 200. */
  async setFaults(faults: { partitions?: { a: string; b: string; oneWay?: boolean }[]; rules?: object[] }): Promise<void> {
    const r = await this.http("PUT", "/v1/faults", faults);
    if (r.status !== 200) throw new Error(`${this.spec.name}: PUT /v1/faults → ${r.status} ${JSON.stringify(r.body)}`);
  }

  /** Removes this node's faults (DELETE /v1/faults). */
  async clearFaults(): Promise<void> {
    const r = await this.http("DELETE", "/v1/faults");
    if (r.status !== 200) throw new Error(`${this.spec.name}: DELETE /v1/faults → ${r.status} ${JSON.stringify(r.body)}`);
  }

  /** A new RESP connection to this node. */
  connect(): Promise<RawClient> {
    return RawClient.connect(this.spec.port, this.spec.host, 5000);
  }

  private collect(stream: ReadableStream<Uint8Array>): void {
    const decoder = new TextDecoder();
    (async () => {
      try {
        for await (const chunk of stream) this.chunks.push(decoder.decode(chunk, { stream: true }));
      } catch {
        // closed
      }
    })();
  }
}

/** Starts a node from `spec` and waits until it answers PING; throws with its output otherwise. */
export async function launch(spec: NodeSpec, startTimeoutMs = 20_000): Promise<ShoalProc> {
  const p = new ShoalProc(spec);
  const ok = await waitForPing(spec.port, startTimeoutMs, () => p.isDead, spec.host);
  if (!ok) {
    await p.kill9();
    throw new Error(`${spec.name} did not answer PING on ${spec.host}:${spec.port} within ${startTimeoutMs} ms\n${spec.args.join(" ")}\n${p.output().slice(-3000)}`);
  }
  return p;
}

/** SIGKILLs every process the harness started that is still running (by PID). */
export async function killAll(): Promise<void> {
  const all = [...live];
  for (const p of all) p.signal("SIGKILL");
  await Promise.all(all.map((p) => p.exited));
}

/** Options of {@link nodeSpecs}. */
export interface ClusterOptions {
  /** Name prefix of the nodes. */
  prefix: string;
  /** Listen address of node i (default 127.0.0.1). */
  host?: (i: number) => string;
  /** "default": no --peer-port flag (every node on 3322, so hosts must differ); default: a free port each. */
  peerPort?: "default";
  /** Extra arguments of node i; `peers` are all nodes' peer addresses. */
  extra: (i: number, peers: string[]) => string[];
}

/** Picks ports and builds the specs of `n` nodes (`--preset local`, JSON logs, then `extra`). */
export async function nodeSpecs(n: number, o: ClusterOptions): Promise<NodeSpec[]> {
  const ports = await freePorts(3 * n);
  const hosts = Array.from({ length: n }, (_, i) => o.host?.(i) ?? "127.0.0.1");
  const peerPorts = Array.from({ length: n }, (_, i) => (o.peerPort === "default" ? 3322 : ports[2 * n + i]!));
  const peers = hosts.map((h, i) => `${h}:${peerPorts[i]}`);
  return hosts.map((host, i) => {
    const spec = { name: `${o.prefix}-${i}`, host, port: ports[i]!, httpPort: ports[n + i]!, peerPort: peerPorts[i]! };
    const args = ["serve", "--bind", host, "--port", String(spec.port), "--http-port", String(spec.httpPort)];
    if (o.peerPort !== "default") args.push("--peer-port", String(spec.peerPort));
    args.push("--node-name", spec.name, "--preset", "local", "--log-format", "json", ...o.extra(i, peers));
    return { ...spec, args };
  });
}

/** Launches every spec concurrently; kills the started ones if any fails. */
export async function launchAll(specs: NodeSpec[]): Promise<ShoalProc[]> {
  const results = await Promise.allSettled(specs.map((s) => launch(s)));
  const ok = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (failed) {
    await Promise.all(ok.map((p) => p.kill9()));
    throw failed.reason;
  }
  return ok;
}

/** Polls `fn` every `stepMs` until it is true or `limitMs` passed; returns the last result. */
export async function until(fn: () => boolean | Promise<boolean>, limitMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return fn();
}

/** Waits until every node's last partition table has `n` members; throws with the logs otherwise. */
export async function waitMembers(nodes: ShoalProc[], n: number, limitMs: number, what = ""): Promise<number> {
  const t0 = Date.now();
  if (!(await until(() => nodes.every((p) => p.members() === n), limitMs, 50))) {
    throw new Error(
      `${what}: expected ${n} members on ${nodes.map((p) => p.spec.name)}, have ${nodes.map((p) => p.members())} after ${limitMs} ms\n` +
        nodes.map((p) => `--- ${p.spec.name}\n${p.output().slice(-2500)}`).join("\n"),
    );
  }
  return Date.now() - t0;
}

/** Waits until every node's /readyz answers 200; returns the ms waited. */
export async function waitReady(nodes: ShoalProc[], limitMs: number): Promise<number> {
  const t0 = Date.now();
  const ok = await until(async () => (await Promise.all(nodes.map((p) => p.readyz()))).every((s) => s === 200), limitMs, 50);
  if (!ok) throw new Error(`not ready within ${limitMs} ms: ${nodes.map((p) => p.spec.name)}\n${nodes.map((p) => p.output().slice(-2000)).join("\n---\n")}`);
  return Date.now() - t0;
}

/** Sends `cmds` pipelined in one write and returns the replies as latin1 text. */
export async function pipeline(client: RawClient, cmds: readonly (readonly string[])[], timeoutMs = 30_000): Promise<string[]> {
  client.send(Buffer.concat(cmds.map((c) => encodeCommand(c))));
  const out: string[] = [];
  for (let i = 0; i < cmds.length; i++) out.push((await client.readReply(timeoutMs)).toString("latin1"));
  return out;
}

/** The RESP bulk reply of `value`. */
export const bulk = (value: string): string => `$${Buffer.byteLength(value)}\r\n${value}\r\n`;

/** Expected state of a key: its value, or null for deleted/absent. */
export type Expected = Map<string, string | null>;

/**
 * Runs `commands(key, value)` for every entry of `writes` through `clients`
 * (round-robin batches of `batch`, one batch in flight per client) and
 * returns the keys whose reply was `ok` (the acknowledged writes) and the
 * other replies by kind.
 */
export async function writeAll(
  clients: RawClient[],
  writes: [string, string][],
  opts: { batch?: number; command?: (k: string, v: string) => string[]; ok?: string } = {},
): Promise<{ acked: Map<string, string>; failures: Map<string, number>; examples: Map<string, string> }> {
  const batch = opts.batch ?? 1000;
  const command = opts.command ?? ((k, v) => ["SET", k, v]);
  const ok = opts.ok ?? "+OK\r\n";
  const acked = new Map<string, string>();
  const failures = new Map<string, number>();
  const examples = new Map<string, string>();
  let next = 0;
  await Promise.all(
    clients.map(async (c) => {
      for (;;) {
        const start = next;
        if (start >= writes.length) return;
        next += batch;
        const slice = writes.slice(start, start + batch);
        const replies = await pipeline(c, slice.map(([k, v]) => command(k, v)));
        replies.forEach((r, j) => {
          if (r === ok) acked.set(slice[j]![0], slice[j]![1]);
          else {
            const kind = r.split(/[\s\r]/)[0]!;
            failures.set(kind, (failures.get(kind) ?? 0) + 1);
            if (!examples.has(kind)) examples.set(kind, r.trim().slice(0, 200));
          }
        });
      }
    }),
  );
  return { acked, failures, examples };
}

/** Reads every key of `expected` through `client` (pipelined GETs) and returns the mismatches. */
export async function mismatches(client: RawClient, expected: Expected, batch = 1000): Promise<string[]> {
  const keys = [...expected.keys()];
  const bad: string[] = [];
  for (let i = 0; i < keys.length; i += batch) {
    const ks = keys.slice(i, i + batch);
    const replies = await pipeline(client, ks.map((k) => ["GET", k]));
    replies.forEach((r, j) => {
      const want = expected.get(ks[j]!)!;
      const wantReply = want === null ? "$-1\r\n" : bulk(want);
      if (r !== wantReply && !(want === null && r === "_\r\n")) bad.push(`${ks[j]}: want ${want === null ? "nil" : want}, got ${r.trim().slice(0, 80)}`);
    });
  }
  return bad;
}

/**
 * Polls until every key of `expected` reads back right through every node
 * of `nodes` (fresh connections each round, nodes read in parallel): a
 * sample of every 16th key until it is right, then every key. Returns the
 * ms it took; throws with examples of wrong keys after `limitMs`.
 */
export async function waitComplete(nodes: ShoalProc[], expected: Expected, limitMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  const sample: Expected = new Map([...expected].filter((_, i) => i % 16 === 0));
  let last: string[] = [];
  let lastNode = "";
  const pass = async (keys: Expected): Promise<boolean> => {
    const results = await Promise.all(
      nodes.map(async (n) => {
        let c: RawClient | undefined;
        try {
          c = await n.connect();
          return await mismatches(c, keys);
        } catch (e) {
          return [`${n.spec.name}: ${(e as Error).message}`];
        } finally {
          c?.close();
        }
      }),
    );
    const i = results.findIndex((r) => r.length > 0);
    last = i < 0 ? [] : results[i]!;
    lastNode = i < 0 ? "" : nodes[i]!.spec.name;
    return i < 0;
  };
  const ok = await until(async () => (await pass(sample)) && (await pass(expected)), limitMs, 250);
  if (!ok) {
    throw new Error(
      `${what}: ${last.length} of ${expected.size} keys wrong through ${lastNode} after ${limitMs} ms, e.g.\n  ${last.slice(0, 8).join("\n  ")}\n` +
        nodes.map((p) => `--- ${p.spec.name}\n${p.output().slice(-2500)}`).join("\n"),
    );
  }
  return Date.now() - t0;
}

/**
 * The keys `node` holds in its own store in map `default`, replica copies
 * included (GET /v1/debug/local-keys: the node must run with --fault-injection).
 */
export async function localKeyList(node: ShoalProc): Promise<string[]> {
  const out: string[] = [];
  let cursor = 0;
  for (let page = 0; page < 10_000; page++) {
    const r = await node.http("GET", `/v1/debug/local-keys?map=default&cursor=${cursor}&count=10000`);
    if (r.status === 404) throw new Error(`${node.spec.name}: no /v1/debug/local-keys (start it with --fault-injection to list its local copies)`);
    const body = r.body as { cursor: number; keys: string[] };
    out.push(...body.keys);
    cursor = body.cursor;
    if (cursor === 0) break;
  }
  return out;
}

/** A key held by another number of nodes than it should be. */
export interface CopyAnomaly {
  key: string;
  holders: string[];
  /** Copies it should have: 0 for a deleted key, else `copies`. */
  want: number;
}

/** Formats a {@link CopyAnomaly} as "C:3 ×3 on a,b,c". */
export const showAnomaly = (a: CopyAnomaly): string =>
  `${a.key} ×${a.holders.length} on ${a.holders.join(",") || "none"}${a.want === 0 ? " (deleted)" : ""}`;

/**
 * Keys held by more or fewer than `copies` nodes (local stores, map
 * `default`), for diagnosing a copy-count mismatch. With `expected`, its
 * live keys held nowhere and its deleted keys held anywhere count too.
 */
export async function copyAnomalies(nodes: ShoalProc[], copies: number, expected?: Expected): Promise<CopyAnomaly[]> {
  const holders = new Map<string, string[]>();
  for (const n of nodes) for (const k of await localKeyList(n)) holders.set(k, [...(holders.get(k) ?? []), n.spec.name]);
  if (expected) for (const [k, v] of expected) if (v !== null && !holders.has(k)) holders.set(k, []);
  const out: CopyAnomaly[] = [];
  for (const [key, hs] of holders) {
    const want = expected?.has(key) && expected.get(key) === null ? 0 : copies;
    if (hs.length !== want) out.push({ key, holders: hs, want });
  }
  return out;
}

/** Keys held locally by each node (/v1/stats `keys`). */
export async function localKeys(nodes: ShoalProc[]): Promise<number[]> {
  return Promise.all(
    nodes.map(async (n) => {
      const r = await n.http("GET", "/v1/stats");
      return Number((r.body as { keys?: number }).keys ?? Number.NaN);
    }),
  );
}

/**
 * Polls until the nodes hold between `copies` × `expected` and `copies` ×
 * (`expected` + `unacked`) keys in total (re-replication / rebalancing done;
 * writes that missed their quorum may or may not be stored).
 */
export async function waitCopies(nodes: ShoalProc[], expected: number, copies: number, limitMs: number, what: string, unacked = 0): Promise<number> {
  const t0 = Date.now();
  let last: number[] = [];
  const ok = await until(
    async () => {
      last = await localKeys(nodes);
      const sum = last.reduce((a, b) => a + b, 0);
      return sum >= expected * copies && sum <= (expected + unacked) * copies;
    },
    limitMs,
    250,
  );
  if (!ok) {
    const anomalies = await copyAnomalies(nodes, copies).then((l) => l.map(showAnomaly), (e) => [String(e)]);
    const warnings = nodes.map((n) => `--- ${n.spec.name}\n${n.events().filter((e) => e.level !== "info" || e.event.startsWith("partition") || e.event.startsWith("member")).map((e) => JSON.stringify(e)).slice(-40).join("\n")}`);
    throw new Error(
      `${what}: nodes hold ${last.join("+")} keys, expected ${copies} × ${expected}${unacked ? ` (+ up to ${copies} × ${unacked} unacknowledged)` : ""} in total; ${anomalies.length} keys with another copy count, e.g. ${anomalies.slice(0, 12).join("; ")}\n${warnings.join("\n")}`,
    );
  }
  return Date.now() - t0;
}

/** Ms from `t0` until every node in `watchers` logged `member <type>` about `member`; null when not within `limitMs`. */
export async function timeToEvent(watchers: ShoalProc[], type: string, member: string, t0: number, limitMs: number): Promise<number | null> {
  const seen = (p: ShoalProc) => p.events(`member ${type}`).find((e) => e.member === member && Date.parse(e.time) >= t0 - 50);
  const ok = await until(() => watchers.every((p) => seen(p) !== undefined), limitMs, 25);
  if (!ok) return null;
  return Math.max(...watchers.map((p) => Date.parse(seen(p)!.time) - t0));
}

/** Isolates `victim` from every other node (both directions) with /v1/faults on every node. */
export async function isolate(nodes: ShoalProc[], victim: ShoalProc): Promise<void> {
  const others = nodes.filter((n) => n !== victim);
  await victim.setFaults({ partitions: others.map((o) => ({ a: victim.peer, b: o.peer })) });
  await Promise.all(others.map((o) => o.setFaults({ partitions: [{ a: o.peer, b: victim.peer }] })));
}

/** Removes every fault on every node. */
export async function healAll(nodes: ShoalProc[]): Promise<void> {
  await Promise.all(nodes.filter((n) => !n.isDead).map((n) => n.clearFaults()));
}
