import { ShoalError, syntaxError } from "../../errors.ts";
import { EventClass } from "../../keyspace-events.ts";
import { KIND_NAMES } from "../../store/collection.ts";
import { globMatch } from "../../store/glob.ts";
import { parseInt64 } from "../../store/map-store.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";

const find = (ctx: CommandContext, i: number): number =>
  ctx.node.db.lookup(ctx.args.buf, ctx.args.off[i]!, ctx.args.len[i]!, false);

function del(ctx: CommandContext): void {
  let n = 0;
  for (let i = 1; i < ctx.args.n; i++) {
    const idx = find(ctx, i);
    if (idx >= 0) {
      ctx.node.db.removeEntry(idx);
      ctx.node.events.notify(EventClass.generic, "del", ctx.args.bytes(i));
      n++;
    }
  }
  ctx.reply.int(n);
}

/** EXPIRE family: `unit` converts the argument to an absolute Unix ms. */
const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;

/**
 * EXPIRE family: the argument in seconds (`seconds`) or ms, relative to now
 * (`relative`) or absolute; Redis' int64 overflow rules decide what is an
 * "invalid expire time". Far-future times are kept as they are (a double).
 */
function expireGeneric(ctx: CommandContext, name: string, seconds: boolean, relative: boolean): void {
  const a = ctx.args;
  let n = parseInt64(a.bytes(2));
  if (n === null) throw new ShoalError("ERR", "value is not an integer or out of range");
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  for (let i = 3; i < a.n; i++) {
    const o = a.lower(i);
    if (o === "nx") nx = true;
    else if (o === "xx") xx = true;
    else if (o === "gt") gt = true;
    else if (o === "lt") lt = true;
    else throw new ShoalError("ERR", `Unsupported option ${a.latin1(i)}`);
  }
  if (nx && (xx || gt || lt)) throw new ShoalError("ERR", "NX and XX, GT or LT options at the same time are not compatible");
  if (gt && lt) throw new ShoalError("ERR", "GT and LT options at the same time are not compatible");
  const now = ctx.node.clock.now();
  const invalid = (): ShoalError => new ShoalError("ERR", `invalid expire time in '${name}' command`);
  if (seconds) {
    if (n > LLONG_MAX / 1000n || n < LLONG_MIN / 1000n) throw invalid();
    n *= 1000n;
  }
  if (relative) {
    if (n > LLONG_MAX - BigInt(Math.floor(now))) throw invalid();
    n += BigInt(Math.floor(now));
  }
  const at = Number(n);
  const db = ctx.node.db;
  const idx = find(ctx, 1);
  if (idx < 0) return ctx.reply.int(0);
  const cur = db.table.expireAt[idx]!;
  if (nx && cur !== 0) return ctx.reply.int(0);
  if (xx && cur === 0) return ctx.reply.int(0);
  if (gt && (cur === 0 || at <= cur)) return ctx.reply.int(0);
  if (lt && cur !== 0 && at >= cur) return ctx.reply.int(0);
  if (at <= now) {
    db.removeEntry(idx);
    ctx.node.events.notify(EventClass.generic, "del", a.bytes(1));
  } else {
    db.setExpire(idx, at);
    ctx.node.events.notify(EventClass.generic, "expire", a.bytes(1));
  }
  ctx.reply.int(1);
}

function ttl(ctx: CommandContext, ms: boolean): void {
  const idx = find(ctx, 1);
  if (idx < 0) return ctx.reply.int(-2);
  const e = ctx.node.db.table.expireAt[idx]!;
  if (e === 0) return ctx.reply.int(-1);
  const left = Math.max(0, e - ctx.node.clock.now());
  ctx.reply.int(ms ? Math.round(left) : Math.round(left / 1000));
}

/** In a cluster, for sessions that count keys on their owner only: the ownership test; otherwise null. */
function ownedFilter(ctx: CommandContext): ((key: Uint8Array) => boolean) | null {
  return ctx.session.ownedOnly || ctx.session.clusterAware ? ctx.node.ownsKey : null;
}

function scan(ctx: CommandContext): void {
  const a = ctx.args;
  const cursorStr = a.latin1(1);
  if (!/^\d+$/.test(cursorStr) || cursorStr.length > 20) throw new ShoalError("ERR", "invalid cursor");
  const cursor = Number(cursorStr);
  let count = 10;
  let match: string | undefined;
  let type: string | undefined;
  for (let i = 2; i < a.n; i++) {
    const o = a.lower(i);
    if (o === "count" && i + 1 < a.n) {
      count = a.int(++i);
      if (count < 1) throw syntaxError();
    } else if (o === "match" && i + 1 < a.n) match = a.str(++i);
    else if (o === "type" && i + 1 < a.n) type = a.lower(++i);
    else throw syntaxError();
  }
  const page = ctx.node.db.scan(cursor, count, match);
  const owns = ownedFilter(ctx);
  const keys = type !== undefined && type !== "string" ? [] : owns ? page.keys.filter(owns) : page.keys;
  ctx.reply.arr(2);
  ctx.reply.bulkStr(String(page.cursor));
  ctx.reply.arr(keys.length);
  for (const k of keys) ctx.reply.bulk(k);
}

/** Keyspace commands on the default map. */
export const keyCommands: Command[] = [
  cmd("del", -2, "write", [1, -1, 1], del),
  cmd("unlink", -2, "write fast", [1, -1, 1], del),
  cmd("exists", -2, "readonly fast", [1, -1, 1], (ctx) => {
    let n = 0;
    for (let i = 1; i < ctx.args.n; i++) if (find(ctx, i) >= 0) n++;
    ctx.reply.int(n);
  }),
  cmd("expire", -3, "write fast", [1, 1, 1], (ctx) => expireGeneric(ctx, "expire", true, true)),
  cmd("pexpire", -3, "write fast", [1, 1, 1], (ctx) => expireGeneric(ctx, "pexpire", false, true)),
  cmd("expireat", -3, "write fast", [1, 1, 1], (ctx) => expireGeneric(ctx, "expireat", true, false)),
  cmd("pexpireat", -3, "write fast", [1, 1, 1], (ctx) => expireGeneric(ctx, "pexpireat", false, false)),
  cmd("ttl", 2, "readonly fast", [1, 1, 1], (ctx) => ttl(ctx, false)),
  cmd("pttl", 2, "readonly fast", [1, 1, 1], (ctx) => ttl(ctx, true)),
  cmd("expiretime", 2, "readonly fast", [1, 1, 1], (ctx) => {
    const idx = find(ctx, 1);
    if (idx < 0) return ctx.reply.int(-2);
    const e = ctx.node.db.table.expireAt[idx]!;
    ctx.reply.int(e === 0 ? -1 : Math.floor(e / 1000));
  }),
  cmd("pexpiretime", 2, "readonly fast", [1, 1, 1], (ctx) => {
    const idx = find(ctx, 1);
    if (idx < 0) return ctx.reply.int(-2);
    const e = ctx.node.db.table.expireAt[idx]!;
    ctx.reply.int(e === 0 ? -1 : Math.floor(e));
  }),
  cmd("persist", 2, "write fast", [1, 1, 1], (ctx) => {
    const idx = find(ctx, 1);
    if (idx < 0 || ctx.node.db.table.expireAt[idx] === 0) return ctx.reply.int(0);
    ctx.node.db.setExpire(idx, 0);
    ctx.node.events.notify(EventClass.generic, "persist", ctx.args.bytes(1));
    ctx.reply.int(1);
  }),
  cmd("type", 2, "readonly fast", [1, 1, 1], (ctx) => {
    const idx = find(ctx, 1);
    ctx.reply.simple(idx < 0 ? "none" : KIND_NAMES[ctx.node.db.table.kind(idx)]!);
  }),
  cmd("scan", -2, "readonly", [0, 0, 0], scan),
  cmd("keys", 2, "readonly", [0, 0, 0], (ctx) => {
    const pat = ctx.args.bytes(1).slice();
    const db = ctx.node.db;
    const t = db.table;
    const now = ctx.node.clock.now();
    const out: Uint8Array[] = [];
    const all = pat.length === 1 && pat[0] === 42;
    const owns = ownedFilter(ctx);
    for (let i = 0; i < t.hiWater; i++) {
      if (!t.isLive(i)) continue;
      const e = t.expireAt[i]!;
      if (e !== 0 && e <= now) continue;
      const k = t.keyView(i);
      if ((all || globMatch(pat, k)) && (!owns || owns(k))) out.push(k.slice());
    }
    ctx.reply.arr(out.length);
    for (const k of out) ctx.reply.bulk(k);
  }),
  cmd("randomkey", 1, "readonly", [0, 0, 0], (ctx) => {
    const t = ctx.node.db.table;
    if (t.size === 0) return ctx.reply.nil();
    for (let tries = 0; tries < 1000; tries++) {
      const i = ctx.node.rng.int(t.hiWater);
      if (t.isLive(i)) return ctx.reply.bulk(t.key(i));
    }
    for (let i = 0; i < t.hiWater; i++) if (t.isLive(i)) return ctx.reply.bulk(t.key(i));
    ctx.reply.nil();
  }),
  cmd("dbsize", 1, "readonly fast", [0, 0, 0], (ctx) => {
    const owns = ownedFilter(ctx);
    if (!owns) return ctx.reply.int(ctx.node.db.size());
    const t = ctx.node.db.table;
    const now = ctx.node.clock.now();
    let n = 0;
    for (let i = 0; i < t.hiWater; i++) {
      if (!t.isLive(i)) continue;
      const e = t.expireAt[i]!;
      if ((e === 0 || e > now) && owns(t.keyView(i))) n++;
    }
    ctx.reply.int(n);
  }),
  cmd("flushdb", -1, "write", [0, 0, 0], (ctx) => {
    if (ctx.args.n > 2 || (ctx.args.n === 2 && !ctx.args.is(1, "async") && !ctx.args.is(1, "sync"))) throw syntaxError();
    ctx.node.db.clear();
    ctx.reply.ok();
  }),
  cmd("flushall", -1, "write", [0, 0, 0], (ctx) => {
    if (ctx.args.n > 2 || (ctx.args.n === 2 && !ctx.args.is(1, "async") && !ctx.args.is(1, "sync"))) throw syntaxError();
    for (const name of ctx.node.mapNames()) ctx.node.destroyMap(name);
    ctx.reply.ok();
  }),
];
