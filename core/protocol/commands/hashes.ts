/**
 * Hash commands (HSET … HSCAN), on the default map and as DM.H* on named
 * maps. Storage is collection.ts; a hash emptied by HDEL is deleted.
 */

import { notFloat, notInteger, ShoalError } from "../../errors.ts";
import { EventClass } from "../../keyspace-events.ts";
import * as coll from "../../store/collection.ts";
import { Kind } from "../../store/collection.ts";
import { addFloatText, type MapStore, parseFloatStrict, parseInt64 } from "../../store/map-store.ts";
import { arityError, type Command, type CommandContext } from "../command.ts";
import { both, checkElems, create, matches, notify, scanOptions } from "./collection-cmd.ts";

const H = EventClass.hash;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The hash at args[k]: its entry index, -1 when missing; WRONGTYPE when the key holds something else. */
const find = (ctx: CommandContext, m: MapStore, k: number, count = true): number =>
  m.lookupKind(ctx.args.buf, ctx.args.off[k]!, ctx.args.len[k]!, Kind.Hash, count);

/** The hash at args[k], created empty when missing. */
function findOrCreate(ctx: CommandContext, m: MapStore, k: number): number {
  const idx = find(ctx, m, k, false);
  return idx >= 0 ? idx : create(ctx, m, k, Kind.Hash);
}

/** HSET/HMSET: sets every field/value pair after the key; returns how many fields were new. */
function setPairs(ctx: CommandContext, m: MapStore, k: number): number {
  const a = ctx.args;
  if ((a.n - k - 1) % 2 !== 0 || a.n - k - 1 < 2) throw new ShoalError("ERR", arityError(a.lower(0)).slice(4));
  checkElems(ctx, k, k + 1, a.n);
  const idx = findOrCreate(ctx, m, k);
  let added = 0;
  for (let i = k + 1; i < a.n; i += 2) if (coll.put(m, idx, a.bytes(i), a.bytes(i + 1))) added++;
  m.touchWrite(idx);
  notify(ctx, m, H, "hset", k);
  return added;
}

function hgetall(ctx: CommandContext, m: MapStore, k: number, keys: boolean, values: boolean): void {
  const idx = find(ctx, m, k);
  const r = ctx.reply;
  if (idx < 0) return keys && values ? r.map(0) : r.arr(0);
  const n = coll.size(m, idx);
  if (keys && values) r.map(n);
  else r.arr(n);
  coll.forEach(m, idx, (f, v) => {
    if (keys) r.bulk(f);
    if (values) r.bulk(v);
  });
}

/** Deletes the key of an emptied hash or set; true when it did. */
export function dropIfEmpty(ctx: CommandContext, m: MapStore, idx: number, k: number): boolean {
  if (coll.size(m, idx) > 0) return false;
  m.removeEntry(idx);
  notify(ctx, m, EventClass.generic, "del", k);
  return true;
}

function hincrby(ctx: CommandContext, m: MapStore, k: number): void {
  const a = ctx.args;
  const by = parseInt64(a.bytes(k + 2));
  if (by === null) throw notInteger();
  checkElems(ctx, k, k + 1, k + 2);
  const idx = find(ctx, m, k, false);
  const cur = idx < 0 ? null : coll.getField(m, idx, a.bytes(k + 1));
  let n = 0n;
  if (cur !== null) {
    const v = parseInt64(cur);
    if (v === null) throw new ShoalError("ERR", "hash value is not an integer");
    n = v;
  }
  const next = n + by;
  if (next > INT64_MAX || next < INT64_MIN) throw new ShoalError("ERR", "increment or decrement would overflow");
  const target = idx >= 0 ? idx : create(ctx, m, k, Kind.Hash);
  coll.put(m, target, a.bytes(k + 1), enc.encode(next.toString()));
  m.touchWrite(target);
  notify(ctx, m, H, "hincrby", k);
  ctx.reply.int(next);
}

function hincrbyfloat(ctx: CommandContext, m: MapStore, k: number): void {
  const a = ctx.args;
  const byText = a.latin1(k + 2);
  const by = parseFloatStrict(byText);
  if (Number.isNaN(by)) throw notFloat();
  if (!Number.isFinite(by)) throw new ShoalError("ERR", "value is NaN or Infinity");
  checkElems(ctx, k, k + 1, k + 2);
  const idx = find(ctx, m, k, false);
  const cur = idx < 0 ? null : coll.getField(m, idx, a.bytes(k + 1));
  const curText = cur === null ? "0" : dec.decode(cur);
  const curNum = parseFloatStrict(curText);
  if (Number.isNaN(curNum) || cur?.includes(0)) throw new ShoalError("ERR", "hash value is not a float");
  const out = Number.isFinite(curNum) ? addFloatText(curText, byText) : null;
  if (out === null) throw new ShoalError("ERR", "increment would produce NaN or Infinity");
  const target = idx >= 0 ? idx : create(ctx, m, k, Kind.Hash);
  coll.put(m, target, a.bytes(k + 1), enc.encode(out));
  m.touchWrite(target);
  notify(ctx, m, H, "hincrbyfloat", k);
  ctx.reply.bulkStr(out);
}

/** HRANDFIELD key [count [WITHVALUES]] (Redis' four code paths collapse to: repeats, all, or a partial shuffle). */
function hrandfield(ctx: CommandContext, m: MapStore, k: number): void {
  const a = ctx.args;
  const r = ctx.reply;
  if (a.n === k + 1) {
    const idx = find(ctx, m, k);
    if (idx < 0) return r.nil();
    return r.bulk(coll.randomEntry(m, idx, (n) => ctx.node.rng.int(n))[0]);
  }
  const withValues = a.n === k + 3 && a.is(k + 2, "withvalues");
  if (a.n > k + 3 || (a.n === k + 3 && !withValues)) throw new ShoalError("ERR", "syntax error");
  const count = parseInt64(a.bytes(k + 1));
  if (count === null) throw notInteger();
  if (count < -INT64_MAX) throw new ShoalError("ERR", "value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  if (withValues && count < -(INT64_MAX / 2n)) throw new ShoalError("ERR", "value is out of range");
  const idx = find(ctx, m, k);
  if (idx < 0 || count === 0n) return r.arr(0);
  randomElements(ctx, m, idx, count, withValues);
}

/**
 * Replies `count` random fields/members (HRANDFIELD, SRANDMEMBER): a
 * negative count may repeat, a positive one gives distinct elements (all of
 * them when count ≥ size). WITHVALUES pairs are arrays of two in RESP3.
 */
export function randomElements(ctx: CommandContext, m: MapStore, idx: number, count: bigint, withValues: boolean): void {
  const r = ctx.reply;
  const rng = ctx.node.rng;
  const size = coll.size(m, idx);
  const pair = (f: Uint8Array, v: Uint8Array | null): void => {
    if (!withValues) return r.bulk(f);
    if (r.proto === 3) r.arr(2);
    r.bulk(f);
    r.bulk(v);
  };
  const header = (n: number): void => r.arr(withValues && r.proto !== 3 ? n * 2 : n);
  if (count < 0n) {
    const n = Number(-count);
    if (n > ctx.node.config.maxMultibulkLen * 16) throw new ShoalError("ERR", `count ${n} is above the limit of ${ctx.node.config.maxMultibulkLen * 16} elements`);
    header(n);
    if (m.table.isBig(idx)) {
      for (let i = 0; i < n; i++) {
        const [f, v] = coll.randomEntry(m, idx, (x) => rng.int(x));
        pair(f, v);
      }
      return;
    }
    const all = coll.entries(m, idx);
    for (let i = 0; i < n; i++) {
      const [f, v] = all[rng.int(all.length)]!;
      pair(f, v);
    }
    return;
  }
  if (count >= BigInt(size)) {
    header(size);
    coll.forEach(m, idx, pair);
    return;
  }
  const n = Number(count);
  const all = coll.entries(m, idx);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(all.length - i);
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  header(n);
  for (let i = 0; i < n; i++) pair(all[i]![0], all[i]![1]);
}

/** HSCAN/SSCAN: `key cursor [MATCH p] [COUNT n] [NOVALUES]`. */
export function scanCollection(ctx: CommandContext, m: MapStore, k: number, kind: number): void {
  const o = scanOptions(ctx.args, k + 1, kind === Kind.Hash);
  const idx = m.lookupKind(ctx.args.buf, ctx.args.off[k]!, ctx.args.len[k]!, kind);
  const out: Uint8Array[] = [];
  const next =
    idx < 0
      ? 0
      : coll.scanPage(m, idx, o.cursor, o.count, (f, v) => {
          if (!matches(o, f)) return;
          out.push(f.slice());
          if (v !== null && !o.noValues) out.push(v.slice());
        });
  const r = ctx.reply;
  r.arr(2);
  r.bulkStr(String(next));
  r.arr(out.length);
  for (const b of out) r.bulk(b);
}

/** Hash commands on the default map, and their DM.* forms on named maps. */
export const hashCommands: Command[] = [
  ...both("hset", -4, "write denyoom fast", [1, 1, 1], (ctx, m, k) => ctx.reply.int(setPairs(ctx, m, k))),
  ...both("hmset", -4, "write denyoom fast", [1, 1, 1], (ctx, m, k) => {
    setPairs(ctx, m, k);
    ctx.reply.ok();
  }),
  ...both("hsetnx", 4, "write denyoom fast", [1, 1, 1], (ctx, m, k) => {
    checkElems(ctx, k, k + 1, k + 3);
    const a = ctx.args;
    const idx = findOrCreate(ctx, m, k);
    if (coll.getField(m, idx, a.bytes(k + 1)) !== null) return ctx.reply.int(0);
    coll.put(m, idx, a.bytes(k + 1), a.bytes(k + 2));
    m.touchWrite(idx);
    notify(ctx, m, H, "hset", k);
    ctx.reply.int(1);
  }),
  ...both("hget", 3, "readonly fast", [1, 1, 1], (ctx, m, k) => {
    const idx = find(ctx, m, k);
    ctx.reply.bulk(idx < 0 ? null : coll.getField(m, idx, ctx.args.bytes(k + 1)));
  }),
  ...both("hmget", -3, "readonly fast", [1, 1, 1], (ctx, m, k) => {
    const a = ctx.args;
    const idx = find(ctx, m, k);
    ctx.reply.arr(a.n - k - 1);
    for (let i = k + 1; i < a.n; i++) ctx.reply.bulk(idx < 0 ? null : coll.getField(m, idx, a.bytes(i)));
  }),
  ...both("hgetall", 2, "readonly", [1, 1, 1], (ctx, m, k) => hgetall(ctx, m, k, true, true)),
  ...both("hkeys", 2, "readonly", [1, 1, 1], (ctx, m, k) => hgetall(ctx, m, k, true, false)),
  ...both("hvals", 2, "readonly", [1, 1, 1], (ctx, m, k) => hgetall(ctx, m, k, false, true)),
  ...both("hdel", -3, "write fast", [1, 1, 1], (ctx, m, k) => {
    const a = ctx.args;
    const idx = find(ctx, m, k, false);
    if (idx < 0) return ctx.reply.int(0);
    let n = 0;
    for (let i = k + 1; i < a.n; i++) {
      if (coll.remove(m, idx, a.bytes(i))) n++;
      if (coll.size(m, idx) === 0) break;
    }
    if (n > 0) {
      notify(ctx, m, H, "hdel", k);
      if (!dropIfEmpty(ctx, m, idx, k)) m.touchWrite(idx);
    }
    ctx.reply.int(n);
  }),
  ...both("hexists", 3, "readonly fast", [1, 1, 1], (ctx, m, k) => {
    const idx = find(ctx, m, k);
    ctx.reply.int(idx >= 0 && coll.has(m, idx, ctx.args.bytes(k + 1)) ? 1 : 0);
  }),
  ...both("hlen", 2, "readonly fast", [1, 1, 1], (ctx, m, k) => {
    const idx = find(ctx, m, k);
    ctx.reply.int(idx < 0 ? 0 : coll.size(m, idx));
  }),
  ...both("hstrlen", 3, "readonly fast", [1, 1, 1], (ctx, m, k) => {
    const idx = find(ctx, m, k);
    ctx.reply.int(idx < 0 ? 0 : (coll.getField(m, idx, ctx.args.bytes(k + 1))?.length ?? 0));
  }),
  ...both("hincrby", 4, "write denyoom fast", [1, 1, 1], hincrby),
  ...both("hincrbyfloat", 4, "write denyoom fast", [1, 1, 1], hincrbyfloat),
  ...both("hrandfield", -2, "readonly", [1, 1, 1], hrandfield),
  ...both("hscan", -3, "readonly", [1, 1, 1], (ctx, m, k) => scanCollection(ctx, m, k, Kind.Hash)),
];
