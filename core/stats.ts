/**
 * Node statistics: plain counters the hot path bumps cheaply, rendered as
 * Prometheus text by core/http/metrics.ts and as INFO/STATS by the protocol.
 */

/** Latency histogram bucket upper bounds, in seconds (Prometheus convention). */
export const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Cumulative latency histogram with fixed buckets. */
export class LatencyHistogram {
  readonly counts = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  /** Records one observation, in seconds. */
  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** Approximate quantile (0..1) in seconds, from bucket bounds. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return LATENCY_BUCKETS[i] ?? Number.POSITIVE_INFINITY;
    }
    return Number.POSITIVE_INFINITY;
  }
}

/** Counters for one node. Commands are counted by lower-case name. */
export class NodeStats {
  readonly startedAtMs: number;
  private readonly counted = new Map<string, number>();
  private source: (() => Iterable<[string, number]>) | null = null;
  hits = 0;
  misses = 0;
  evictions = 0;
  expirations = 0;
  connectionsTotal = 0;
  connectionsCurrent = 0;
  rejectedConnections = 0;
  protocolErrors = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  readonly latency = new LatencyHistogram();

  constructor(nowMs: number) {
    this.startedAtMs = nowMs;
  }

  /** Calls per command (lower-case name), those with at least one call. */
  get commands(): Map<string, number> {
    if (!this.source) return this.counted;
    const m = new Map(this.counted);
    for (const [k, v] of this.source()) if (v > 0) m.set(k, (m.get(k) ?? 0) + v);
    return m;
  }

  /** Registers where per-command counters live (the command table keeps them on each command). */
  countFrom(source: () => Iterable<[string, number]>): void {
    this.source = source;
  }

  /** Counts one call of `name` (lower-case). */
  countCommand(name: string): void {
    this.counted.set(name, (this.counted.get(name) ?? 0) + 1);
  }
}
