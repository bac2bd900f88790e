/**
 * `shoal stats`: fetches STATS (JSON) and INFO from a running node and
 * prints them as an aligned summary; on a clustered node STATS carries the
 * cluster view, printed as settings, a members table and counters. Works
 * against plain Redis too (INFO only).
 */

import type { DiscoveryStatus } from "../core/discovery.ts";
import { STATS_HELP } from "./help.ts";
import { CONNECTION_OPTIONS, type CommandIO, connectionTarget, parseOptions, UsageError } from "./io.ts";
import { RespClient, RespError, replyText } from "./resp-client.ts";

const OPTIONS = { ...CONNECTION_OPTIONS, "--json": { key: "json", value: false } };

const bytes = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
};

const duration = (s: number): string => {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${d > 0 ? `${d}d ` : ""}${h}h ${m}m ${s % 60}s`;
};

/** A table: columns padded to their widest cell, two spaces apart, indented by two. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")}`.trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Counters as aligned "  name  value" lines, in their JSON order. */
function counters(o: Record<string, unknown> | undefined): string {
  const entries = Object.entries(o ?? {}).filter(([, v]) => typeof v === "number");
  const w = Math.max(0, ...entries.map(([k]) => k.length)) + 2;
  return entries.map(([k, v]) => `  ${k.padEnd(w)}${v}`).join("\n");
}

/**
 * Renders the `cluster` part of STATS (core/cluster/view.ts ClusterSnapshot):
 * settings, migration state, a members table and the protocol counters.
 */
export function formatCluster(c: Record<string, unknown>): string {
  const n = (k: string): number => (typeof c[k] === "number" ? (c[k] as number) : 0);
  const migration = (c["migration"] ?? {}) as { rebalanced?: number; pulled?: number; syncing?: boolean };
  const rows: [string, string][] = [
    ["cluster", `${String(c["self"] ?? "?")} (${c["ready"] ? "ready" : "not ready"})`],
    ["table", `epoch ${n("epoch")}, ${n("partitionCount")} partitions`],
    ["replication", `${n("replicaCount")} copies, write quorum ${n("writeQuorum")}, read quorum ${n("readQuorum")}, ${String(c["replicationMode"] ?? "sync")}`],
    ["member quorum", `${n("memberCountQuorum")} (${n("liveMembers")} live: ${c["quorumMet"] ? "writes accepted" : "writes refused"})`],
    ["migration", `${migration.syncing ? "syncing" : "idle"}, ${migration.rebalanced ?? 0} entries rebalanced, ${migration.pulled ?? 0} pulled`],
    ["tombstones", String(n("tombstones"))],
  ];
  const k = c["consensus"] as
    | { role: string; term: number; leader: string | null; voters: string[]; leaseValidMs: number; acquiring: number }
    | undefined;
  if (k) {
    rows.push(["ownership", `consensus: ${k.role}, term ${k.term}, leader ${k.leader ?? "none"}, voters ${k.voters.join(" ") || "none"}`]);
    rows.push(["owner lease", k.leaseValidMs > 0 ? `${k.leaseValidMs} ms left${k.acquiring > 0 ? `, ${k.acquiring} partitions acquiring` : ""}` : "none (not acting as owner)"]);
  } else {
    rows.push(["ownership", "gossip (each node's own view)"]);
  }
  const discovery = formatDiscovery(c["discovery"] as DiscoveryStatus | undefined);
  if (discovery) rows.push(...discovery);
  let out = rows.map(([k, v]) => `${k.padEnd(16)}${v}`).join("\n");
  const members = (c["members"] ?? []) as Record<string, unknown>[];
  const cell = (v: unknown): string => (v === undefined ? "-" : String(v));
  const memberRows = members.map((m) => [
    `${cell(m["address"] ?? m["name"])}${m["self"] ? " *" : ""}`,
    cell(m["status"]),
    cell(m["incarnation"]),
    cell(m["ownedPartitions"]),
    cell(m["replicaPartitions"]),
    cell(m["keys"]),
    String(m["id"] ?? "").slice(0, 12),
  ]);
  out += `\n\nmembers (${members.length}; * = this node)\n`;
  out += table(["address", "status", "inc", "owned", "replica", "keys", "id"], memberRows);
  const router = counters(c["router"] as Record<string, unknown> | undefined);
  if (router) out += `\n\nrouter\n${router}`;
  const membership = counters(c["membership"] as Record<string, unknown> | undefined);
  if (membership) out += `\n\nmembership\n${membership}`;
  const events = Object.entries((c["events"] ?? {}) as Record<string, number>);
  if (events.length > 0) out += `\n  ${"events".padEnd(16)}${events.map(([k, v]) => `${k} ${v}`).join(", ")}`;
  return `${out}\n`;
}

/** The `discovery` rows: what the plugin last saw and when, and its last error. */
export function formatDiscovery(d: DiscoveryStatus | undefined): [string, string][] {
  if (!d) return [];
  const at = (ms: number) => new Date(ms).toISOString();
  const r = d.lastResult;
  const detail = r?.detail ?? {};
  const via = [detail["name"], detail["server"] && `via ${String(detail["server"])}`, detail["transport"]].filter(Boolean).join(" ");
  const rows: [string, string][] = [
    ["discovery", r ? `${d.plugin}: ${r.peers.length} peer(s) at ${at(r.at)}${via ? ` (${via})` : ""}` : `${d.plugin}: no answer yet`],
  ];
  if (d.lastError) rows.push(["", `last error at ${at(d.lastError.at)} (${d.failuresSinceResult} since the last answer): ${d.lastError.message}`]);
  return rows;
}

/** Renders the STATS JSON as aligned "label  value" lines. */
export function formatStats(stats: Record<string, unknown>): string {
  const rows: [string, string][] = [];
  const member = stats["member"] as { name?: string; port?: number } | undefined;
  if (member) rows.push(["node", `${member.name ?? "?"} (port ${member.port ?? "?"})`]);
  const num = (k: string) => (typeof stats[k] === "number" ? (stats[k] as number) : undefined);
  if (num("uptimeSeconds") !== undefined) rows.push(["uptime", duration(num("uptimeSeconds")!)]);
  if (num("keys") !== undefined) rows.push(["keys", String(num("keys"))]);
  if (num("memoryBytes") !== undefined) rows.push(["memory", bytes(num("memoryBytes")!)]);
  const hits = num("hits") ?? 0;
  const misses = num("misses") ?? 0;
  if (num("hits") !== undefined) {
    const ratio = hits + misses > 0 ? ` (${((100 * hits) / (hits + misses)).toFixed(1)}% hit rate)` : "";
    rows.push(["hits / misses", `${hits} / ${misses}${ratio}`]);
  }
  if (num("evictions") !== undefined) rows.push(["evictions", String(num("evictions"))]);
  if (num("expirations") !== undefined) rows.push(["expirations", String(num("expirations"))]);
  const conns = stats["connections"] as { current?: number; total?: number } | undefined;
  if (conns) rows.push(["connections", `${conns.current ?? 0} open, ${conns.total ?? 0} total`]);
  let out = rows.map(([k, v]) => `${k.padEnd(16)}${v}`).join("\n");
  const commands = Object.entries((stats["commands"] as Record<string, number> | undefined) ?? {}).sort((a, b) => b[1] - a[1]);
  if (commands.length > 0) out += `\n\ncommands\n${commands.map(([k, v]) => `  ${k.padEnd(14)}${v}`).join("\n")}`;
  const maps = Object.entries((stats["dmaps"] as Record<string, { length?: number; inuse?: number }> | undefined) ?? {});
  if (maps.length > 0) {
    out += `\n\nmaps\n${maps.map(([k, m]) => `  ${k.padEnd(14)}${String(m.length ?? 0).padStart(10)} keys  ${bytes(m.inuse ?? 0)}`).join("\n")}`;
  }
  const cluster = stats["cluster"];
  if (cluster && typeof cluster === "object") out += `\n\n${formatCluster(cluster as Record<string, unknown>).trimEnd()}`;
  return `${out}\n`;
}

/** Runs `shoal stats`; returns the exit status. */
export async function runStats(args: readonly string[], io: CommandIO): Promise<number> {
  const { options, rest, help } = parseOptions(args, OPTIONS);
  if (help) {
    io.out(STATS_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const target = connectionTarget(options, io.env);
  let client: RespClient;
  try {
    client = await RespClient.connect(target);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 1;
  }
  try {
    const [stats, info] = await client.sendMany([["STATS"], ["INFO"]]);
    if (stats instanceof RespError && info instanceof RespError) {
      io.err(`${stats.message}\n`);
      return 1;
    }
    if (options["json"] === "true") {
      if (stats instanceof RespError) throw new Error(`STATS failed: ${stats.message}`);
      io.out(`${replyText(stats!)}\n`);
      return 0;
    }
    if (!(stats instanceof RespError)) {
      try {
        io.out(formatStats(JSON.parse(replyText(stats!)) as Record<string, unknown>));
      } catch {
        io.out(`${replyText(stats!)}\n`);
      }
    }
    if (!(info instanceof RespError)) io.out(`\n${replyText(info!).replaceAll("\r\n", "\n").trim()}\n`);
    return 0;
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}
