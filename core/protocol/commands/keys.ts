import { ShoalError, syntaxError } from "../../errors.ts";
import { EventClass } from "../../keyspace-events.ts";
import { KIND_NAMES } from "../../store/collection.ts";
import { globMatch } from "../../store/glob.ts";
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
function expireGeneric(ctx: CommandContext, name: string, toAt: (n: number, now: number) => number): void {
  const a = ctx.args;
  const n = a.int(2);
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
  const at = toAt(n, now);
  if (!Number.isSafeInteger(at) || Math.abs(n) > 9.2e15)
    throw new ShoalError("ERR", `invalid expire time in '${name}' command`);
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
  cmd("expire", -3, "write fast", [1, 1, 1], (ctx) => expireGeneric(ctx, "expire", (n, now) => now + n * 1000)),
  cmd("pexpire", -3, "write fast", [1, 1, 1], (ctx) => expireGeneric(ctx, "pexpire", (n, now) => now + n)),
  cmd("expireat", -3, "write fast", [1, 1, 1], (ctx) => expireGeneric(ctx, "expireat", (n) => n * 1000)),
  cmd("pexpireat", -3, "write fast", [1, 1, 1], (ctx) => expireGeneric(ctx, "pexpireat", (n) => n)),
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
