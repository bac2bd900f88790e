/**
 * A small closed-loop RESP load client that records every request's latency:
 * `clients` concurrent clients, each with one connection per node, one
 * request in flight per client (unpipelined), each request sent to the node
 * `route(key)` picks (a cluster-aware client sends it to the key's owner).
 * Replies understood: simple strings, errors (counted), integers and bulk strings.
 */

const enc = new TextEncoder();

/** One connection with a queue of reply waiters, parsing replies incrementally. */
class Conn {
  private buf = new Uint8Array(0);
  private readonly waiters: ((r: { error: string | null }) => void)[] = [];
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

  /** Sends `bytes` (one command) and resolves with its reply's error text, or null. */
  send(bytes: Uint8Array): Promise<{ error: string | null }> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve) => {
      this.waiters.push(resolve);
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
      const nl = this.buf.indexOf(10, off);
      if (nl < 0) break;
      const type = this.buf[off];
      let end = nl + 1;
      if (type === 36 /* $ */) {
        const len = Number(new TextDecoder().decode(this.buf.subarray(off + 1, nl - 1)));
        if (len >= 0) {
          end = nl + 1 + len + 2;
          if (end > this.buf.length) break;
        }
      }
      const error = type === 45 ? new TextDecoder().decode(this.buf.subarray(off + 1, nl - 1)) : null;
      off = end;
      this.waiters.shift()?.({ error });
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
 * `command(key)` builds the argv, `route(key)` the index into `ports`.
 * Keys are `key:` + 12-digit random numbers below `keyspace`.
 */
export async function runLatency(opts: {
  ports: number[];
  clients: number;
  total: number;
  keyspace: number;
  command: (key: string) => string[];
  route: (key: string) => number;
}): Promise<LatencyResult> {
  const conns: Conn[][] = [];
  for (let c = 0; c < opts.clients; c++) conns.push(await Promise.all(opts.ports.map((p) => Conn.open(p))));
  const latencies = new Float64Array(opts.total);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  const worker = async (mine: Conn[]): Promise<void> => {
    while (issued < opts.total) {
      issued++;
      const key = `key:${String(Math.floor(Math.random() * opts.keyspace)).padStart(12, "0")}`;
      const bytes = encodeCommand(opts.command(key));
      const conn = mine[opts.route(key)]!;
      const start = performance.now();
      const r = await conn.send(bytes);
      latencies[done++] = performance.now() - start;
      if (r.error !== null) {
        errors++;
        firstError ??= r.error;
      }
    }
  };
  try {
    await Promise.all(conns.map(worker));
  } finally {
    for (const cs of conns) for (const c of cs) c.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { requests: done, errors, firstError, seconds, latencies: latencies.subarray(0, done).sort() };
}

/** RESP multibulk encoding of a command of strings. */
function encodeCommand(argv: string[]): Uint8Array {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return enc.encode(s);
}
