/**
 * Prometheus text exposition (format 0.0.4) of a node's counters.
 * Counters end in `_total`; every family has one HELP and one TYPE line.
 */
import type { ClusterSnapshot } from "../cluster/view.ts";
import { LATENCY_BUCKETS, LatencyHistogram } from "../stats.ts";
import type { HttpNode } from "./node.ts";

/** The Content-Type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

/** Methods counted under their own name; any other method (clients may send any token) counts as "other". */
const KNOWN_METHODS = new Set(["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"]);

/**
 * The metric labels of a request: the method if it is a known one, else
 * "other"; the status if it is a valid HTTP status, else "other". Labels are
 * bounded before authentication: a client cannot create a series per method name.
 */
export function requestLabels(method: string, status: number): [string, string] {
  const m = KNOWN_METHODS.has(method) ? method : "other";
  const s = Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "other";
  return [m, s];
}

/** Requests served by the HTTP API, by method and status code, and their latency. */
export class HttpRequestCounter {
  private readonly counts = new Map<string, number>();
  /** Time from request to response headers, in seconds. */
  readonly latency = new LatencyHistogram();

  /** Counts one response that took `seconds` to start. */
  count(method: string, status: number, seconds: number): void {
    const [m, code] = requestLabels(method, status);
    const id = `${m} ${code}`;
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
 * `http` adds shoal_http_requests_total and shoal_http_request_duration_seconds;
 * `cluster` (a clustered node's {@link ClusterSnapshot}) adds the shoal_cluster_* families.
 */
export function renderMetrics(node: HttpNode, rssBytes?: () => number, http?: HttpRequestCounter, cluster?: ClusterSnapshot): string {
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
  const lag = s.eventLoopLag;
  const recentLagMs = lag.recentMaxMs(node.clock.monotonic());
  const seconds = (ms: number) => Math.round(ms * 1000) / 1e6; // microsecond resolution is plenty for a timer's lateness
  out.single("shoal_event_loop_lag_seconds", "gauge", "Largest event-loop lag of the last 10 s (how late the node's sampling timer fired), in seconds.", seconds(recentLagMs));
  out.single("shoal_event_loop_lag_max_seconds", "gauge", "Largest event-loop lag since the node started, in seconds.", seconds(Math.max(lag.maxMs, recentLagMs)));
  if (http) {
    out.family("shoal_http_requests_total", "counter", "HTTP API responses, by method and status code.");
    for (const [method, code, n] of http.rows()) out.sample("shoal_http_requests_total", n, { method, code });
    out.histogram("shoal_http_request_duration_seconds", "HTTP API time to response headers in seconds.", http.latency);
  }
  if (cluster) renderCluster(out, cluster);
  if (rssBytes) {
    out.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rssBytes());
  }
  return out.toString();
}

const MEMBER_STATUSES = ["alive", "suspect", "dead", "left"] as const;

/** The shoal_cluster_* families: membership, partitions, migration, replication and quorum counters. */
function renderCluster(out: Exposition, c: ClusterSnapshot): void {
  out.family("shoal_cluster_members", "gauge", "Members this node knows of, by status (dead and left ones until reaped).");
  for (const status of MEMBER_STATUSES) {
    out.sample("shoal_cluster_members", c.members.filter((m) => m.status === status).length, { status });
  }
  const self = c.members.find((m) => m.self);
  out.single("shoal_cluster_incarnation", "gauge", "This node's SWIM incarnation number (bumped by each refutation).", self?.incarnation ?? 0);
  out.single("shoal_cluster_member_quorum", "gauge", "Live members needed to accept writes (member_count_quorum).", c.memberCountQuorum);
  out.single("shoal_cluster_quorum_met", "gauge", "1 while enough members are live to accept writes.", c.quorumMet ? 1 : 0);
  out.family("shoal_cluster_member_events_total", "counter", "Membership events seen by this node, by type.");
  for (const [type, n] of Object.entries(c.events)) out.sample("shoal_cluster_member_events_total", n, { type });
  for (const [field, n] of Object.entries(c.membership)) {
    const name = `shoal_cluster_membership_${snake(field)}_total`;
    out.single(name, "counter", COUNTER_HELP[field] ?? `SWIM membership counter ${field}.`, n);
  }
  out.single("shoal_cluster_partitions", "gauge", "Partitions in the table.", c.partitionCount);
  out.single("shoal_cluster_partitions_owned", "gauge", "Partitions this node owns.", self?.ownedPartitions ?? 0);
  out.single("shoal_cluster_partitions_replica", "gauge", "Partitions this node holds a replica of.", self?.replicaPartitions ?? 0);
  out.single("shoal_cluster_table_epoch", "gauge", "Version of the partition table (bumped on every membership change).", c.epoch);
  out.single("shoal_cluster_replica_count", "gauge", "Copies per partition, owner included.", c.replicaCount);
  out.single("shoal_cluster_write_quorum", "gauge", "Copies that must acknowledge a write.", c.writeQuorum);
  out.single("shoal_cluster_read_quorum", "gauge", "Copies consulted on a read.", c.readQuorum);
  out.single("shoal_cluster_syncing", "gauge", "1 while the node pulls the partitions it holds after joining.", c.syncing ? 1 : 0);
  out.single("shoal_cluster_rebalanced_entries_total", "counter", "Entries pushed to new holders by rebalancing.", c.migration.rebalanced);
  out.single("shoal_cluster_pulled_entries_total", "counter", "Entries received by the initial pull after joining.", c.migration.pulled);
  out.single("shoal_cluster_tombstones", "gauge", "Deletion tombstones held until the GC horizon.", c.tombstones);
  for (const [field, n] of Object.entries(c.router)) {
    if (typeof n !== "number") continue;
    out.single(`shoal_cluster_router_${snake(field)}_total`, "counter", COUNTER_HELP[field] ?? `Cluster router counter ${field}.`, n);
  }
  if (c.antiEntropy) {
    for (const [field, n] of Object.entries(c.antiEntropy)) {
      if (typeof n !== "number") continue;
      if (field === "lastRoundMs") out.single("shoal_cluster_anti_entropy_last_round_seconds", "gauge", "How long the last anti-entropy round took, in seconds.", n / 1000);
      else out.single(`shoal_cluster_anti_entropy_${snake(field)}_total`, "counter", AE_HELP[field] ?? `Anti-entropy counter ${field}.`, n);
    }
  }
  if (c.hints) {
    const h = c.hints;
    out.single("shoal_cluster_hints_stored_total", "counter", "Writes kept for replicas that could not be reached (hinted handoff).", h.stored);
    out.single("shoal_cluster_hints_delivered_total", "counter", "Hints handed over to their replica.", h.delivered);
    out.single("shoal_cluster_hints_dropped_total", "counter", "Hints dropped to stay within --hint-max-entries/--hint-max-bytes (anti-entropy repairs those keys).", h.dropped);
    out.single("shoal_cluster_hint_delivery_failures_total", "counter", "Hint deliveries that failed (replica still unreachable).", h.failures);
    out.single("shoal_cluster_hints_pending", "gauge", "Hints held now.", h.pending);
    out.single("shoal_cluster_hints_pending_bytes", "gauge", "Key and value bytes of the hints held now.", h.pendingBytes);
  }
  if (c.consensus) {
    const k = c.consensus;
    out.single("shoal_consensus_term", "gauge", "Current Raft term of the log that agrees on the partition table.", k.term);
    out.single("shoal_consensus_leader", "gauge", "1 when this node leads the consensus log.", k.role === "leader" ? 1 : 0);
    out.single("shoal_consensus_voters", "gauge", "Voting members of the committed configuration.", k.voters.length);
    out.single("shoal_consensus_epoch", "gauge", "Epoch of the committed partition table.", k.epoch);
    out.single("shoal_consensus_owner_lease_seconds", "gauge", "Time left on this node's owner lease (0: it may not act as owner).", k.leaseValidMs / 1000);
    out.single("shoal_consensus_acquiring_partitions", "gauge", "Partitions acquired and not served yet (waiting out the previous owner's lease).", k.acquiring);
    out.single("shoal_consensus_elections_total", "counter", "Elections this node started.", k.elections);
    out.single("shoal_consensus_commits_total", "counter", "Times the commit index advanced here.", k.commits);
    out.single("shoal_consensus_recoveries_total", "counter", "New generations this node started after the voters were lost for good.", k.recoveries);
  }
  if (c.driftRefused !== undefined) out.single("shoal_cluster_clock_drift_refused_total", "counter", "Entry states refused because their version was too far ahead of this node's clock.", c.driftRefused);
}

/** HELP texts of known counters; fields added later get a generic one. */
const COUNTER_HELP: Record<string, string> = {
  probes: "SWIM probes sent by this node.",
  directFailures: "Direct probes that got no ack in time.",
  probeFailures: "Probes that failed directly and through every indirect helper (suspicions raised).",
  gossipMessages: "Gossip messages sent.",
  syncs: "Push-pull full-state exchanges initiated.",
  syncsSkipped: "Push-pull exchanges that found equal checksums.",
  forwarded: "Commands forwarded to the partition owner.",
  forwardFailures: "Forwarded commands whose owner could not be reached (CLUSTERDOWN).",
  replicated: "Replica writes sent (one per replica per write).",
  quorumFailures: "Writes answered WRITEQUORUM: too few replicas acknowledged.",
  crossSlot: "Commands refused with CROSSSLOT.",
  quorumReads: "Reads that consulted replicas (read quorum above 1).",
  readQuorumFailures: "Reads answered READQUORUM: too few replicas answered.",
  readRepairs: "Stale copies brought up to date by read-repair.",
  asyncWrites: "Writes acknowledged before replication (async mode).",
  replicaBatches: "Replication batches sent: one apply per replica per event-loop turn.",
};

/** HELP texts of the anti-entropy counters. */
const AE_HELP: Record<string, string> = {
  rounds: "Anti-entropy rounds run by this node (as partition owner).",
  rangesCompared: "Partition key-hash ranges compared with a replica's digest.",
  divergentRanges: "Ranges whose digest differed on some replica (divergence found).",
  keysRepaired: "Keys brought up to date here or on a replica by anti-entropy.",
  entriesPulled: "Entries anti-entropy pulled from replicas that had a newer version.",
  entriesPushed: "Entries anti-entropy pushed to replicas that had an older version or none.",
  orphansMoved: "Copies of partitions this node no longer holds, handed to their holders and dropped.",
  tombstonesConfirmed: "Tombstones dropped after anti-entropy saw them on every holder.",
  tombstonesExpired: "Tombstones dropped after the grace period.",
  failures: "Anti-entropy requests to other members that failed or timed out.",
};

/** camelCase → snake_case for metric names. */
function snake(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().replace(/[^a-z0-9_]/g, "_");
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
