/**
 * The command's own traffic through the proxies, second by second (bytes
 * each way, new connections), sampled from the proxies' shared counters:
 * the HTML report draws it under the faults, next to the canary's timeline.
 */
/** One second (or `bucketMs`) of the command's traffic. */
export interface TrafficBucket {
  /** ms since the command started. */
  startMs: number;
  bytesToNode: number;
  bytesToClient: number;
  connections: number;
}

/** The command's traffic over its run. */
export interface Traffic {
  bucketMs: number;
  buckets: TrafficBucket[];
}

/** Most buckets kept (an hour at 1 s; later ones are merged in pairs). */
const MAX_BUCKETS = 3600;

/** Samples the proxies' counters every `bucketMs` until stopped. */
export class TrafficSampler {
  private readonly buckets: TrafficBucket[] = [];
  private bucketMs: number;
  private last: { bytesToNode: number; bytesToClient: number; connections: number };
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    /** The proxies' counters summed (bytesToNode, bytesToClient, connections). */
    private readonly stats: () => Readonly<Record<string, number>>,
    private readonly now: () => number,
    bucketMs = 1000,
  ) {
    this.bucketMs = bucketMs;
    this.last = this.read();
  }

  private read(): { bytesToNode: number; bytesToClient: number; connections: number } {
    const s = this.stats();
    return { bytesToNode: s["bytesToNode"] ?? 0, bytesToClient: s["bytesToClient"] ?? 0, connections: s["connections"] ?? 0 };
  }

  /** Starts sampling (call when the command starts). */
  start(): void {
    this.timer = setInterval(() => this.sample(), this.bucketMs);
  }

  /** Takes the last partial sample and stops; returns the traffic. */
  stop(): Traffic {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return { bucketMs: this.bucketMs, buckets: this.buckets };
  }

  private sample(): void {
    const s = this.read();
    const end = this.now();
    this.buckets.push({
      startMs: Math.max(0, end - this.bucketMs),
      bytesToNode: s.bytesToNode - this.last.bytesToNode,
      bytesToClient: s.bytesToClient - this.last.bytesToClient,
      connections: s.connections - this.last.connections,
    });
    this.last = s;
    if (this.buckets.length > MAX_BUCKETS) {
      // keep the report bounded on long runs: pairs of buckets become one twice as wide
      const merged: TrafficBucket[] = [];
      for (let i = 0; i < this.buckets.length; i += 2) {
        const a = this.buckets[i]!;
        const b = this.buckets[i + 1];
        merged.push(b ? { startMs: a.startMs, bytesToNode: a.bytesToNode + b.bytesToNode, bytesToClient: a.bytesToClient + b.bytesToClient, connections: a.connections + b.connections } : a);
      }
      this.buckets.splice(0, this.buckets.length, ...merged);
      this.bucketMs *= 2;
      if (this.timer !== null) {
        clearInterval(this.timer);
        this.timer = setInterval(() => this.sample(), this.bucketMs);
      }
    }
  }
}
