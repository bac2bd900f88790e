/**
 * Edge-cache counters and origin latency, rendered into /metrics as the
 * shoal_edge_* families (Prometheus text 0.0.4).
 */
import { LATENCY_BUCKETS, LatencyHistogram } from "../stats.ts";

/** How an edge request was answered (the X-Cache value, plus pass and errors). */
export type EdgeOutcome = "hit" | "miss" | "stale" | "revalidated" | "pass" | "error";

/** Counters of one node's edge cache. */
export class EdgeStats {
  /** Requests answered, by outcome. */
  readonly requests: Record<EdgeOutcome, number> = { hit: 0, miss: 0, stale: 0, revalidated: 0, pass: 0, error: 0 };
  /** Lookups that waited for another request's origin fetch instead of making their own. */
  coalesced = 0;
  /** Requests sent to origins (fills, revalidations, passes, forwards). */
  originRequests = 0;
  /** Origin failures, by kind: unreachable, timeout, 5xx (a 5xx response). */
  readonly originErrors: Record<string, number> = { unreachable: 0, timeout: 0, "5xx": 0 };
  /** Time from sending an origin request to its response headers, seconds. */
  readonly originLatency = new LatencyHistogram();
  /** Objects written to the edge map, and writes that failed (quorum, size). */
  stores = 0;
  storeErrors = 0;
  /** Objects dropped by PURGE, tag purges and invalidation after unsafe methods. */
  purged = 0;
  /** Lookups whose owner node could not be asked (then served without coalescing). */
  ownerErrors = 0;

  /** The shoal_edge_* families. */
  render(): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("shoal_edge_requests_total", "counter", "Edge requests answered, by cache outcome (X-Cache, plus pass and error).");
    for (const [k, v] of Object.entries(this.requests)) lines.push(`shoal_edge_requests_total{outcome="${k}"} ${v}`);
    family("shoal_edge_coalesced_total", "counter", "Lookups that waited for another request's origin fetch.");
    lines.push(`shoal_edge_coalesced_total ${this.coalesced}`);
    family("shoal_edge_origin_requests_total", "counter", "Requests sent to origins.");
    lines.push(`shoal_edge_origin_requests_total ${this.originRequests}`);
    family("shoal_edge_origin_errors_total", "counter", "Origin failures by kind (unreachable, timeout, 5xx response).");
    for (const [k, v] of Object.entries(this.originErrors)) lines.push(`shoal_edge_origin_errors_total{kind="${k}"} ${v}`);
    family("shoal_edge_origin_duration_seconds", "histogram", "Time from an origin request to its response headers.");
    let cumulative = 0;
    const h = this.originLatency;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += h.counts[i]!;
      lines.push(`shoal_edge_origin_duration_seconds_bucket{le="${LATENCY_BUCKETS[i]}"} ${cumulative}`);
    }
    lines.push(`shoal_edge_origin_duration_seconds_bucket{le="+Inf"} ${h.count}`);
    lines.push(`shoal_edge_origin_duration_seconds_sum ${h.sum}`, `shoal_edge_origin_duration_seconds_count ${h.count}`);
    family("shoal_edge_stores_total", "counter", "Objects written to the edge map.");
    lines.push(`shoal_edge_stores_total ${this.stores}`);
    family("shoal_edge_store_errors_total", "counter", "Edge map writes that failed.");
    lines.push(`shoal_edge_store_errors_total ${this.storeErrors}`);
    family("shoal_edge_purged_total", "counter", "Objects dropped by PURGE, tag purges and invalidation.");
    lines.push(`shoal_edge_purged_total ${this.purged}`);
    family("shoal_edge_owner_errors_total", "counter", "Lookups whose owner node could not be asked.");
    lines.push(`shoal_edge_owner_errors_total ${this.ownerErrors}`);
    return `${lines.join("\n")}\n`;
  }
}
