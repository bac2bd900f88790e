/**
 * /etc/resolv.conf (resolv.conf(5)): the nameservers, search list and the
 * ndots/timeout/attempts options the dns plugin uses when `--dns-server` is
 * not given. {@link parseResolvConf} is pure; {@link readResolvConf} reads the
 * file and falls back to the platform's resolver settings (node:dns) where
 * there is no such file (Windows).
 */
import { promises as dns } from "node:dns";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { splitHostPort } from "../../core/net-address.ts";
import type { NameServer } from "./dns-transport.ts";

/** How to resolve names: what resolv.conf says, with resolv.conf(5)'s defaults. */
export interface ResolverSettings {
  /** Servers in the order to ask them (at most 3, as glibc's MAXNS). */
  nameservers: NameServer[];
  /** Domains appended to names with fewer than `ndots` dots, in order. */
  search: string[];
  /** A name with at least this many dots is tried as given first (default 1, at most 15). */
  ndots: number;
  /** `options timeout:n` in milliseconds, when set. */
  timeoutMs?: number;
  /** `options attempts:n`, when set. */
  attempts?: number;
  /** Lines that were not understood ("line 3: ..."), for the log. */
  ignored: string[];
}

/** glibc's MAXNS: later nameserver lines are ignored. */
export const MAX_NAMESERVERS = 3;

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/** Parses resolv.conf text. Nameservers without entries stay empty here (the reader supplies the default). */
export function parseResolvConf(text: string): ResolverSettings {
  const out: ResolverSettings = { nameservers: [], search: [], ndots: 1, ignored: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/[#;].*$/, "").trim();
    if (line === "") return;
    const problem = applyLine(out, line);
    if (problem) out.ignored.push(`line ${i + 1}: ${problem}: ${raw.trim()}`);
  });
  return out;
}

/** Applies one non-empty line to `out`; returns why it was ignored, if it was. */
function applyLine(out: ResolverSettings, line: string): string | undefined {
  const [keyword, ...args] = line.split(/\s+/) as [string, ...string[]];
  switch (keyword) {
    case "nameserver": {
      const host = (args[0] ?? "").replace(/%.*$/, ""); // zone ids (fe80::1%eth0) cannot be used from here
      if (isIP(host) === 0) return "not an IP address";
      if (out.nameservers.length >= MAX_NAMESERVERS) return `more than ${MAX_NAMESERVERS} nameservers`;
      out.nameservers.push({ host, port: 53 });
      return undefined;
    }
    case "domain": // the last of domain/search wins
      out.search = args[0] && args[0] !== "." ? [args[0].replace(/\.$/, "")] : [];
      return undefined;
    case "search":
      out.search = args.filter((d) => d !== ".").map((d) => d.replace(/\.$/, ""));
      return undefined;
    case "options":
      for (const opt of args) {
        const [name, value] = opt.split(":") as [string, string | undefined];
        const n = Number(value);
        if (name === "ndots" && Number.isInteger(n) && n >= 0) out.ndots = clamp(n, 0, 15);
        else if (name === "timeout" && Number.isInteger(n) && n >= 1) out.timeoutMs = clamp(n, 1, 30) * 1000;
        else if (name === "attempts" && Number.isInteger(n) && n >= 1) out.attempts = clamp(n, 1, 5);
      }
      return undefined;
    case "sortlist":
      return undefined; // address sorting: discovery sorts its own answers
    default:
      return "unknown keyword";
  }
}

/** What a read of resolv.conf produced, and where it came from. */
export interface ResolvConfSource {
  settings: ResolverSettings;
  /** The file read, or "the system resolver (no <path>)". */
  origin: string;
}

/**
 * Reads `path` (default /etc/resolv.conf). A file without nameserver lines
 * means 127.0.0.1 (resolv.conf(5)); a missing file means node:dns's servers.
 */
export async function readResolvConf(path = "/etc/resolv.conf"): Promise<ResolvConfSource> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    const servers = dns.getServers().map((s) => splitHostPort(s, 53));
    return {
      settings: { nameservers: servers.slice(0, MAX_NAMESERVERS), search: [], ndots: 1, ignored: [] },
      origin: `the system resolver (no ${path})`,
    };
  }
  const settings = parseResolvConf(text);
  if (settings.nameservers.length === 0) settings.nameservers.push({ host: "127.0.0.1", port: 53 });
  return { settings, origin: path };
}
