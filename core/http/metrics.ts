/**
 * Prometheus text exposition (format 0.0.4) of a node's counters.
 * Counters end in `_total`; every family has one HELP and one TYPE line.
 */
import { LATENCY_BUCKETS, LatencyHistogram } from "../stats.ts";
import type { HttpNode } from "./node.ts";

/** The Content-Type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

/** Requests served by the HTTP API, by method and status code, and their latency. */
export class HttpRequestCounter {
  private readonly counts = new Map<string, number>();
  /** Time from request to response headers, in seconds. */
  readonly latency = new LatencyHistogram();

  /** Counts one response that took `seconds` to start. */
  count(method: string, status: number, seconds: number): void {
    const id = `${method} ${status}`;
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    this.latency.observe(seconds);
  }

  /** [method, status, count] rows. */
  rows(): [string, string, number][] {
    return [...this.counts].map(([id, n]) => {
      const [method, status] = id.split(" ");
      return [method!, status!, n];
    });
  }
}

/** Builds one exposition document family by family. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A counter or gauge family with a single unlabelled sample. */
  single(name: string, type: "counter" | "gauge", help: string, value: number): this {
    return this.family(name, type, help).sample(name, value);
  }

  histogram(name: string, help: string, h: LatencyHistogram): this {
    this.family(name, "histogram", help);
    let cumulative = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += h.counts[i]!;
      this.sample(`${name}_bucket`, cumulative, { le: formatValue(LATENCY_BUCKETS[i]!) });
    }
    this.sample(`${name}_bucket`, h.count, { le: "+Inf" });
    this.sample(`${name}_sum`, h.sum);
    return this.sample(`${name}_count`, h.count);
  }

  toString(): string {
    return this.lines.join("\n") + "\n";
  }
}

/**
 * Renders the node's metrics. `rssBytes` adds process_resident_memory_bytes;
 * `http` adds shoal_http_requests_total and shoal_http_request_duration_seconds.
 */
export function renderMetrics(node: HttpNode, rssBytes?: () => number, http?: HttpRequestCounter): string {
  const s = node.stats;
  const out = new Exposition();
  out.single("shoal_up", "gauge", "1 while the node serves requests.", 1);
  out.family("shoal_commands_total", "counter", "Commands processed, by lower-case command name.");
  for (const [name, n] of [...s.commands].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    out.sample("shoal_commands_total", n, { command: name });
  }
  out.single("shoal_keyspace_hits_total", "counter", "Reads that found a live key.", s.hits);
  out.single("shoal_keyspace_misses_total", "counter", "Reads of a missing or expired key.", s.misses);
  out.single("shoal_keys", "gauge", "Live keys across all maps.", node.keyCount());
  out.single("shoal_maps", "gauge", "Maps that exist on this node.", node.mapNames().length);
  out.single("shoal_memory_used_bytes", "gauge", "Bytes in use by the store (keys, values, entry overhead).", node.memoryBytes());
  out.single("shoal_evictions_total", "counter", "Keys evicted by MaxKeys/MaxInuse (LRU).", s.evictions);
  out.single("shoal_expirations_total", "counter", "Keys removed because their TTL or MaxIdle passed.", s.expirations);
  out.single("shoal_connected_clients", "gauge", "Client connections open now.", s.connectionsCurrent);
  out.single("shoal_connections_total", "counter", "Client connections accepted since start.", s.connectionsTotal);
  out.single("shoal_rejected_connections_total", "counter", "Connections refused (max clients).", s.rejectedConnections);
  out.single("shoal_protocol_errors_total", "counter", "Connections closed for protocol errors.", s.protocolErrors);
  out.single("shoal_net_input_bytes_total", "counter", "Bytes read from client connections.", s.netInputBytes);
  out.single("shoal_net_output_bytes_total", "counter", "Bytes written to client connections.", s.netOutputBytes);
  out.histogram("shoal_command_duration_seconds", "Command execution time in seconds.", s.latency);
  const uptime = Math.max(0, (node.clock.now() - s.startedAtMs) / 1000);
  out.single("shoal_uptime_seconds", "gauge", "Seconds since the node started.", uptime);
  if (http) {
    out.family("shoal_http_requests_total", "counter", "HTTP API responses, by method and status code.");
    for (const [method, code, n] of http.rows()) out.sample("shoal_http_requests_total", n, { method, code });
    out.histogram("shoal_http_request_duration_seconds", "HTTP API time to response headers in seconds.", http.latency);
  }
  if (rssBytes) {
    out.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rssBytes());
  }
  return out.toString();
}

function formatLabels(labels?: Labels): string {
  if (!labels) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** Label values escape backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Go-style float formatting: integers without exponent, non-finite as +Inf/-Inf/NaN. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}
