import { REDIS_COMPAT_VERSION, SHOAL_VERSION } from "../../version.ts";
import type { CommandHost } from "../host.ts";

const round1 = (x: number): number => Math.round(x * 10) / 10;

type Fields = [string, string | number][];

/** Redis' human form of a byte count (used_memory_human): 1.50M, 12.00K, 512B. */
function human(bytes: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes}B` : `${v.toFixed(2)}${units[u]}`;
}

/** 40 hex characters derived from a name (INFO run_id, master_replid): stable per node name. */
function hex40(name: string): string {
  let out = "";
  let h = 0x811c9dc5;
  for (let round = 0; out.length < 40; round++) {
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i) ^ round, 0x01000193);
    out += (h >>> 0).toString(16).padStart(8, "0");
  }
  return out.slice(0, 40);
}

/**
 * INFO sections as key/value lists, in Redis' order and with Redis' field
 * names; shoal's own fields (shoal_version, node_name, event_loop_lag_ms…)
 * sit in the section they belong to. Values shoal does not have in the
 * Redis sense say so (role:master with no Redis replicas, aof_enabled:0).
 */
export function infoSections(node: CommandHost): Record<string, Fields> {
  const s = node.stats;
  const now = node.clock.now();
  const up = Math.floor((now - s.startedAtMs) / 1000);
  let expires = 0;
  for (const name of node.mapNames()) expires += node.findMap(name)!.expiresCount; // counters: INFO never walks the keys
  const p = node.process;
  const [cpuUser, cpuSys] = p ? p.cpuSeconds() : [0, 0];
  const used = node.memoryBytes();
  const { maxmemory, policy } = node.memoryLimits;
  let watching = 0;
  let pubsubClients = 0;
  for (const c of node.sessions) {
    if (c.tx.watchCount > 0) watching++;
    if (c.subscribed) pubsubClients++;
  }
  const cmds: Fields = [];
  for (const c of node.commands.byName.values()) {
    if (c.calls + (c.rejected ?? 0) + (c.failed ?? 0) === 0) continue;
    cmds.push([`cmdstat_${c.name}`, `calls=${c.calls},rejected_calls=${c.rejected ?? 0},failed_calls=${c.failed ?? 0}`]);
  }
  const errors: Fields = [...s.errorReplies].map(([prefix, n]) => [`errorstat_${prefix}`, `count=${n}`]);
  return {
    server: [
      ["redis_version", REDIS_COMPAT_VERSION],
      ["redis_git_sha1", "00000000"],
      ["redis_git_dirty", 0],
      ["redis_build_id", SHOAL_VERSION],
      ["redis_mode", node.cluster === null ? "standalone" : "cluster"],
      ["shoal_version", SHOAL_VERSION],
      ["node_name", node.config.nodeName],
      ["os", p?.os ?? "unknown"],
      ["arch_bits", p?.archBits ?? 64],
      ["runtime", p?.runtime ?? "embedded"],
      ["process_id", p?.pid ?? 0],
      ["run_id", hex40(`${node.config.nodeName}:${s.startedAtMs}`)],
      ["tcp_port", node.config.port],
      ["server_time_usec", Math.floor(now * 1000)],
      ["uptime_in_seconds", up],
      ["uptime_in_days", Math.floor(up / 86400)],
      ["executable", p?.executable ?? ""],
    ],
    clients: [
      ["connected_clients", s.connectionsCurrent],
      ["maxclients", node.config.maxClients],
      ["blocked_clients", 0],
      ["tracking_clients", 0],
      ["pubsub_clients", pubsubClients],
      ["watching_clients", watching],
      ["pubsub_channels", node.pubsub.channelCount()],
      ["pubsub_patterns", node.pubsub.patternCount()],
    ],
    memory: [
      ["used_memory", used],
      ["used_memory_human", human(used)],
      ["used_memory_rss", p?.rssBytes() ?? 0],
      ["used_memory_rss_human", human(p?.rssBytes() ?? 0)],
      ["used_memory_reserved", node.reservedBytes()],
      ["maxmemory", maxmemory],
      ["maxmemory_human", human(maxmemory)],
      ["maxmemory_policy", policy],
      // shoal's own slab arena over the runtime's allocator (not jemalloc)
      ["mem_allocator", "shoal-slab-arena"],
    ],
    persistence: node.persistence?.info() ?? [
      ["loading", 0],
      ["async_loading", 0],
      ["rdb_changes_since_last_save", s.changes],
      ["rdb_bgsave_in_progress", 0],
      ["rdb_last_save_time", Math.floor(s.startedAtMs / 1000)],
      ["rdb_last_bgsave_status", "ok"],
      ["rdb_last_bgsave_time_sec", -1],
      ["rdb_current_bgsave_time_sec", -1],
      ["rdb_saves", 0],
      ["aof_enabled", 0],
      ["snapshot_file", ""],
    ],
    stats: [
      ["total_connections_received", s.connectionsTotal],
      ["total_commands_processed", [...s.commands.values()].reduce((x, y) => x + y, 0)],
      ["total_net_input_bytes", s.netInputBytes],
      ["total_net_output_bytes", s.netOutputBytes],
      ["rejected_connections", s.rejectedConnections],
      ["expired_keys", s.expirations],
      ["evicted_keys", s.evictions],
      ["keyspace_hits", s.hits],
      ["keyspace_misses", s.misses],
      ["pubsub_channels", node.pubsub.channelCount()],
      ["pubsub_patterns", node.pubsub.patternCount()],
      ["total_error_replies", s.totalErrorReplies()],
      // how late the node's sampling timer fired (0 when the runtime adapter does not sample): worst of the last 10 s, and since start
      ["event_loop_lag_ms", round1(s.eventLoopLag.recentMaxMs(node.clock.monotonic()))],
      ["event_loop_lag_max_ms", round1(Math.max(s.eventLoopLag.maxMs, s.eventLoopLag.recentMaxMs(node.clock.monotonic())))],
    ],
    // shoal replicates through its cluster layer (see CLUSTER INFO / STATS), not Redis master/replica links
    replication: [
      ["role", "master"],
      ["connected_slaves", 0],
      ["master_replid", hex40(node.config.nodeName)],
      ["master_repl_offset", 0],
      ["second_repl_offset", -1],
      ["repl_backlog_active", 0],
    ],
    cpu: [
      ["used_cpu_sys", cpuSys.toFixed(6)],
      ["used_cpu_user", cpuUser.toFixed(6)],
      ["used_cpu_sys_children", "0.000000"],
      ["used_cpu_user_children", "0.000000"],
    ],
    modules: [],
    errorstats: errors,
    commandstats: cmds,
    cluster: [["cluster_enabled", node.cluster === null ? 0 : 1]],
    keyspace: node.db.size() > 0 ? [["db0", `keys=${node.db.size()},expires=${expires},avg_ttl=0`]] : [],
  };
}

/** Sections INFO, INFO default and INFO with no argument show (Redis' default set). */
const DEFAULT = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "errorstats", "cluster", "keyspace"];
/** What INFO all adds; INFO everything adds modules too. */
const ALL = [...DEFAULT.slice(0, 8), "commandstats", ...DEFAULT.slice(8)];

const TITLES: Record<string, string> = { commandstats: "Commandstats", errorstats: "Errorstats" };

/** INFO text for the requested sections (case-insensitive; default/all/everything as Redis groups them; unknown names give nothing). */
export function infoText(node: CommandHost, wanted: string[]): string {
  const secs = infoSections(node);
  const pick = new Set<string>();
  for (const w of wanted.length === 0 ? ["default"] : wanted.map((x) => x.toLowerCase())) {
    if (w === "default") for (const n of DEFAULT) pick.add(n);
    else if (w === "all") for (const n of ALL) pick.add(n);
    else if (w === "everything") for (const n of [...ALL, "modules"]) pick.add(n);
    else if (w in secs) pick.add(w);
  }
  const parts: string[] = [];
  for (const n of [...ALL, "modules"]) {
    if (!pick.has(n)) continue;
    const title = TITLES[n] ?? n[0]!.toUpperCase() + n.slice(1);
    parts.push(`# ${title}\r\n${secs[n]!.map(([k, v]) => `${k}:${v}\r\n`).join("")}`);
  }
  return parts.join("\r\n");
}
