/**
 * The client workload of a real-network chaos run: `clients` concurrent
 * workers issue put/get/delete on a few register keys and incr/get on a few
 * counter keys, each operation through a random node, and record every
 * attempt in the shared history (chaos/history.ts). A logical operation is
 * retried on another node after a retryable error until it succeeds or its
 * client timeout runs out; each attempt is its own history entry, so a
 * timed-out attempt that lands later is still accounted for. INCR is not
 * idempotent: after an attempt whose effect is unknown it is not retried.
 */
import { FINAL_CLIENT, HistoryRecorder, type OpKind, type Outcome } from "../history.ts";
import { type Attempt, NodeConnection } from "./client.ts";
import { sleep } from "./spawn.ts";

/** Workload parameters. */
export interface WorkloadOptions {
  clients: number;
  /** Stop after this many logical operations in total. */
  maxOps: number;
  /** Stop at this time (performance.now() ms). */
  untilMs: number;
  /** Give up on a logical operation after this long, ms (all attempts). */
  clientTimeoutMs: number;
  /** Deadline of one attempt, ms. */
  attemptTimeoutMs: number;
  registerKeys: number;
  counterKeys: number;
  /** Seeded random source in [0, 1). */
  random: () => number;
  /** Node addresses ("host:port"); clients pick one at random per attempt. */
  nodes: { host: string; port: number }[];
  /** Time origin of the history, performance.now() ms. */
  t0: number;
  /** Logical operations per second, all clients together (0 = as fast as they go). */
  rate: number;
  /** Use this named map (DM.PUT/DM.GET/DM.DEL/DM.INCR) instead of plain Redis commands on `default`. */
  map?: string;
  /** AUTH password of the nodes (their --requirepass). */
  password?: string;
}

/** Counts per logical operation kind. */
export interface OpTally {
  ok: number;
  fail: number;
  unknown: number;
  /** Attempts beyond the first. */
  retries: number;
}

/** Latency samples of successful logical operations, for percentiles per interval. */
export interface LatencySample {
  atMs: number;
  ms: number;
}

/** What the workload did. */
export interface WorkloadResult {
  logical: Record<string, OpTally>;
  latencies: LatencySample[];
}

/** A small seeded PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const text = (r: unknown): string | null => (r === null || r === undefined ? null : r instanceof Uint8Array ? new TextDecoder().decode(r) : String(r));

/** The live workload: start it, stop it, read its tallies. */
export class Workload {
  readonly recorder = new HistoryRecorder();
  readonly result: WorkloadResult = { logical: {}, latencies: [] };
  private issued = 0;
  private stopped = false;
  private readonly conns: NodeConnection[][];

  constructor(private readonly o: WorkloadOptions) {
    this.conns = Array.from({ length: o.clients + 1 }, () => o.nodes.map((n) => new NodeConnection(n.host, n.port, o.password)));
  }

  /** ms since the run started, µs resolution (whole ms would make overlapping operations look ordered). */
  now(): number {
    return Math.round((performance.now() - this.o.t0) * 1000) / 1000;
  }

  /** Logical operations issued so far. */
  get issuedOps(): number {
    return this.issued;
  }

  /** Asks the workers to finish their current operation and stop. */
  stop(): void {
    this.stopped = true;
  }

  /** Runs every worker until stop(), the op budget or the deadline. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.clients }, (_, c) => this.worker(c)));
  }

  private tally(kind: string): OpTally {
    let t = this.result.logical[kind];
    if (!t) this.result.logical[kind] = t = { ok: 0, fail: 0, unknown: 0, retries: 0 };
    return t;
  }

  private async worker(client: number): Promise<void> {
    const r = this.o.random;
    let seq = 0;
    const gapMs = this.o.rate > 0 ? (1000 * this.o.clients) / this.o.rate : 0;
    let next = performance.now() + gapMs * r();
    while (!this.stopped && this.issued < this.o.maxOps && performance.now() < this.o.untilMs) {
      if (gapMs > 0) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(Math.min(wait, this.o.untilMs - performance.now()));
        next = Math.max(next + gapMs * (0.5 + r()), performance.now() - 5 * gapMs);
        if (this.stopped || performance.now() >= this.o.untilMs) break;
      }
      this.issued++;
      const x = r();
      const rk = `r${Math.floor(r() * this.o.registerKeys)}`;
      const ck = `c${Math.floor(r() * this.o.counterKeys)}`;
      if (x < 0.35) await this.logical(client, "put", rk, `${client}-${seq++}`);
      else if (x < 0.7) await this.logical(client, "get", rk, null);
      else if (x < 0.8) await this.logical(client, "delete", rk, null);
      else if (x < 0.95) await this.logical(client, "incr", ck, 1);
      else await this.logical(client, "get", ck, null);
    }
  }

  /** Issues one logical operation with retries; returns its final outcome. */
  async logical(
    client: number,
    kind: OpKind,
    key: string,
    value: string | number | null,
    timeoutMs = this.o.clientTimeoutMs,
    pinNode?: number,
  ): Promise<Outcome> {
    const start = performance.now();
    const end = start + timeoutMs;
    const write = kind !== "get";
    const tallyKind = kind === "get" && key.startsWith("c") ? "get-counter" : kind;
    const t = this.tally(tallyKind);
    let final: Outcome = "fail";
    let attempt = 0;
    for (;;) {
      const nodeIdx = pinNode ?? Math.floor(this.o.random() * this.o.nodes.length);
      const node = this.o.nodes[nodeIdx]!;
      const id = this.recorder.invoke({ client, kind, key, value, invokeMs: this.now(), node: `${node.host}:${node.port}` });
      const remaining = Math.max(1, end - performance.now());
      let a = await this.conns[client === FINAL_CLIENT ? this.o.clients : client]![nodeIdx]!.call(
        command(kind, key, value, this.o.map),
        Math.min(this.o.attemptTimeoutMs, remaining),
        write,
      );
      // DM.GET answers a miss with -KEYNOTFOUND where GET answers nil
      if (this.o.map !== undefined && kind === "get" && a.outcome === "fail" && a.error.startsWith("KEYNOTFOUND")) a = { outcome: "ok", reply: null };
      const at = this.now();
      if (a.outcome === "ok") {
        this.recorder.complete(id, at, "ok", resultOf(kind, a));
        final = "ok";
        this.result.latencies.push({ atMs: at, ms: performance.now() - start });
        break;
      }
      this.recorder.complete(id, at, a.outcome, null, a.error);
      if (a.outcome === "unknown") final = "unknown";
      if (!a.retry || (kind === "incr" && a.outcome === "unknown")) break;
      if (performance.now() + 50 >= end || (this.stopped && client !== FINAL_CLIENT)) break;
      attempt++;
      t.retries++;
      await sleep(Math.min(400, 25 * 2 ** Math.min(attempt, 4)) * (0.5 + this.o.random()));
    }
    t[final]++;
    return final;
  }

  /** Closes every connection. */
  close(): void {
    for (const list of this.conns) for (const c of list) c.drop();
  }
}

function command(kind: OpKind, key: string, value: string | number | null, map?: string): (string | number)[] {
  if (map !== undefined) {
    switch (kind) {
      case "put":
        return ["DM.PUT", map, key, String(value)];
      case "get":
        return ["DM.GET", map, key];
      case "delete":
        return ["DM.DEL", map, key];
      case "incr":
        return ["DM.INCR", map, key, Number(value)];
      default:
        throw new Error(`the real-network workload does not issue ${kind}`);
    }
  }
  switch (kind) {
    case "put":
      return ["SET", key, String(value)];
    case "get":
      return ["GET", key];
    case "delete":
      return ["DEL", key];
    case "incr":
      return value === 1 ? ["INCR", key] : ["INCRBY", key, Number(value)];
    default:
      throw new Error(`the real-network workload does not issue ${kind}`);
  }
}

function resultOf(kind: OpKind, a: Attempt & { outcome: "ok" }): string | number | null {
  if (kind === "put") return null;
  if (kind === "get") return text(a.reply);
  return Number(a.reply);
}
