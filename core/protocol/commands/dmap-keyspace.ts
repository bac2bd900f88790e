/**
 * Keyspace commands on named maps that the HTTP and embedded APIs need and
 * Olric's set lacks (each runs wherever the cluster router sends it):
 *
 *   DM.PTTL map key                     remaining TTL in ms: -2 missing, -1 none
 *   DM.PERSIST map key                  1 when a TTL was removed, else 0
 *   DM.PEXPIREAT map key unix-ms        OK, or KEYNOTFOUND
 *   DM.MAPS                             flat array: name, live keys, name, keys, …
 *   DM.SCANALL map cursor [MATCH p] [COUNT n]   [cursor, keys] over the whole map
 *
 * In a cluster DM.MAPS and DM.SCANALL fan out to every member (router.ts),
 * each member counting or listing only the keys whose partition it owns, so
 * every key is seen once. Reads never create a map.
 */
import { keyNotFound, ShoalError, syntaxError } from "../../errors.ts";
import type { MapStore } from "../../store/map-store.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";

/** The existing map named by args[i], or undefined (reads must not create maps). */
function existingMap(ctx: CommandContext, i: number): MapStore | undefined {
  const name = ctx.args.str(i);
  if (name.length === 0) throw new ShoalError("ERR", "map name must not be empty");
  return ctx.node.findMap(name);
}

/** In a cluster fan-out (or for a Redis Cluster client), the ownership test; otherwise null. */
function ownedFilter(ctx: CommandContext): ((key: Uint8Array) => boolean) | null {
  return ctx.session.ownedOnly || ctx.session.clusterAware ? ctx.node.ownsKey : null;
}

/** Live keys of `m` that `owns` accepts (all live keys without a filter). */
function liveKeys(m: MapStore, owns: ((key: Uint8Array) => boolean) | null, now: number): number {
  if (owns === null) return m.size();
  const t = m.table;
  let n = 0;
  for (let i = 0; i < t.hiWater; i++) {
    if (!t.isLive(i)) continue;
    const e = t.expireAt[i]!;
    if (e !== 0 && e <= now) continue;
    if (owns(t.keyView(i))) n++;
  }
  return n;
}

function maps(ctx: CommandContext): void {
  const owns = ownedFilter(ctx);
  const now = ctx.node.clock.now();
  const names = ctx.node.mapNames();
  ctx.reply.arr(names.length * 2);
  for (const name of names) {
    ctx.reply.bulkStr(name);
    ctx.reply.int(liveKeys(ctx.node.findMap(name)!, owns, now));
  }
}

function scanAll(ctx: CommandContext): void {
  const a = ctx.args;
  const text = a.latin1(2);
  if (!/^\d{1,20}$/.test(text)) throw new ShoalError("ERR", "invalid cursor");
  const cursor = Number(text);
  let count = 10;
  let match: string | undefined;
  for (let i = 3; i < a.n; i++) {
    const o = a.lower(i);
    if (o === "count" && i + 1 < a.n) {
      count = a.int(++i);
      if (count < 1) throw syntaxError();
    } else if (o === "match" && i + 1 < a.n) match = a.str(++i);
    else throw syntaxError();
  }
  const page = existingMap(ctx, 1)?.scan(cursor, count, match) ?? { cursor: 0, keys: [] };
  const owns = ownedFilter(ctx);
  const keys = owns ? page.keys.filter(owns) : page.keys;
  ctx.reply.arr(2);
  ctx.reply.bulkStr(String(page.cursor));
  ctx.reply.arr(keys.length);
  for (const k of keys) ctx.reply.bulk(k);
}

/** The DM.* keyspace commands (see the module doc). */
export const dmapKeyspaceCommands: Command[] = [
  cmd("dm.pttl", 3, "readonly fast", [2, 2, 1], (ctx) => {
    const m = existingMap(ctx, 1);
    ctx.reply.int(m ? m.ttl(ctx.args.bytes(2)) : -2);
  }),
  cmd("dm.persist", 3, "write fast", [2, 2, 1], (ctx) => {
    const m = existingMap(ctx, 1);
    ctx.reply.int(m?.persist(ctx.args.bytes(2)) ? 1 : 0);
  }),
  cmd("dm.pexpireat", 4, "write fast", [2, 2, 1], (ctx) => {
    const at = ctx.args.int(3);
    if (at <= 0) throw new ShoalError("ERR", "invalid expire time in 'dm.pexpireat' command");
    const m = existingMap(ctx, 1);
    if (!m?.expireAt(ctx.args.bytes(2), at)) throw keyNotFound();
    ctx.reply.ok();
  }),
  cmd("dm.maps", 1, "readonly", [0, 0, 0], maps),
  cmd("dm.scanall", -3, "readonly", [0, 0, 0], scanAll),
];
