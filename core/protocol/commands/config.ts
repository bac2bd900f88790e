/**
 * CONFIG GET / CONFIG SET over the settings a node can change while it
 * runs, by their Redis names. A setting shoal fixes at start (port, bind,
 * databases…) is shown by GET and refused by SET with Redis' "can't set
 * immutable config" unless the value is the one it already has; a Redis
 * setting shoal does not have is refused with Redis' unknown-option error.
 * A CONFIG SET of several settings applies all or none.
 */
import { ShoalError } from "../../errors.ts";
import { formatEventFlags, parseEventFlags } from "../../keyspace-events.ts";
import { globMatch } from "../../store/glob.ts";
import type { CommandContext } from "../command.ts";
import type { CommandHost } from "../host.ts";

/** One setting: its current value as CONFIG GET shows it, and how to change it (absent: immutable). */
interface Param {
  name: string;
  /** Other names Redis accepts for it (hash-max-ziplist-entries…). */
  aliases?: string[];
  get(node: CommandHost): string;
  /** Validates and parses `value`; returns the apply step, or throws a message for the client. */
  set?(node: CommandHost, value: string): () => void;
}

const MB = 1024 * 1024;

/** Redis' memtoull: digits with an optional k/kb/m/mb/g/gb unit (k = 1000, kb = 1024). */
export function parseMemory(value: string): number | null {
  const m = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(value.trim());
  if (!m) return null;
  const unit = (m[2] ?? "").toLowerCase();
  const mul = { "": 1, k: 1000, kb: 1024, m: 1e6, mb: MB, g: 1e9, gb: 1024 * MB }[unit]!;
  const n = Number(m[1]) * mul;
  return Number.isSafeInteger(n) ? n : null;
}

function intIn(value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value)) throw "argument couldn't be parsed into an integer";
  const n = Number(value);
  if (n < min || n > max) throw `argument must be between ${min} and ${max} inclusive`;
  return n;
}

function memoryIn(value: string, min: number, max: number): number {
  const n = parseMemory(value);
  if (n === null) throw "argument must be a memory value";
  if (n < min || n > max) throw `argument must be between ${min} and ${max} inclusive`;
  return n;
}

/** An encoding limit of node.encoding. */
function encodingParam(name: string, key: keyof CommandHost["encoding"], aliases: string[] = []): Param {
  return {
    name,
    aliases,
    get: (node) => String(node.encoding[key]),
    set: (node, v) => {
      const n = intIn(v, 0, 2 ** 31 - 1);
      return () => {
        node.encoding[key] = n;
      };
    },
  };
}

/** A setting shoal fixes at start: same value accepted, any other refused. */
const fixed = (name: string, get: (node: CommandHost) => string): Param => ({ name, get });

/** The largest bulk shoal accepts (JS typed arrays and one command's memory). */
const MAX_BULK = 1024 * MB;

const PARAMS: Param[] = [
  {
    name: "maxmemory",
    get: (node) => String(node.memoryLimits.maxmemory),
    set: (node, v) => {
      const n = memoryIn(v, 0, Number.MAX_SAFE_INTEGER);
      return () => node.setMemoryLimits({ maxmemory: n });
    },
  },
  {
    name: "maxmemory-policy",
    get: (node) => node.memoryLimits.policy,
    set: (node, v) => {
      const p = v.toLowerCase();
      if (p !== "noeviction" && p !== "allkeys-lru")
        throw "shoal evicts by approximated LRU over all keys (allkeys-lru) or not at all (noeviction)";
      return () => node.setMemoryLimits({ policy: p });
    },
  },
  {
    name: "maxmemory-clients",
    get: (node) => node.memoryLimits.maxmemoryClients,
    set: (node, v) => {
      let spec: string;
      const pct = /^(\d+)%$/.exec(v.trim());
      if (pct) {
        if (Number(pct[1]) > 100) throw "percentage argument must be less or equal to 100";
        spec = `${Number(pct[1])}%`;
      } else spec = String(memoryIn(v, 0, Number.MAX_SAFE_INTEGER));
      return () => node.setMemoryLimits({ maxmemoryClients: spec });
    },
  },
  {
    name: "notify-keyspace-events",
    get: (node) => formatEventFlags(node.events.flags),
    set: (node, v) => {
      const flags = parseEventFlags(v);
      if (flags === null) throw "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
      return () => {
        node.events.flags = flags;
      };
    },
  },
  encodingParam("hash-max-listpack-entries", "hashMaxListpackEntries", ["hash-max-ziplist-entries"]),
  encodingParam("hash-max-listpack-value", "hashMaxListpackValue", ["hash-max-ziplist-value"]),
  encodingParam("set-max-listpack-entries", "setMaxListpackEntries"),
  encodingParam("set-max-listpack-value", "setMaxListpackValue"),
  encodingParam("set-max-intset-entries", "setMaxIntsetEntries"),
  {
    name: "timeout",
    get: (node) => String(Math.floor(node.config.idleTimeoutMs / 1000)),
    set: (node, v) => {
      const s = intIn(v, 0, 2 ** 31 - 1);
      return () => {
        node.config.idleTimeoutMs = s * 1000;
      };
    },
  },
  {
    name: "maxclients",
    get: (node) => String(node.config.maxClients),
    set: (node, v) => {
      const n = intIn(v, 1, 1_000_000);
      return () => {
        node.config.maxClients = n;
      };
    },
  },
  {
    name: "proto-max-bulk-len",
    get: (node) => String(node.config.maxBulkBytes),
    set: (node, v) => {
      const n = memoryIn(v, MB, MAX_BULK);
      return () => {
        node.config.maxBulkBytes = Math.max(n, node.config.maxKeyBytes);
        node.config.maxValueBytes = n;
      };
    },
  },
  {
    name: "client-query-buffer-limit",
    get: (node) => String(node.config.maxQueryBufferBytes),
    set: (node, v) => {
      const n = memoryIn(v, MB, Number.MAX_SAFE_INTEGER);
      return () => {
        node.config.maxQueryBufferBytes = n;
      };
    },
  },
  fixed("port", (node) => String(node.config.port)),
  fixed("bind", (node) => node.config.bind),
  fixed("databases", () => "1"),
  fixed("daemonize", () => "no"),
  fixed("cluster-enabled", (node) => (node.cluster === null ? "no" : "yes")),
  fixed("requirepass", () => ""),
  // no Redis-style persistence (RDB/AOF): only "off" is the current value
  fixed("save", () => ""),
  fixed("appendonly", () => "no"),
];

const BY_NAME = new Map<string, Param>();
for (const p of PARAMS) {
  BY_NAME.set(p.name, p);
  for (const a of p.aliases ?? []) BY_NAME.set(a, p);
}

const enc = new TextEncoder();

/** CONFIG GET pattern [pattern …]: each setting once, under every matching name (alias included). */
export function configGet(ctx: CommandContext): void {
  const a = ctx.args;
  const out = new Map<string, string>();
  for (let i = 2; i < a.n; i++) {
    const pat = enc.encode(a.lower(i));
    for (const [name, p] of BY_NAME) if (!out.has(name) && globMatch(pat, enc.encode(name), true)) out.set(name, p.get(ctx.node));
  }
  ctx.reply.map(out.size);
  for (const [k, v] of out) {
    ctx.reply.bulkStr(k);
    ctx.reply.bulkStr(v);
  }
}

/** CONFIG SET name value [name value …]: validates every pair first, then applies them all. */
export function configSet(ctx: CommandContext): void {
  const a = ctx.args;
  if ((a.n - 2) % 2 !== 0) throw new ShoalError("ERR", "wrong number of arguments for 'config|set' command");
  const seen = new Set<Param>();
  const steps: (() => void)[] = [];
  const failed = (name: string, why: string): ShoalError =>
    new ShoalError("ERR", `CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
  for (let i = 2; i < a.n; i += 2) {
    const name = a.lower(i);
    const value = a.str(i + 1);
    const p = BY_NAME.get(name);
    if (!p) throw new ShoalError("ERR", `Unknown option or number of arguments for CONFIG SET - '${a.latin1(i)}'`);
    if (seen.has(p)) throw failed(name, "duplicate parameter");
    seen.add(p);
    if (!p.set) {
      if (value === p.get(ctx.node)) continue;
      throw failed(name, "can't set immutable config");
    }
    try {
      steps.push(p.set(ctx.node, value));
    } catch (why) {
      throw failed(name, typeof why === "string" ? why : String(why));
    }
  }
  for (const apply of steps) apply();
  ctx.reply.ok();
}
