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
  readonly commands = new Map<string, number>();
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

  /** Counts one call of `name` (lower-case). */
  countCommand(name: string): void {
    this.commands.set(name, (this.commands.get(name) ?? 0) + 1);
  }
}
