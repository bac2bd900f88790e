/**
 * Steady load for `shoal chaos --soak`: paced clients doing GET/SET/DEL/INCR
 * on a fixed key space (so the data set plateaus after warm-up), each
 * operation through a random node, with the chaos client's timeout and
 * retries. Latencies and errors are kept per sampling interval, not as a
 * history (a 30-minute history would not fit the checkers' budget).
 */
import { NodeConnection } from "../real/client.ts";
import { sleep } from "../real/spawn.ts";

/** Load parameters. */
export interface LoadOptions {
  clients: number;
  /** Operations per second, all clients together. */
  rate: number;
  keys: number;
  valueBytes: number;
  clientTimeoutMs: number;
  attemptTimeoutMs: number;
  nodes: { host: string; port: number }[];
  random: () => number;
}

/** One interval's client-side numbers (reset by {@link SteadyLoad.takeInterval}). */
export interface LoadInterval {
  ops: number;
  /** Operations that did not succeed within the client timeout. */
  errors: number;
  latencies: number[];
}

/** The running load. */
export class SteadyLoad {
  private stopped = false;
  private cur: LoadInterval = { ops: 0, errors: 0, latencies: [] };
  totalOps = 0;
  totalErrors = 0;
  private readonly conns: NodeConnection[][];
  private readonly value: string;

  constructor(private readonly o: LoadOptions) {
    this.conns = Array.from({ length: o.clients }, () => o.nodes.map((n) => new NodeConnection(n.host, n.port)));
    this.value = "v".repeat(Math.max(1, o.valueBytes));
  }

  /** Returns the numbers since the last call and starts a new interval. */
  takeInterval(): LoadInterval {
    const out = this.cur;
    this.cur = { ops: 0, errors: 0, latencies: [] };
    return out;
  }

  stop(): void {
    this.stopped = true;
  }

  /** Runs until stop(). */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.clients }, (_, c) => this.worker(c)));
    for (const l of this.conns) for (const c of l) c.drop();
  }

  private async worker(c: number): Promise<void> {
    const r = this.o.random;
    const gap = (1000 * this.o.clients) / Math.max(1, this.o.rate);
    let next = performance.now() + gap * r();
    while (!this.stopped) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      next = Math.max(next + gap * (0.5 + r()), performance.now() - 5 * gap);
      if (this.stopped) break;
      const x = r();
      const key = `soak:${Math.floor(r() * this.o.keys)}`;
      const cmd: (string | number)[] =
        x < 0.5 ? ["GET", key] : x < 0.9 ? ["SET", key, this.value] : x < 0.95 ? ["DEL", key] : ["INCR", `soak:counter:${Math.floor(r() * 16)}`];
      const write = cmd[0] !== "GET";
      const t0 = performance.now();
      let ok = false;
      for (let attempt = 0; !this.stopped || attempt === 0; attempt++) {
        const remaining = t0 + this.o.clientTimeoutMs - performance.now();
        if (remaining <= 0) break;
        const node = Math.floor(r() * this.o.nodes.length);
        const a = await this.conns[c]![node]!.call(cmd, Math.min(this.o.attemptTimeoutMs, remaining), write);
        if (a.outcome === "ok") {
          ok = true;
          break;
        }
        if (!a.retry || (cmd[0] === "INCR" && a.outcome === "unknown")) break;
        await sleep(Math.min(400, 25 * 2 ** Math.min(attempt + 1, 4)));
      }
      this.cur.ops++;
      this.totalOps++;
      if (ok) this.cur.latencies.push(performance.now() - t0);
      else {
        this.cur.errors++;
        this.totalErrors++;
      }
    }
  }
}
