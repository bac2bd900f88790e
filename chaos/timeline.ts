/**
 * A chaos run's history as a timeline for pictures: per bucket of time, the
 * operations that completed ok, failed or ended unknown, and the latency
 * quantiles of those that completed. Pure: ops in, buckets out.
 */
import { FINAL_CLIENT, type Op } from "./history.ts";

/** One slice of the run. */
export interface TimelineBucket {
  /** Start of the bucket, ms since the run started. */
  startMs: number;
  ok: number;
  fail: number;
  unknown: number;
  /** Latency quantiles (ms) of the operations that ended in this bucket (null: none ended). */
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/** The run in buckets of `bucketMs`. */
export interface Timeline {
  bucketMs: number;
  buckets: TimelineBucket[];
}

/** The operation fields a timeline needs. */
export type TimelineOp = Pick<Op, "client" | "invokeMs" | "completeMs" | "outcome">;

/** Most buckets in a timeline (a longer run gets wider buckets). */
const MAX_BUCKETS = 600;

/**
 * Buckets every operation (the final reads after the faults excepted) by
 * when it ended (an operation that never ended: when it was invoked), from
 * `fromMs` (default 0) to `toMs` (default the last one's end).
 * `bucketMs` 0 picks one: 1 s, or wider to keep at most 600 buckets.
 */
export function timelineOf(ops: readonly TimelineOp[], opts: { bucketMs?: number; fromMs?: number; toMs?: number } = {}): Timeline {
  const ended = (o: TimelineOp) => (Number.isFinite(o.completeMs) ? o.completeMs : o.invokeMs);
  const mine = ops.filter((o) => o.client !== FINAL_CLIENT);
  const from = opts.fromMs ?? 0;
  let to = opts.toMs ?? from;
  if (opts.toMs === undefined) for (const o of mine) to = Math.max(to, ended(o));
  let bucketMs = opts.bucketMs ?? 0;
  if (!(bucketMs > 0)) {
    bucketMs = 1000;
    while ((to - from) / bucketMs > MAX_BUCKETS) bucketMs *= 2;
  }
  const n = Math.max(1, Math.ceil((to - from + 1) / bucketMs));
  const lat: number[][] = Array.from({ length: n }, () => []);
  const buckets: TimelineBucket[] = Array.from({ length: n }, (_, k) => ({ startMs: from + k * bucketMs, ok: 0, fail: 0, unknown: 0, p50Ms: null, p99Ms: null, maxMs: null }));
  for (const o of mine) {
    const k = Math.floor((ended(o) - from) / bucketMs);
    if (k < 0 || k >= n) continue;
    const b = buckets[k]!;
    b[o.outcome]++;
    if (o.outcome !== "unknown" && Number.isFinite(o.completeMs)) lat[k]!.push(o.completeMs - o.invokeMs);
  }
  buckets.forEach((b, k) => {
    const xs = lat[k]!.sort((a, c) => a - c);
    if (xs.length === 0) return;
    const q = (p: number) => round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!);
    b.p50Ms = q(0.5);
    b.p99Ms = q(0.99);
    b.maxMs = round(xs[xs.length - 1]!);
  });
  return { bucketMs, buckets };
}

const round = (x: number) => Math.round(x * 10) / 10;
