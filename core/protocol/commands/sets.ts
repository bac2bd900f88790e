/**
 * Set commands (SADD … SSCAN, SINTER/SUNION/SDIFF and their STORE forms,
 * SINTERCARD, SMOVE), on the default map and as DM.S* on named maps.
 * Storage is collection.ts; a set emptied by SREM/SPOP/SMOVE is deleted.
 */
import { notInteger, ShoalError, syntaxError } from "../../errors.ts";
import { EventClass } from "../../keyspace-events.ts";
import * as coll from "../../store/collection.ts";
import { Kind } from "../../store/collection.ts";
import { CompactBuilder } from "../../store/compact.ts";
import { type MapStore, parseInt64 } from "../../store/map-store.ts";
import type { Command, CommandContext } from "../command.ts";
import { both, checkElems, create, notify } from "./collection-cmd.ts";
import { dropIfEmpty, randomElements, scanCollection } from "./hashes.ts";

const S = EventClass.set;
const INT64_MAX = 9223372036854775807n;

/** The set at args[i]: its entry index, -1 when missing; WRONGTYPE when the key holds something else. */
const find = (ctx: CommandContext, m: MapStore, i: number, count = true): number =>
  m.lookupKind(ctx.args.buf, ctx.args.off[i]!, ctx.args.len[i]!, Kind.Set, count);

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

/** Members of a set as copies, keyed by their latin1 form (for set algebra). */
function membersOf(m: MapStore, idx: number): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  coll.forEach(m, idx, (f) => {
    out.set(latin1(f), f.slice());
  });
  return out;
}

type Algebra = "inter" | "union" | "diff";

/**
 * SINTER/SUNION/SDIFF over args[from, to): every key is type-checked first
 * (WRONGTYPE even after a missing one); a missing key is an empty set.
 */
function compute(ctx: CommandContext, m: MapStore, op: Algebra, from: number, to: number, limit = 0): Uint8Array[] {
  const idxs: number[] = [];
  for (let i = from; i < to; i++) idxs.push(find(ctx, m, i));
  if (op === "inter") {
    if (idxs.some((i) => i < 0)) return [];
    // walk the smallest set, probe the others
    const order = [...new Set(idxs)].sort((a, b) => coll.size(m, a) - coll.size(m, b));
    const out: Uint8Array[] = [];
    coll.forEach(m, order[0]!, (f) => {
      for (let j = 1; j < order.length; j++) if (!coll.has(m, order[j]!, f)) return;
      out.push(f.slice());
      if (limit > 0 && out.length >= limit) return false;
    });
    return out;
  }
  if (op === "union") {
    const all = new Map<string, Uint8Array>();
    for (const i of idxs) if (i >= 0) for (const [k, v] of membersOf(m, i)) all.set(k, v);
    return [...all.values()];
  }
  if (idxs[0]! < 0) return [];
  const first = membersOf(m, idxs[0]!);
  for (let j = 1; j < idxs.length && first.size > 0; j++) {
    const i = idxs[j]!;
    if (i < 0) continue;
    if (i === idxs[0]) return [];
    for (const [k, v] of first) if (coll.has(m, i, v)) first.delete(k);
  }
  return [...first.values()];
}

const builder = new CompactBuilder();

/** Makes args[k] hold exactly `members` (deleted when empty); returns the count. */
function storeSet(ctx: CommandContext, m: MapStore, k: number, members: Uint8Array[], event: string): number {
  const a = ctx.args;
  const existing = m.lookup(a.buf, a.off[k]!, a.len[k]!, false);
  if (members.length === 0) {
    if (existing >= 0) {
      m.removeEntry(existing);
      notify(ctx, m, EventClass.generic, "del", k);
    }
    return 0;
  }
  builder.reset();
  for (const f of members) builder.elem(f, 0, f.length);
  const idx = coll.importBlob(m, a.bytes(k), Kind.Set, builder.finish(members.length), 0);
  m.touchWrite(idx);
  notify(ctx, m, S, event, k);
  return members.length;
}

function replySet(ctx: CommandContext, members: Uint8Array[]): void {
  ctx.reply.set(members.length);
  for (const f of members) ctx.reply.bulk(f);
}

function spop(ctx: CommandContext, m: MapStore, k: number): void {
  const a = ctx.args;
  const r = ctx.reply;
  const rand = (n: number): number => ctx.node.rng.int(n);
  if (a.n > k + 2) throw syntaxError();
  if (a.n === k + 1) {
    const idx = find(ctx, m, k, false);
    if (idx < 0) return r.nil();
    const [f] = coll.randomEntry(m, idx, rand);
    coll.remove(m, idx, f);
    notify(ctx, m, S, "spop", k);
    if (!dropIfEmpty(ctx, m, idx, k)) m.touchWrite(idx);
    return r.bulk(f);
  }
  const count = parseInt64(a.bytes(k + 1));
  if (count === null || count < 0n) throw new ShoalError("ERR", "value is out of range, must be positive");
  const idx = find(ctx, m, k, false);
  if (idx < 0 || count === 0n) return r.set(0);
  const size = coll.size(m, idx);
  if (count >= BigInt(size)) {
    const all = coll.entries(m, idx).map(([f]) => f);
    m.removeEntry(idx);
    notify(ctx, m, S, "spop", k);
    notify(ctx, m, EventClass.generic, "del", k);
    return replySet(ctx, all);
  }
  const n = Number(count);
  const popped: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const [f] = coll.randomEntry(m, idx, rand);
    coll.remove(m, idx, f);
    popped.push(f);
  }
  m.touchWrite(idx);
  notify(ctx, m, S, "spop", k);
  replySet(ctx, popped);
}

function srandmember(ctx: CommandContext, m: MapStore, k: number): void {
  const a = ctx.args;
  if (a.n > k + 2) throw syntaxError();
  if (a.n === k + 1) {
    const idx = find(ctx, m, k);
    return ctx.reply.bulk(idx < 0 ? null : coll.randomEntry(m, idx, (n) => ctx.node.rng.int(n))[0]);
  }
  const count = parseInt64(a.bytes(k + 1));
  if (count === null) throw notInteger();
  if (count < -INT64_MAX) throw new ShoalError("ERR", "value is out of range, value must between -9223372036854775807 and 9223372036854775807");
  const idx = find(ctx, m, k);
  if (idx < 0 || count === 0n) return ctx.reply.arr(0);
  randomElements(ctx, m, idx, count, false);
}

function smove(ctx: CommandContext, m: MapStore, k: number): void {
  const a = ctx.args;
  checkElems(ctx, k + 1, k + 2, k + 3);
  const src = find(ctx, m, k, false);
  const dst = find(ctx, m, k + 1, false);
  const member = a.bytes(k + 2);
  if (src < 0 || !coll.has(m, src, member)) return ctx.reply.int(0);
  if (src === dst) return ctx.reply.int(1);
  coll.remove(m, src, member);
  notify(ctx, m, S, "srem", k);
  if (!dropIfEmpty(ctx, m, src, k)) m.touchWrite(src);
  const target = dst >= 0 ? dst : create(ctx, m, k + 1, Kind.Set);
  if (coll.put(m, target, member, member)) {
    // the destination changes only when the member is new there (a WATCH on it must not fire otherwise)
    notify(ctx, m, S, "sadd", k + 1);
    m.touchWrite(target);
  }
  ctx.reply.int(1);
}

/** SINTERCARD numkeys key [key …] [LIMIT limit] */
function sintercard(ctx: CommandContext, m: MapStore, k: number): void {
  const a = ctx.args;
  const numkeys = a.intOrNull(k);
  if (numkeys === null || numkeys <= 0) throw new ShoalError("ERR", "numkeys should be greater than 0");
  if (numkeys > a.n - k - 1) throw new ShoalError("ERR", "Number of keys can't be greater than number of args");
  let limit = 0;
  const rest = k + 1 + numkeys;
  if (a.n > rest) {
    if (a.n !== rest + 2 || !a.is(rest, "limit")) throw syntaxError();
    const l = a.intOrNull(rest + 1);
    if (l === null || l < 0) throw new ShoalError("ERR", "LIMIT can't be negative");
    limit = l;
  }
  ctx.reply.int(compute(ctx, m, "inter", k + 1, rest, limit).length);
}

function algebra(op: Algebra, store: boolean): (ctx: CommandContext, m: MapStore, k: number) => void {
  return (ctx, m, k) => {
    if (!store) return replySet(ctx, compute(ctx, m, op, k, ctx.args.n));
    checkElems(ctx, k, k, k);
    const result = compute(ctx, m, op, k + 1, ctx.args.n);
    ctx.reply.int(storeSet(ctx, m, k, result, `s${op}store`));
  };
}

/** Set commands on the default map, and their DM.* forms on named maps. */
export const setCommands: Command[] = [
  ...both("sadd", -3, "write denyoom fast", [1, 1, 1], (ctx, m, k) => {
    const a = ctx.args;
    checkElems(ctx, k, k + 1, a.n);
    const found = find(ctx, m, k, false);
    const idx = found >= 0 ? found : create(ctx, m, k, Kind.Set);
    let n = 0;
    for (let i = k + 1; i < a.n; i++) if (coll.put(m, idx, a.bytes(i), a.bytes(i))) n++;
    if (n > 0) {
      m.touchWrite(idx);
      notify(ctx, m, S, "sadd", k);
    }
    ctx.reply.int(n);
  }),
  ...both("srem", -3, "write fast", [1, 1, 1], (ctx, m, k) => {
    const a = ctx.args;
    const idx = find(ctx, m, k, false);
    if (idx < 0) return ctx.reply.int(0);
    let n = 0;
    for (let i = k + 1; i < a.n; i++) {
      if (coll.remove(m, idx, a.bytes(i))) n++;
      if (coll.size(m, idx) === 0) break;
    }
    if (n > 0) {
      notify(ctx, m, S, "srem", k);
      if (!dropIfEmpty(ctx, m, idx, k)) m.touchWrite(idx);
    }
    ctx.reply.int(n);
  }),
  ...both("sismember", 3, "readonly fast", [1, 1, 1], (ctx, m, k) => {
    const idx = find(ctx, m, k);
    ctx.reply.int(idx >= 0 && coll.has(m, idx, ctx.args.bytes(k + 1)) ? 1 : 0);
  }),
  ...both("smismember", -3, "readonly fast", [1, 1, 1], (ctx, m, k) => {
    const a = ctx.args;
    const idx = find(ctx, m, k);
    ctx.reply.arr(a.n - k - 1);
    for (let i = k + 1; i < a.n; i++) ctx.reply.int(idx >= 0 && coll.has(m, idx, a.bytes(i)) ? 1 : 0);
  }),
  ...both("smembers", 2, "readonly", [1, 1, 1], (ctx, m, k) => {
    const idx = find(ctx, m, k);
    if (idx < 0) return ctx.reply.set(0);
    ctx.reply.set(coll.size(m, idx));
    coll.forEach(m, idx, (f) => ctx.reply.bulk(f));
  }),
  ...both("scard", 2, "readonly fast", [1, 1, 1], (ctx, m, k) => {
    const idx = find(ctx, m, k);
    ctx.reply.int(idx < 0 ? 0 : coll.size(m, idx));
  }),
  ...both("spop", -2, "write fast", [1, 1, 1], spop),
  ...both("srandmember", -2, "readonly", [1, 1, 1], srandmember),
  ...both("smove", 4, "write fast", [1, 2, 1], smove),
  ...both("sinter", -2, "readonly", [1, -1, 1], algebra("inter", false)),
  ...both("sunion", -2, "readonly", [1, -1, 1], algebra("union", false)),
  ...both("sdiff", -2, "readonly", [1, -1, 1], algebra("diff", false)),
  ...both("sinterstore", -3, "write denyoom", [1, -1, 1], algebra("inter", true)),
  ...both("sunionstore", -3, "write denyoom", [1, -1, 1], algebra("union", true)),
  ...both("sdiffstore", -3, "write denyoom", [1, -1, 1], algebra("diff", true)),
  ...both("sintercard", -3, "readonly", [1, 1, 1], sintercard, (a, k) => {
    const n = a.intOrNull(k);
    return n === null || n <= 0 ? [] : Array.from({ length: Math.min(n, a.n - k - 1) }, (_, i) => k + 1 + i);
  }),
  ...both("sscan", -3, "readonly", [1, 1, 1], (ctx, m, k) => scanCollection(ctx, m, k, Kind.Set)),
];
