/**
 * Whole-key commands: RENAME/RENAMENX, COPY, TOUCH, OBJECT, MEMORY USAGE,
 * DUMP/RESTORE. They work on every kind (string, hash, set); in a cluster
 * the router keeps both keys of RENAME/COPY in one slot (-CROSSSLOT).
 */
import { ShoalError, syntaxError } from "../../errors.ts";
import { EventClass } from "../../keyspace-events.ts";
import { fieldBytes, isIntSet, Kind } from "../../store/collection.ts";
import { hashBytes } from "../../store/hash.ts";
import { parseInt64 } from "../../store/map-store.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";

const find = (ctx: CommandContext, i: number, count = false): number =>
  ctx.node.db.lookup(ctx.args.buf, ctx.args.off[i]!, ctx.args.len[i]!, count);

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function rename(ctx: CommandContext, nx: boolean): void {
  const a = ctx.args;
  const db = ctx.node.db;
  const src = find(ctx, 1);
  if (src < 0) throw new ShoalError("ERR", "no such key");
  if (sameBytes(a.bytes(1), a.bytes(2))) return nx ? ctx.reply.int(0) : ctx.reply.ok();
  if (nx && find(ctx, 2) >= 0) return ctx.reply.int(0);
  const from = a.bytes(1).slice();
  db.moveEntry(src, a.bytes(2));
  ctx.node.events.notify(EventClass.generic, "rename_from", from);
  ctx.node.events.notify(EventClass.generic, "rename_to", a.bytes(2));
  if (nx) ctx.reply.int(1);
  else ctx.reply.ok();
}

/** COPY source destination [DB destination-db] [REPLACE] */
function copy(ctx: CommandContext): void {
  const a = ctx.args;
  let replace = false;
  for (let i = 3; i < a.n; i++) {
    if (a.is(i, "replace")) replace = true;
    else if (a.is(i, "db") && i + 1 < a.n) {
      const db = a.intOrNull(++i);
      if (db === null) throw new ShoalError("ERR", "value is not an integer or out of range");
      if (db !== 0) throw new ShoalError("ERR", "DB index is out of range");
    } else throw syntaxError();
  }
  if (sameBytes(a.bytes(1), a.bytes(2))) throw new ShoalError("ERR", "source and destination objects are the same");
  const db = ctx.node.db;
  const src = find(ctx, 1);
  if (src < 0) return ctx.reply.int(0);
  const dst = find(ctx, 2);
  if (dst >= 0 && !replace) return ctx.reply.int(0);
  const { kind, value } = db.exportValue(src);
  const expireAt = db.table.expireAt[src]!;
  if (dst >= 0) db.removeEntry(dst);
  db.importValue(a.bytes(2), kind, value, expireAt);
  ctx.node.events.notify(EventClass.generic, "copy_to", a.bytes(2));
  ctx.reply.int(1);
}

/** Redis' name for how a value is held (OBJECT ENCODING). */
function encodingOf(ctx: CommandContext, idx: number): string {
  const t = ctx.node.db.table;
  const kind = t.kind(idx);
  if (kind === Kind.String) {
    const v = t.valueView(idx);
    if (v.length <= 20 && parseInt64(v) !== null) return "int";
    return v.length <= 44 ? "embstr" : "raw";
  }
  if (t.isBig(idx)) return "hashtable";
  return kind === Kind.Set && isIntSet(ctx.node.db, idx) ? "intset" : "listpack";
}

const OBJECT_HELP = [
  "OBJECT <subcommand> [<arg> ...]. Subcommands are:",
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key> (LFU policies only: shoal has none).",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key> (always 1: shoal shares no values).",
];

function object(ctx: CommandContext): void {
  const a = ctx.args;
  const sub = a.lower(1);
  if (sub === "help" && a.n === 2) {
    ctx.reply.arr(OBJECT_HELP.length);
    for (const l of OBJECT_HELP) ctx.reply.simple(l);
    return;
  }
  if (!["encoding", "freq", "idletime", "refcount"].includes(sub))
    throw new ShoalError("ERR", `unknown subcommand '${a.latin1(1).slice(0, 128)}'. Try OBJECT HELP.`);
  if (a.n !== 3) throw new ShoalError("ERR", `wrong number of arguments for 'object|${sub}' command`);
  const idx = find(ctx, 2);
  if (idx < 0) return ctx.reply.nil();
  if (sub === "encoding") return ctx.reply.bulkStr(encodingOf(ctx, idx));
  if (sub === "refcount") return ctx.reply.int(1);
  if (sub === "idletime") return ctx.reply.int(Math.floor((ctx.node.clock.now() - ctx.node.db.table.access[idx]!) / 1000));
  throw new ShoalError(
    "ERR",
    "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
  );
}

function memory(ctx: CommandContext): void {
  const a = ctx.args;
  const sub = a.lower(1);
  if (sub === "help" && a.n === 2) {
    const lines = ["MEMORY <subcommand> [<arg> ...]. Subcommands are:", "USAGE <key> [SAMPLES <count>]", "    Return memory in bytes used by <key> and its value."];
    ctx.reply.arr(lines.length);
    for (const l of lines) ctx.reply.simple(l);
    return;
  }
  if (sub !== "usage") throw new ShoalError("ERR", `unknown subcommand '${a.latin1(1).slice(0, 128)}'. Try MEMORY HELP.`);
  if (a.n !== 3 && !(a.n === 5 && a.is(3, "samples"))) {
    if (a.n < 3) throw new ShoalError("ERR", "wrong number of arguments for 'memory|usage' command");
    throw syntaxError();
  }
  if (a.n === 5 && a.intOrNull(4) === null) throw new ShoalError("ERR", "value is not an integer or out of range");
  const db = ctx.node.db;
  const idx = find(ctx, 2);
  if (idx < 0) return ctx.reply.nil();
  // every field is counted (no sampling): the arena knows each chunk's size
  ctx.reply.int(db.table.entryBytes(idx) + fieldBytes(db, idx));
}

/** DUMP payload trailer: format version, magic, then a checksum of everything before it. */
const DUMP_VERSION = 1;
const MAGIC = [0x53, 0x48, 0x4f, 0x41, 0x4c]; // "SHOAL"
const TRAILER = 1 + MAGIC.length + 4;

function dump(ctx: CommandContext): void {
  const db = ctx.node.db;
  const idx = find(ctx, 1, true);
  if (idx < 0) return ctx.reply.nil();
  const { kind, value } = db.exportValue(idx);
  const out = new Uint8Array(1 + value.length + TRAILER);
  out[0] = kind;
  out.set(value, 1);
  let o = 1 + value.length;
  out[o++] = DUMP_VERSION;
  for (const m of MAGIC) out[o++] = m;
  const sum = hashBytes(out, 0, o);
  new DataView(out.buffer).setUint32(o, sum, true);
  ctx.reply.bulk(out);
}

/** RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency] */
function restore(ctx: CommandContext): void {
  const a = ctx.args;
  const ttl = a.intOrNull(2);
  if (ttl === null) throw new ShoalError("ERR", "value is not an integer or out of range");
  if (ttl < 0) throw new ShoalError("ERR", "Invalid TTL value, must be >= 0");
  let replace = false;
  let absTtl = false;
  let idle = -1;
  let freq = -1;
  for (let i = 4; i < a.n; i++) {
    if (a.is(i, "replace")) replace = true;
    else if (a.is(i, "absttl")) absTtl = true;
    else if (a.is(i, "idletime") && i + 1 < a.n && freq < 0) {
      idle = a.intOrNull(++i) ?? -2;
      if (idle < 0) throw new ShoalError("ERR", "Invalid IDLETIME value, must be >= 0");
    } else if (a.is(i, "freq") && i + 1 < a.n && idle < 0) {
      freq = a.intOrNull(++i) ?? -2;
      if (freq < 0 || freq > 255) throw new ShoalError("ERR", "Invalid FREQ value, must be >= 0 and <= 255");
    } else throw syntaxError();
  }
  const p = a.bytes(3);
  const bad = (): ShoalError => new ShoalError("ERR", "DUMP payload version or checksum are wrong");
  if (p.length < 1 + TRAILER) throw bad();
  const body = p.length - 4;
  const sum = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(body, true);
  if (p[body - TRAILER + 4] !== DUMP_VERSION || MAGIC.some((m, i) => p[body - MAGIC.length + i] !== m) || hashBytes(p, 0, body) !== sum)
    throw bad();
  const kind = p[0]!;
  if (kind !== Kind.String && kind !== Kind.Hash && kind !== Kind.Set) throw bad();
  const db = ctx.node.db;
  const existing = find(ctx, 1);
  if (existing >= 0 && !replace) throw new ShoalError("BUSYKEY", "Target key name already exists.");
  const now = ctx.node.clock.now();
  const at = ttl === 0 ? 0 : absTtl ? ttl : now + ttl;
  if (at !== 0 && at <= now) {
    // already expired: nothing to create (an existing key is still replaced, i.e. removed)
    if (existing >= 0) db.removeEntry(existing);
    return ctx.reply.ok();
  }
  const value = p.slice(1, body - TRAILER + 4);
  if (existing >= 0) db.removeEntry(existing);
  const idx = db.importValue(a.bytes(1), kind, value, at);
  if (idle >= 0) db.table.access[idx] = now - idle * 1000;
  ctx.node.events.notify(EventClass.generic, "restore", a.bytes(1));
  ctx.reply.ok();
}

/** Whole-key commands. */
export const keyOpCommands: Command[] = [
  cmd("rename", 3, "write", [1, 2, 1], (ctx) => rename(ctx, false)),
  cmd("renamenx", 3, "write fast", [1, 2, 1], (ctx) => rename(ctx, true)),
  cmd("copy", -3, "write denyoom", [1, 2, 1], copy),
  cmd("touch", -2, "readonly fast", [1, -1, 1], (ctx) => {
    let n = 0;
    for (let i = 1; i < ctx.args.n; i++) if (find(ctx, i, true) >= 0) n++;
    ctx.reply.int(n);
  }),
  cmd("object", -2, "readonly", [2, 2, 1], object),
  cmd("memory", -2, "readonly", [2, 2, 1], memory, { keyArgs: (a) => (a.n > 2 && a.is(1, "usage") ? [2] : []) }),
  cmd("dump", 2, "readonly", [1, 1, 1], dump),
  cmd("restore", -4, "write denyoom", [1, 1, 1], restore),
];
