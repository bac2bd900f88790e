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

/**
 * Event-loop lag of the process serving a node, as measured by the runtime
 * adapter (cmd/event-loop-lag.ts: a timer that checks how late it fires).
 * Runtime-neutral: it only stores what the adapter records, in milliseconds
 * on the adapter's monotonic clock. The recent maximum is kept per 1-s slot
 * over a sliding {@link EventLoopLag.WINDOW_MS} window, so a stall shows at
 * once and stays visible to a scraper for the whole window.
 */
export class EventLoopLag {
  /** Length of the window {@link recentMaxMs} looks back over, in milliseconds. */
  static readonly WINDOW_MS = 10_000;
  private static readonly SLOT_MS = 1000;
  private readonly slotMax = new Float64Array(EventLoopLag.WINDOW_MS / EventLoopLag.SLOT_MS);
  private readonly slotId = new Float64Array(EventLoopLag.WINDOW_MS / EventLoopLag.SLOT_MS).fill(-1);
  /** Largest lag recorded since start, in milliseconds. */
  maxMs = 0;
  /** Samples recorded since start. */
  samples = 0;
  /** The sampler's period in milliseconds; 0 while nothing samples (then every figure stays 0). */
  intervalMs = 0;
  private lastAtMs = 0;

  /** Called by the sampler when it starts: it will record every `intervalMs`, starting from `atMs`. */
  started(intervalMs: number, atMs: number): void {
    this.intervalMs = intervalMs;
    this.lastAtMs = atMs;
  }

  /** Records that a tick due `intervalMs` after the previous one fired `lagMs` late, at `atMs`. */
  record(lagMs: number, atMs: number): void {
    const lag = Math.max(0, lagMs);
    const id = Math.floor(atMs / EventLoopLag.SLOT_MS);
    const k = id % this.slotMax.length;
    if (this.slotId[k] !== id) {
      this.slotId[k] = id;
      this.slotMax[k] = 0;
    }
    if (lag > this.slotMax[k]!) this.slotMax[k] = lag;
    if (lag > this.maxMs) this.maxMs = lag;
    this.lastAtMs = atMs;
    this.samples++;
  }

  /**
   * The largest lag of the last ~10 s (or `windowMs`, in whole 1-s slots, at
   * most 10 s) at `nowMs` (same clock as record), in milliseconds; counts a tick that is overdue right now, so a reading taken
   * just after a stall but before the late tick has run still shows it.
   */
  recentMaxMs(nowMs: number, windowMs: number = EventLoopLag.WINDOW_MS): number {
    const slots = Math.min(this.slotMax.length, Math.max(1, Math.ceil(windowMs / EventLoopLag.SLOT_MS)));
    const oldest = Math.floor(nowMs / EventLoopLag.SLOT_MS) - slots + 1;
    let m = this.intervalMs > 0 ? Math.max(0, nowMs - this.lastAtMs - this.intervalMs) : 0;
    for (let k = 0; k < this.slotMax.length; k++) if (this.slotId[k]! >= oldest && this.slotMax[k]! > m) m = this.slotMax[k]!;
    return m;
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
  /** Entry changes (writes, expiry changes, removals) since start; the snapshot layer compares it with its count at the last save. */
  changes = 0;
  connectionsTotal = 0;
  connectionsCurrent = 0;
  rejectedConnections = 0;
  protocolErrors = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  readonly latency = new LatencyHistogram();
  /** Event-loop lag, recorded by the runtime adapter's sampler (untouched without one). */
  readonly eventLoopLag = new EventLoopLag();

  constructor(nowMs: number) {
    this.startedAtMs = nowMs;
  }

  /** Error replies sent, by their prefix (ERR, WRONGTYPE, …): INFO errorstats. */
  readonly errorReplies = new Map<string, number>();

  /** Counts one error reply; `line` is its text without the leading '-'. */
  countError(line: string): void {
    const sp = line.indexOf(" ");
    const prefix = (sp < 0 ? line : line.slice(0, sp)).slice(0, 32);
    if (this.errorReplies.size < 128 || this.errorReplies.has(prefix)) this.errorReplies.set(prefix, (this.errorReplies.get(prefix) ?? 0) + 1);
  }

  /** Every error reply so far, protocol errors included (INFO total_error_replies). */
  totalErrorReplies(): number {
    let n = this.protocolErrors;
    for (const v of this.errorReplies.values()) n += v;
    return n;
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
