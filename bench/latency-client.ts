/**
 * A small closed-loop RESP load client that records every request's latency:
 * `clients` concurrent clients, each with one connection per node, one
 * request in flight per client (unpipelined), each request sent to the node
 * `route(key)` picks (a cluster-aware client sends it to the key's owner).
 * A request may be several commands written together (e.g. `SET` then
 * `WAIT 1 0`); it completes when all their replies are in.
 * Replies understood: simple strings, errors (counted), integers, bulk
 * strings, and (for CLUSTER SLOTS) nested arrays.
 */
import { keySlot } from "../core/cluster/hash.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A parsed RESP reply. */
export type Reply = string | number | null | Uint8Array | Reply[] | { error: string };

/** Parses one reply at `off`; returns it and the offset after it, or null when incomplete. */
function parseReply(b: Uint8Array, off: number): [Reply, number] | null {
  const nl = b.indexOf(10, off);
  if (nl < 0) return null;
  const type = b[off];
  const line = dec.decode(b.subarray(off + 1, nl - 1));
  const next = nl + 1;
  switch (type) {
    case 43 /* + */:
      return [line, next];
    case 45 /* - */:
      return [{ error: line }, next];
    case 58 /* : */:
      return [Number(line), next];
    case 36 /* $ */: {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (next + len + 2 > b.length) return null;
      return [b.subarray(next, next + len), next + len + 2];
    }
    case 42 /* * */: {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(b, at);
        if (r === null) return null;
        items.push(r[0]);
        at = r[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`unexpected RESP reply type ${String.fromCharCode(type ?? 63)}`);
  }
}

/** One connection with a queue of reply waiters, parsing replies incrementally. */
class Conn {
  private buf = new Uint8Array(0);
  private readonly waiters: ((r: Reply) => void)[] = [];
  private closed: Error | null = null;

  private constructor(private socket: Awaited<ReturnType<typeof Bun.connect>> | null) {}

  static async open(port: number): Promise<Conn> {
    const c = new Conn(null);
    c.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, chunk) => c.onData(chunk),
        close: () => c.fail(new Error(`connection to ${port} closed`)),
        error: (_s, e) => c.fail(e),
      },
    });
    return c;
  }

  /** Writes `bytes` (`replies` commands) and resolves with their replies. */
  send(bytes: Uint8Array, replies = 1): Promise<Reply[]> {
    if (this.closed) return Promise.reject(this.closed);
    const got: Reply[] = [];
    return new Promise((resolve) => {
      for (let i = 0; i < replies; i++) {
        this.waiters.push((r) => {
          got.push(r);
          if (got.length === replies) resolve(got);
        });
      }
      this.socket!.write(bytes);
    });
  }

  close(): void {
    this.socket?.end();
  }

  private fail(e: Error): void {
    this.closed ??= e;
    for (const w of this.waiters.splice(0)) w({ error: e.message });
  }

  private onData(chunk: Uint8Array): void {
    if (this.buf.length === 0) this.buf = chunk.slice();
    else {
      const b = new Uint8Array(this.buf.length + chunk.length);
      b.set(this.buf);
      b.set(chunk, this.buf.length);
      this.buf = b;
    }
    let off = 0;
    for (;;) {
      const r = parseReply(this.buf, off);
      if (r === null) break;
      off = r[1];
      this.waiters.shift()?.(r[0]);
    }
    this.buf = this.buf.subarray(off);
  }
}

/** Result of one closed-loop run. */
export interface LatencyResult {
  requests: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  /** Sorted latencies, ms. */
  latencies: Float64Array;
}

/** Quantile q (0..1) of sorted latencies (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * Runs `total` requests from `clients` concurrent clients against `ports`;
 * `command(key)` builds the argv (or several, written together), `route(key)`
 * the index into `ports`. Keys are `key:` + 12-digit random numbers below
 * `keyspace`. `check(replies)` names what is wrong with a request's replies
 * (default: an error reply), or returns null.
 */
export async function runLatency(opts: {
  ports: number[];
  clients: number;
  total: number;
  keyspace: number;
  command: (key: string) => string[] | string[][];
  route: (key: string) => number;
  check?: (replies: Reply[]) => string | null;
}): Promise<LatencyResult> {
  const conns: Conn[][] = [];
  for (let c = 0; c < opts.clients; c++) conns.push(await Promise.all(opts.ports.map((p) => Conn.open(p))));
  const check = opts.check ?? firstError;
  const latencies = new Float64Array(opts.total);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstErr: string | null = null;
  const t0 = performance.now();
  const worker = async (mine: Conn[]): Promise<void> => {
    while (issued < opts.total) {
      issued++;
      const key = `key:${String(Math.floor(Math.random() * opts.keyspace)).padStart(12, "0")}`;
      const built = opts.command(key);
      const argvs = typeof built[0] === "string" ? [built as string[]] : (built as string[][]);
      const bytes = enc.encode(argvs.map(encodeCommand).join(""));
      const conn = mine[opts.route(key)]!;
      const start = performance.now();
      const replies = await conn.send(bytes, argvs.length);
      latencies[done++] = performance.now() - start;
      const wrong = check(replies);
      if (wrong !== null) {
        errors++;
        firstErr ??= wrong;
      }
    }
  };
  try {
    await Promise.all(conns.map(worker));
  } finally {
    for (const cs of conns) for (const c of cs) c.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { requests: done, errors, firstError: firstErr, seconds, latencies: latencies.subarray(0, done).sort() };
}

/** The first error reply's text, or null. */
export function firstError(replies: Reply[]): string | null {
  for (const r of replies) if (r !== null && typeof r === "object" && "error" in r) return r.error;
  return null;
}

/** One request to `port`: the replies to `argvs`, written together. */
export async function ask(port: number, ...argvs: string[][]): Promise<Reply[]> {
  const c = await Conn.open(port);
  try {
    return await c.send(enc.encode(argvs.map(encodeCommand).join("")), argvs.length);
  } finally {
    c.close();
  }
}

/**
 * A cluster-aware router from CLUSTER SLOTS on `port`: key → index into
 * `ports` of the master serving the key's slot (every master's port must be
 * in `ports`). Throws when a slot has no master among them.
 */
export async function slotRouter(port: number, ports: number[]): Promise<(key: string) => number> {
  const [slots] = await ask(port, ["CLUSTER", "SLOTS"]);
  if (!Array.isArray(slots)) throw new Error(`CLUSTER SLOTS on ${port}: ${JSON.stringify(slots)}`);
  const bySlot = new Int16Array(16384).fill(-1);
  for (const range of slots) {
    if (!Array.isArray(range)) continue;
    const [start, end, master] = range as [number, number, Reply[]];
    const idx = ports.indexOf(Number(master[1]));
    if (idx < 0) throw new Error(`CLUSTER SLOTS on ${port}: slots ${start}-${end} are served by port ${master[1]}, not one of ${ports.join(", ")}`);
    for (let s = start; s <= end; s++) bySlot[s] = idx;
  }
  const missing = bySlot.indexOf(-1);
  if (missing >= 0) throw new Error(`CLUSTER SLOTS on ${port}: slot ${missing} has no master`);
  return (key) => bySlot[keySlot(enc.encode(key))]!;
}

/** RESP multibulk encoding of a command of strings. */
function encodeCommand(argv: string[]): string {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return s;
}
