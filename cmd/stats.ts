/**
 * `shoal stats`: fetches STATS (JSON) and INFO from a running node and
 * prints them as an aligned summary. Works against plain Redis too (INFO only).
 */
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
  let client: RespClient;
  try {
    client = await RespClient.connect(connectionTarget(options, io.env));
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
