import { ShoalError, syntaxError, tooLarge, wrongType } from "../../errors.ts";
import { EventClass } from "../../keyspace-events.ts";
import type { MapStore } from "../../store/map-store.ts";
import { parseInt64 } from "../../store/map-store.ts";
import type { Args } from "../args.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";

/** Rejects keys and values over the configured limits. */
export function checkSizes(ctx: CommandContext, keyArg: number, valArg: number): void {
  const { maxKeyBytes, maxValueBytes } = ctx.node.config;
  const kl = ctx.args.len[keyArg]!;
  if (kl > maxKeyBytes) throw tooLarge("key", kl, maxKeyBytes);
  if (valArg >= 0) {
    const vl = ctx.args.len[valArg]!;
    if (vl > maxValueBytes) throw tooLarge("value", vl, maxValueBytes);
  }
}

/** Looks up args[i] in the default map as a string: -1 when missing, WRONGTYPE when it holds a hash or set. */
const find = (ctx: CommandContext, i: number, count = true): number =>
  ctx.node.db.lookupString(ctx.args.buf, ctx.args.off[i]!, ctx.args.len[i]!, count);

/** Looks up args[i] in the default map whatever its type (existence checks). */
const exists = (ctx: CommandContext, i: number): boolean =>
  ctx.node.db.lookup(ctx.args.buf, ctx.args.off[i]!, ctx.args.len[i]!, false) >= 0;

/** Writes a stored value as a bulk reply with a single copy (WRONGTYPE for a hash or set). */
export const replyEntry = (ctx: CommandContext, db: MapStore, idx: number): void => {
  if (idx < 0) ctx.reply.nil();
  else {
    if (!db.table.isString(idx)) throw wrongType();
    const r = ctx.reply;
    r.ensure(db.table.encodedLength(idx));
    r.len = db.table.copyEncoded(idx, r.buf, r.len);
  }
};

/**
 * Publishes the keyspace events of a write to args[k]: `event` (class
 * `cls`), "new" when the map grew from `sizeBefore` (a key was created),
 * and "expire" when `expired` (SET EX and friends), in Redis' order.
 */
export function writeEvents(ctx: CommandContext, cls: number, event: string, k: number, sizeBefore: number, expired = false): void {
  const ev = ctx.node.events;
  if (ev.flags === 0) return;
  const key = ctx.args.bytes(k);
  if (ctx.node.db.table.size > sizeBefore) ev.notify(EventClass.newKey, "new", key);
  ev.notify(cls, event, key);
  if (expired) ev.notify(EventClass.generic, "expire", key);
}

/** Stores args[v] under args[k] in the default map (and publishes "set"). */
const store = (ctx: CommandContext, k: number, v: number, expireAt: number): void => {
  const a = ctx.args;
  const db = ctx.node.db;
  const before = db.table.size;
  db.setRange(a.buf, a.off[k]!, a.len[k]!, a.buf, a.off[v]!, a.len[v]!, expireAt);
  if (ctx.node.events.flags !== 0) writeEvents(ctx, EventClass.string, "set", k, before, expireAt > 0);
};

/** Runs a write on args[1] and publishes `event` for it (with "new" when it created the key). */
function withEvent<T>(ctx: CommandContext, event: string, write: () => T): T {
  const before = ctx.node.db.table.size;
  const r = write();
  writeEvents(ctx, EventClass.string, event, 1, before);
  return r;
}

/** Parses an EX/PX/EXAT/PXAT value into an absolute Unix ms; throws Redis' errors. */
export function expiryFrom(ctx: CommandContext, unit: string, i: number, command: string): number {
  const n = ctx.args.int(i);
  if (n <= 0) throw new ShoalError("ERR", `invalid expire time in '${command}' command`);
  const now = ctx.node.clock.now();
  const at = unit === "ex" ? now + n * 1000 : unit === "px" ? now + n : unit === "exat" ? n * 1000 : n;
  if (!Number.isSafeInteger(Math.floor(at))) throw new ShoalError("ERR", `invalid expire time in '${command}' command`);
  return at;
}

function setCommand(ctx: CommandContext): void {
  const a = ctx.args;
  if (a.n === 3) {
    checkSizes(ctx, 1, 2);
    store(ctx, 1, 2, 0);
    ctx.reply.ok();
    return;
  }
  let nx = false;
  let xx = false;
  let get = false;
  let keep = false;
  let unit = "";
  let unitArg = -1;
  for (let i = 3; i < a.n; i++) {
    const o = a.lower(i);
    if (o === "nx" && !xx) nx = true;
    else if (o === "xx" && !nx) xx = true;
    else if (o === "get") get = true;
    else if (o === "keepttl" && !unit) keep = true;
    else if ((o === "ex" || o === "px" || o === "exat" || o === "pxat") && (!unit || unit === o) && !keep && i + 1 < a.n) {
      unit = o;
      unitArg = ++i;
    } else throw syntaxError();
  }
  const at = unit ? expiryFrom(ctx, unit, unitArg, "set") : keep ? -1 : 0;
  checkSizes(ctx, 1, 2);
  const db = ctx.node.db;
  const idx = get ? find(ctx, 1, false) : db.lookup(a.buf, a.off[1]!, a.len[1]!, false);
  if (get) {
    if (idx < 0) ctx.reply.nil();
    else ctx.reply.bulk(db.table.value(idx));
  }
  if ((nx && idx >= 0) || (xx && idx < 0)) {
    if (!get) ctx.reply.nil();
    return;
  }
  store(ctx, 1, 2, at);
  if (!get) ctx.reply.ok();
}

function incrBy(ctx: CommandContext, by: bigint | number): void {
  const a = ctx.args;
  ctx.reply.int(withEvent(ctx, "incrby", () => ctx.node.db.incrBy(a.bytes(1), by)));
}

const int64Arg = (a: Args, i: number): bigint => {
  const v = parseInt64(a.bytes(i));
  if (v === null) throw new ShoalError("ERR", "value is not an integer or out of range");
  return v;
};

function getex(ctx: CommandContext): void {
  const a = ctx.args;
  let unit = "";
  let unitArg = -1;
  let persist = false;
  for (let i = 2; i < a.n; i++) {
    const o = a.lower(i);
    if ((o === "ex" || o === "px" || o === "exat" || o === "pxat") && (!unit || unit === o) && !persist && i + 1 < a.n) {
      unit = o;
      unitArg = ++i;
    } else if (o === "persist" && !unit && !persist) persist = true;
    else throw syntaxError();
  }
  const at = unit ? expiryFrom(ctx, unit, unitArg, "getex") : 0;
  const db = ctx.node.db;
  const idx = find(ctx, 1);
  if (idx < 0) return ctx.reply.nil();
  ctx.reply.raw(db.table.encodedView(idx));
  const ev = ctx.node.events;
  if (unit) {
    if (at <= ctx.node.clock.now()) {
      db.removeEntry(idx);
      ev.notify(EventClass.generic, "del", a.bytes(1));
    } else {
      db.setExpire(idx, at);
      ev.notify(EventClass.generic, "expire", a.bytes(1));
    }
  } else if (persist && db.table.expireAt[idx] !== 0) {
    db.setExpire(idx, 0);
    ev.notify(EventClass.generic, "persist", a.bytes(1));
  }
}

function getrange(ctx: CommandContext): void {
  let start = ctx.args.int(2);
  let end = ctx.args.int(3);
  const idx = find(ctx, 1);
  if (idx < 0) return ctx.reply.bulk(new Uint8Array(0));
  const v = ctx.node.db.table.valueView(idx);
  const n = v.length;
  if (start < 0 && end < 0 && start > end) return ctx.reply.bulk(new Uint8Array(0));
  if (start < 0) start = n + start;
  if (end < 0) end = n + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= n) end = n - 1;
  if (start > end || n === 0) return ctx.reply.bulk(new Uint8Array(0));
  ctx.reply.bulk(v.slice(start, end + 1));
}

/** GET/SET family on the default map. */
export const stringCommands: Command[] = [
  cmd("get", 2, "readonly fast", [1, 1, 1], (ctx) => replyEntry(ctx, ctx.node.db, find(ctx, 1))),
  cmd("set", -3, "write denyoom", [1, 1, 1], setCommand),
  cmd("setnx", 3, "write denyoom fast", [1, 1, 1], (ctx) => {
    checkSizes(ctx, 1, 2);
    if (exists(ctx, 1)) return ctx.reply.int(0);
    store(ctx, 1, 2, 0);
    ctx.reply.int(1);
  }),
  cmd("setex", 4, "write denyoom", [1, 1, 1], (ctx) => {
    const at = expiryFrom(ctx, "ex", 2, "setex");
    checkSizes(ctx, 1, 3);
    store(ctx, 1, 3, at);
    ctx.reply.ok();
  }),
  cmd("psetex", 4, "write denyoom", [1, 1, 1], (ctx) => {
    const at = expiryFrom(ctx, "px", 2, "psetex");
    checkSizes(ctx, 1, 3);
    store(ctx, 1, 3, at);
    ctx.reply.ok();
  }),
  cmd("getset", 3, "write denyoom fast", [1, 1, 1], (ctx) => {
    checkSizes(ctx, 1, 2);
    const db = ctx.node.db;
    const idx = find(ctx, 1);
    ctx.reply.bulk(idx < 0 ? null : db.table.value(idx));
    store(ctx, 1, 2, 0);
  }),
  cmd("getdel", 2, "write fast", [1, 1, 1], (ctx) => {
    const db = ctx.node.db;
    const idx = find(ctx, 1);
    replyEntry(ctx, db, idx);
    if (idx >= 0) {
      db.removeEntry(idx);
      ctx.node.events.notify(EventClass.generic, "del", ctx.args.bytes(1));
    }
  }),
  cmd("getex", -2, "write fast", [1, 1, 1], getex),
  cmd("mget", -2, "readonly fast", [1, -1, 1], (ctx) => {
    const a = ctx.args;
    const db = ctx.node.db;
    ctx.reply.arr(a.n - 1);
    for (let i = 1; i < a.n; i++) {
      const idx = db.lookup(a.buf, a.off[i]!, a.len[i]!);
      replyEntry(ctx, db, idx >= 0 && !db.table.isString(idx) ? -1 : idx); // MGET answers nil for a hash or set
    }
  }),
  cmd("mset", -3, "write denyoom", [1, -1, 2], (ctx) => {
    if (ctx.args.n % 2 === 0) throw new ShoalError("ERR", "wrong number of arguments for 'mset' command");
    for (let i = 1; i < ctx.args.n; i += 2) checkSizes(ctx, i, i + 1);
    for (let i = 1; i < ctx.args.n; i += 2) store(ctx, i, i + 1, 0);
    ctx.reply.ok();
  }),
  cmd("msetnx", -3, "write denyoom", [1, -1, 2], (ctx) => {
    if (ctx.args.n % 2 === 0) throw new ShoalError("ERR", "wrong number of arguments for 'msetnx' command");
    for (let i = 1; i < ctx.args.n; i += 2) checkSizes(ctx, i, i + 1);
    for (let i = 1; i < ctx.args.n; i += 2) if (exists(ctx, i)) return ctx.reply.int(0);
    for (let i = 1; i < ctx.args.n; i += 2) store(ctx, i, i + 1, 0);
    ctx.reply.int(1);
  }),
  cmd("incr", 2, "write denyoom fast", [1, 1, 1], (ctx) => incrBy(ctx, 1n)),
  cmd("decr", 2, "write denyoom fast", [1, 1, 1], (ctx) => incrBy(ctx, -1n)),
  cmd("incrby", 3, "write denyoom fast", [1, 1, 1], (ctx) => incrBy(ctx, int64Arg(ctx.args, 2))),
  cmd("decrby", 3, "write denyoom fast", [1, 1, 1], (ctx) => {
    const by = int64Arg(ctx.args, 2);
    if (by === -9223372036854775808n) throw new ShoalError("ERR", "decrement would overflow");
    incrBy(ctx, -by);
  }),
  cmd("incrbyfloat", 3, "write denyoom fast", [1, 1, 1], (ctx) => {
    ctx.reply.bulkStr(withEvent(ctx, "incrbyfloat", () => ctx.node.db.incrByFloatText(ctx.args.bytes(1), ctx.args.latin1(2))));
  }),
  cmd("append", 3, "write denyoom fast", [1, 1, 1], (ctx) => {
    const db = ctx.node.db;
    const idx = find(ctx, 1, false);
    const add = ctx.args.bytes(2);
    const old = idx < 0 ? new Uint8Array(0) : db.table.valueView(idx);
    const total = old.length + add.length;
    if (total > ctx.node.config.maxValueBytes) throw new ShoalError("ERR", "string exceeds maximum allowed size (proto-max-bulk-len)");
    const v = new Uint8Array(total);
    v.set(old);
    v.set(add, old.length);
    const k = ctx.args.bytes(1);
    withEvent(ctx, "append", () => db.setRange(k, 0, k.length, v, 0, v.length, -1));
    ctx.reply.int(total);
  }),
  cmd("strlen", 2, "readonly fast", [1, 1, 1], (ctx) => {
    const idx = find(ctx, 1);
    ctx.reply.int(idx < 0 ? 0 : ctx.node.db.table.valLen[idx]!);
  }),
  cmd("getrange", 4, "readonly", [1, 1, 1], getrange),
  cmd("substr", 4, "readonly", [1, 1, 1], getrange),
  cmd("setrange", 4, "write denyoom", [1, 1, 1], (ctx) => {
    const off = ctx.args.int(2);
    if (off < 0) throw new ShoalError("ERR", "offset is out of range");
    const add = ctx.args.bytes(3);
    if (off + add.length > ctx.node.config.maxValueBytes) throw new ShoalError("ERR", "string exceeds maximum allowed size (proto-max-bulk-len)");
    const db = ctx.node.db;
    const idx = find(ctx, 1, false);
    const old = idx < 0 ? new Uint8Array(0) : db.table.valueView(idx);
    if (add.length === 0) return ctx.reply.int(old.length);
    const v = new Uint8Array(Math.max(old.length, off + add.length));
    v.set(old);
    v.set(add, off);
    const k = ctx.args.bytes(1);
    withEvent(ctx, "setrange", () => db.setRange(k, 0, k.length, v, 0, v.length, -1));
    ctx.reply.int(v.length);
  }),
];

