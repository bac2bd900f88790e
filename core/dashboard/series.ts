/**
 * A node's recent metrics as a fixed-size ring of samples (the dashboard's
 * charts: the last 15 minutes at one sample every 2 s). Columns are typed
 * arrays, so a full ring costs the same memory from the first sample on and
 * pushing one allocates nothing. A missing value (no reads in a sample, so
 * no hit ratio) is NaN inside and null in JSON. Pure: times come in as data.
 */

/** The metrics of one sample, in column order. */
export const METRICS = ["ops", "hitRatio", "p50Ms", "p99Ms", "rssBytes", "storeBytes", "lagMs", "keys"] as const;

/** One metric's name. */
export type MetricName = (typeof METRICS)[number];

/**
 * One sample of a node: `t` wall-clock ms, then commands per second, the
 * share of reads that hit (0..1), command latency quantiles in ms over the
 * sample's interval, process resident memory and store bytes, the largest
 * event-loop lag in ms, and live keys. null: nothing to measure.
 */
export type Sample = { t: number } & Record<MetricName, number | null>;

/** Samples as JSON-ready columns: `t` ascending, one array per metric of the same length. */
export type SeriesColumns = { t: number[] } & Record<MetricName, (number | null)[]>;

/** Milliseconds between two samples of the dashboard's rings. */
export const SAMPLE_MS = 2000;

/** Samples kept: 15 minutes at {@link SAMPLE_MS}. */
export const RING_SAMPLES = (15 * 60 * 1000) / SAMPLE_MS;

/** Columns with no samples. */
export function emptyColumns(): SeriesColumns {
  const out = { t: [] as number[] } as SeriesColumns;
  for (const m of METRICS) out[m] = [];
  return out;
}

/** A bounded ring of samples; the oldest is overwritten when full. */
export class MetricRing {
  private readonly times: Float64Array;
  private readonly columns: Float64Array[];
  private next = 0;
  private count = 0;

  /** @param capacity samples kept (at least 1) */
  constructor(readonly capacity: number = RING_SAMPLES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`MetricRing capacity must be a positive integer, got ${capacity}`);
    this.times = new Float64Array(capacity);
    this.columns = METRICS.map(() => new Float64Array(capacity));
  }

  /** Samples held now. */
  get size(): number {
    return this.count;
  }

  /** Time of the newest sample, or -Infinity when empty. */
  get lastTime(): number {
    return this.count === 0 ? Number.NEGATIVE_INFINITY : this.times[(this.next + this.capacity - 1) % this.capacity]!;
  }

  /** Appends a sample; one not newer than the last is ignored (a peer answering twice). */
  push(s: Sample): void {
    if (!(s.t > this.lastTime)) return;
    const i = this.next;
    this.times[i] = s.t;
    METRICS.forEach((m, c) => {
      const v = s[m];
      this.columns[c]![i] = v === null || !Number.isFinite(v) ? Number.NaN : v;
    });
    this.next = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Appends every sample of `cols` (oldest first), e.g. a peer's answer. */
  pushColumns(cols: SeriesColumns): void {
    for (let k = 0; k < cols.t.length; k++) {
      const s = { t: cols.t[k]! } as Sample;
      for (const m of METRICS) s[m] = cols[m][k] ?? null;
      this.push(s);
    }
  }

  /** The newest sample, or undefined when empty. */
  latest(): Sample | undefined {
    if (this.count === 0) return undefined;
    return this.at((this.next + this.capacity - 1) % this.capacity);
  }

  /** Samples with `t` > `after`, oldest first, as columns. */
  since(after: number = Number.NEGATIVE_INFINITY): SeriesColumns {
    const out = emptyColumns();
    const first = (this.next + this.capacity - this.count) % this.capacity;
    for (let k = 0; k < this.count; k++) {
      const i = (first + k) % this.capacity;
      const t = this.times[i]!;
      if (!(t > after)) continue;
      out.t.push(t);
      METRICS.forEach((m, c) => {
        const v = this.columns[c]![i]!;
        out[m].push(Number.isNaN(v) ? null : v);
      });
    }
    return out;
  }

  private at(i: number): Sample {
    const s = { t: this.times[i]! } as Sample;
    METRICS.forEach((m, c) => {
      const v = this.columns[c]![i]!;
      s[m] = Number.isNaN(v) ? null : v;
    });
    return s;
  }
}
