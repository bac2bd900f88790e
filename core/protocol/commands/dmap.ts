import { partitionOf } from "../../cluster/hash.ts";
import { keyFound, keyNotFound, lockNotAcquired, noSuchLock, ShoalError, syntaxError } from "../../errors.ts";
import { parseInt64 } from "../../store/map-store.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";
import { checkSizes, expiryFrom, replyEntry } from "./strings.ts";

/** The map named by args[i] (Olric DMap). */
const mapArg = (ctx: CommandContext, i: number) => {
  const name = ctx.args.str(i);
  if (name.length === 0) throw new ShoalError("ERR", "map name must not be empty");
  return ctx.node.map(name);
};

/** Checks a per-request quorum option (`W n` / `R n`): an integer in [1, 16]; the cluster router acts on it. */
function quorumArg(ctx: CommandContext, i: number, name: string): void {
  if (i >= ctx.args.n) throw new ShoalError("ERR", `${name} expects a value`);
  const n = ctx.args.int(i);
  if (n < 1 || n > 16) throw new ShoalError("ERR", `${name} must be between 1 and 16`);
}

/** DM.PUT dmap key value [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL] [NX | XX] [W n] */
function put(ctx: CommandContext): void {
  const a = ctx.args;
  let unit = "";
  let unitArg = -1;
  let nx = false;
  let xx = false;
  for (let i = 4; i < a.n; i++) {
    const o = a.lower(i);
    if (o === "keepttl" && !unit) unit = o;
    else if ((o === "ex" || o === "px" || o === "exat" || o === "pxat") && !unit) {
      if (i + 1 >= a.n) throw new ShoalError("ERR", `DM.PUT: ${o.toUpperCase()} expects a value`);
      unit = o;
      unitArg = ++i;
    } else if (o === "nx" && !xx) nx = true;
    else if (o === "xx" && !nx) xx = true;
    else if (o === "w") quorumArg(ctx, ++i, "DM.PUT: W");
    else throw syntaxError();
  }
  const at = unit === "keepttl" ? -1 : unit ? expiryFrom(ctx, unit, unitArg, "dm.put") : 0;
  checkSizes(ctx, 2, 3);
  const m = mapArg(ctx, 1);
  if (nx || xx) {
    const exists = m.lookup(a.buf, a.off[2]!, a.len[2]!, false) >= 0;
    if (nx && exists) throw keyFound();
    if (xx && !exists) throw keyNotFound();
  }
  m.setRange(a.buf, a.off[2]!, a.len[2]!, a.buf, a.off[3]!, a.len[3]!, at);
  ctx.reply.ok();
}

/** DM.GET dmap key [RAW] [WITHTTL] [R n] — WITHTTL answers [value, remaining TTL in ms or -1]. A read never creates the map. */
function get(ctx: CommandContext): void {
  const a = ctx.args;
  let withTtl = false;
  for (let i = 3; i < a.n; i++) {
    if (a.is(i, "raw") && i === 3) continue;
    if (a.is(i, "withttl")) withTtl = true;
    else if (a.is(i, "r")) quorumArg(ctx, ++i, "DM.GET: R");
    else throw syntaxError();
  }
  const name = a.str(1);
  if (name.length === 0) throw new ShoalError("ERR", "map name must not be empty");
  const m = ctx.node.findMap(name);
  const idx = m ? m.lookup(a.buf, a.off[2]!, a.len[2]!) : -1;
  if (m === undefined) ctx.node.stats.misses++; // a missing map is a keyspace miss, as the store counts one
  if (idx < 0) throw keyNotFound();
  if (!withTtl) return replyEntry(ctx, m!, idx);
  ctx.reply.arr(2);
  replyEntry(ctx, m!, idx);
  const e = m!.table.expireAt[idx]!;
  ctx.reply.int(e === 0 ? -1 : Math.max(0, Math.round(e - ctx.node.clock.now())));
}

function expire(ctx: CommandContext, ms: boolean): void {
  const a = ctx.args;
  const n = a.int(3);
  if (n <= 0) throw new ShoalError("ERR", `invalid expire time in '${ms ? "dm.pexpire" : "dm.expire"}' command`);
  const m = mapArg(ctx, 1);
  if (!m.expire(a.bytes(2), ms ? n : n * 1000)) throw keyNotFound();
  ctx.reply.ok();
}

function incr(ctx: CommandContext, sign: 1n | -1n): void {
  const a = ctx.args;
  const by = parseInt64(a.bytes(3));
  if (by === null) throw new ShoalError("ERR", "value is not an integer or out of range");
  ctx.reply.int(mapArg(ctx, 1).incrBy(a.bytes(2), by * sign));
}

/** DM.LOCK dmap key deadline_seconds [EX s | PX ms] → token "fencing:hex". */
async function lock(ctx: CommandContext): Promise<void> {
  const a = ctx.args;
  const deadline = a.int(3);
  if (deadline < 0) throw new ShoalError("ERR", "DM.LOCK: deadline must be >= 0 seconds");
  let leaseMs = 0;
  if (a.n > 4) {
    const o = a.lower(4);
    if (a.n !== 6 || (o !== "ex" && o !== "px")) {
      if ((o === "ex" || o === "px") && a.n === 5) throw new ShoalError("ERR", `DM.LOCK: ${o.toUpperCase()} expects a value`);
      throw syntaxError();
    }
    const n = a.int(5);
    if (n <= 0) throw new ShoalError("ERR", "invalid expire time in 'dm.lock' command");
    leaseMs = o === "ex" ? n * 1000 : n;
  }
  const m = mapArg(ctx, 1);
  const key = a.bytes(2).slice();
  // without a lease the lock still expires at the deadline horizon so a crashed holder cannot wedge it forever
  const grant = await m.lock(key, leaseMs > 0 ? leaseMs : Math.max(deadline * 1000, 60_000), deadline * 1000);
  if (!grant) throw lockNotAcquired();
  ctx.reply.bulkStr(grant.token);
}

function scan(ctx: CommandContext): void {
  const a = ctx.args;
  const part = a.intOrNull(1);
  const pc = ctx.node.config.partitionCount;
  if (part === null || part < 0 || part >= pc) throw new ShoalError("ERR", `DM.SCAN: partition id must be an integer 0-${pc - 1}`);
  const name = a.str(2);
  if (name.length === 0) throw new ShoalError("ERR", "map name must not be empty");
  const m = ctx.node.findMap(name); // a read never creates a map
  const cursor = a.intOrNull(3);
  if (cursor === null || cursor < 0) throw new ShoalError("ERR", "invalid cursor");
  let count = 10;
  let match: string | undefined;
  for (let i = 4; i < a.n; i++) {
    const o = a.lower(i);
    if (o === "count" && i + 1 < a.n) {
      count = a.int(++i);
      if (count < 1) throw syntaxError();
    } else if (o === "match" && i + 1 < a.n) match = a.str(++i);
    else if (o === "replica") continue;
    else throw syntaxError();
  }
  const page = m?.scan(cursor, count, match) ?? { cursor: 0, keys: [] };
  const keys = page.keys.filter((k) => partitionOf(k, pc) === part);
  ctx.reply.arr(2);
  ctx.reply.int(page.cursor);
  ctx.reply.arr(keys.length);
  for (const k of keys) ctx.reply.bulk(k);
}

function stats(ctx: CommandContext): void {
  const n = ctx.node;
  const maps: Record<string, { length: number; inuse: number }> = {};
  for (const name of n.mapNames()) {
    const m = n.findMap(name)!;
    maps[name] = { length: m.size(), inuse: m.inuseBytes() };
  }
  const s = n.stats;
  ctx.reply.bulkStr(
    JSON.stringify({
      member: { name: n.config.nodeName, port: n.config.port },
      uptimeSeconds: Math.floor((n.clock.now() - s.startedAtMs) / 1000),
      keys: n.keyCount(),
      memoryBytes: n.memoryBytes(),
      hits: s.hits,
      misses: s.misses,
      evictions: s.evictions,
      expirations: s.expirations,
      connections: { current: s.connectionsCurrent, total: s.connectionsTotal },
      commands: Object.fromEntries(s.commands),
      dmaps: maps,
      cluster: n.clusterView(),
    }),
  );
}

/** Olric's DMap command set on named maps. */
export const dmapCommands: Command[] = [
  cmd("dm.put", -4, "write denyoom", [2, 2, 1], put),
  cmd("dm.get", -3, "readonly fast", [2, 2, 1], get),
  cmd("dm.del", -3, "write", [2, -1, 1], (ctx) => {
    const m = mapArg(ctx, 1);
    let n = 0;
    for (let i = 2; i < ctx.args.n; i++) if (m.delete(ctx.args.bytes(i))) n++;
    ctx.reply.int(n);
  }),
  cmd("dm.expire", 4, "write fast", [2, 2, 1], (ctx) => expire(ctx, false)),
  cmd("dm.pexpire", 4, "write fast", [2, 2, 1], (ctx) => expire(ctx, true)),
  cmd("dm.destroy", 2, "write", [0, 0, 0], (ctx) => {
    ctx.node.destroyMap(ctx.args.str(1));
    ctx.reply.ok();
  }),
  cmd("dm.incr", 4, "write denyoom fast", [2, 2, 1], (ctx) => incr(ctx, 1n)),
  cmd("dm.decr", 4, "write denyoom fast", [2, 2, 1], (ctx) => incr(ctx, -1n)),
  cmd("dm.incrbyfloat", 4, "write denyoom fast", [2, 2, 1], (ctx) => {
    ctx.reply.bulkStr(mapArg(ctx, 1).incrByFloatText(ctx.args.bytes(2), ctx.args.latin1(3)));
  }),
  cmd("dm.getput", 4, "write denyoom", [2, 2, 1], (ctx) => {
    checkSizes(ctx, 2, 3);
    ctx.reply.bulk(mapArg(ctx, 1).getPut(ctx.args.bytes(2), ctx.args.bytes(3)));
  }),
  cmd("dm.lock", -4, "write", [2, 2, 1], lock),
  cmd("dm.unlock", 4, "write", [2, 2, 1], (ctx) => {
    if (!mapArg(ctx, 1).unlock(ctx.args.bytes(2), ctx.args.str(3))) throw noSuchLock();
    ctx.reply.ok();
  }),
  cmd("dm.locklease", 5, "write", [2, 2, 1], (ctx) => {
    const s = ctx.args.int(4);
    if (s <= 0) throw new ShoalError("ERR", "invalid expire time in 'dm.locklease' command");
    if (!mapArg(ctx, 1).lockLease(ctx.args.bytes(2), ctx.args.str(3), s * 1000)) throw noSuchLock();
    ctx.reply.ok();
  }),
  cmd("dm.plocklease", 5, "write", [2, 2, 1], (ctx) => {
    const ms = ctx.args.int(4);
    if (ms <= 0) throw new ShoalError("ERR", "invalid expire time in 'dm.plocklease' command");
    if (!mapArg(ctx, 1).lockLease(ctx.args.bytes(2), ctx.args.str(3), ms)) throw noSuchLock();
    ctx.reply.ok();
  }),
  cmd("dm.scan", -4, "readonly", [0, 0, 0], scan),
  cmd("stats", -1, "", [0, 0, 0], stats),
];
