import { REDIS_COMPAT_VERSION, SHOAL_VERSION } from "../../version.ts";
import type { CommandHost } from "../host.ts";

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** INFO sections as key/value lists, Redis field names where they exist. */
export function infoSections(node: CommandHost): Record<string, [string, string | number][]> {
  const s = node.stats;
  const now = node.clock.now();
  const up = Math.floor((now - s.startedAtMs) / 1000);
  let expires = 0;
  for (const name of node.mapNames()) {
    const t = node.findMap(name)!.table;
    for (let i = 0; i < t.hiWater; i++) if (t.isLive(i) && t.expireAt[i] !== 0) expires++;
  }
  const cmds: [string, string | number][] = [];
  for (const [name, calls] of s.commands) cmds.push([`cmdstat_${name}`, `calls=${calls}`]);
  return {
    server: [
      ["redis_version", REDIS_COMPAT_VERSION],
      ["shoal_version", SHOAL_VERSION],
      ["redis_mode", node.cluster === null ? "standalone" : "cluster"],
      ["node_name", node.config.nodeName],
      ["tcp_port", node.config.port],
      ["uptime_in_seconds", up],
      ["uptime_in_days", Math.floor(up / 86400)],
    ],
    clients: [
      ["connected_clients", s.connectionsCurrent],
      ["maxclients", node.config.maxClients],
      ["pubsub_channels", node.pubsub.channelCount()],
    ],
    memory: [
      ["used_memory", node.memoryBytes()],
      ["used_memory_reserved", node.reservedBytes()],
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
      ["total_error_replies", s.protocolErrors],
      // how late the node's sampling timer fired (0 when the runtime adapter does not sample): worst of the last 10 s, and since start
      ["event_loop_lag_ms", round1(s.eventLoopLag.recentMaxMs(node.clock.monotonic()))],
      ["event_loop_lag_max_ms", round1(Math.max(s.eventLoopLag.maxMs, s.eventLoopLag.recentMaxMs(node.clock.monotonic())))],
    ],
    commandstats: cmds,
    cluster: [["cluster_enabled", node.cluster === null ? 0 : 1]],
    keyspace: node.db.size() > 0 ? [["db0", `keys=${node.db.size()},expires=${expires},avg_ttl=0`]] : [],
  };
}

/** INFO text for the requested sections (all when none or "all"/"everything"/"default"). */
export function infoText(node: CommandHost, wanted: string[]): string {
  const secs = infoSections(node);
  const names = Object.keys(secs);
  const pick =
    wanted.length === 0 || wanted.some((w) => w === "all" || w === "everything" || w === "default")
      ? names.filter((n) => n !== "commandstats" || wanted.includes("all") || wanted.includes("everything"))
      : names.filter((n) => wanted.includes(n));
  const parts: string[] = [];
  for (const n of pick) {
    const title = n[0]!.toUpperCase() + n.slice(1);
    parts.push(`# ${title === "Commandstats" ? "Commandstats" : title}\r\n${secs[n]!.map(([k, v]) => `${k}:${v}\r\n`).join("")}`);
  }
  return parts.join("\r\n");
}
