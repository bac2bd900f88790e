/**
 * Turns a node's cumulative counters into one dashboard {@link Sample} per
 * interval: commands per second, hit ratio and latency quantiles over the
 * interval (differences of the counters and of the latency histogram since
 * the previous sample), memory, event-loop lag and keys as they are now.
 * Runtime-neutral: the clock and the process memory reading are injected.
 */
import type { Clock } from "../clock.ts";
import { LATENCY_BUCKETS, type NodeStats } from "../stats.ts";
import type { Sample } from "./series.ts";

/** What a sample is read from (a ShoalNode and the serving process). */
export interface SampleSource {
  readonly stats: NodeStats;
  readonly clock: Clock;
  keyCount(): number;
  memoryBytes(): number;
  /** Resident memory of the process (runtime adapters know it); without it rssBytes is null. */
  rssBytes?: () => number;
}

/** The q-quantile (0..1) of a histogram given as per-bucket counts, in ms (the bucket's upper bound); null when empty. */
export function bucketQuantileMs(counts: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return null;
  const target = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= target && counts[i]! > 0) {
      const bound = LATENCY_BUCKETS[i];
      // the overflow bucket has no upper bound: show its lower one
      return (bound ?? LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]!) * 1000;
    }
  }
  return null;
}

/** Takes samples of one node, each over the time since the previous one. */
export class StatsSampler {
  private lastMono: number;
  private lastOps: number;
  private lastHits: number;
  private lastMisses: number;
  private readonly lastBuckets: Float64Array;

  constructor(private readonly src: SampleSource) {
    this.lastMono = src.clock.monotonic();
    this.lastOps = totalCommands(src.stats);
    this.lastHits = src.stats.hits;
    this.lastMisses = src.stats.misses;
    this.lastBuckets = Float64Array.from(src.stats.latency.counts);
  }

  /** A sample of the interval since the previous call (or since construction). */
  sample(): Sample {
    const s = this.src.stats;
    const mono = this.src.clock.monotonic();
    const seconds = Math.max(0.001, (mono - this.lastMono) / 1000);
    const ops = totalCommands(s);
    const hits = s.hits - this.lastHits;
    const misses = s.misses - this.lastMisses;
    const delta = new Float64Array(this.lastBuckets.length);
    for (let i = 0; i < delta.length; i++) delta[i] = Math.max(0, s.latency.counts[i]! - this.lastBuckets[i]!);
    const out: Sample = {
      t: this.src.clock.now(),
      ops: round2(Math.max(0, ops - this.lastOps) / seconds),
      hitRatio: hits + misses > 0 ? round4(hits / (hits + misses)) : null,
      p50Ms: bucketQuantileMs(delta, 0.5),
      p99Ms: bucketQuantileMs(delta, 0.99),
      rssBytes: this.src.rssBytes ? this.src.rssBytes() : null,
      storeBytes: this.src.memoryBytes(),
      lagMs: s.eventLoopLag.intervalMs > 0 ? round2(s.eventLoopLag.recentMaxMs(mono, mono - this.lastMono)) : null,
      keys: this.src.keyCount(),
    };
    this.lastMono = mono;
    this.lastOps = ops;
    this.lastHits = s.hits;
    this.lastMisses = s.misses;
    this.lastBuckets.set(s.latency.counts);
    return out;
  }
}

/** Commands run since start, every command counted. */
export function totalCommands(stats: NodeStats): number {
  let n = 0;
  for (const v of stats.commands.values()) n += v;
  return n;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
