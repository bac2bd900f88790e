/**
 * What hash and set commands share: registration in two forms — the Redis
 * command on the default map (`HSET key …`) and the DM.* command on a named
 * map (`DM.HSET map key …`) — SCAN-style option parsing, and size checks.
 */
import { ShoalError, syntaxError, tooLarge } from "../../errors.ts";
import { EventClass } from "../../keyspace-events.ts";
import { globMatch } from "../../store/glob.ts";
import type { MapStore } from "../../store/map-store.ts";
import type { Args } from "../args.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";

/** A collection command body: `m` is the map, `k` the index of the (first) key argument. */
export type CollectionRun = (ctx: CommandContext, m: MapStore, k: number) => void;

/** The map named by args[1] of a DM.* command. */
function namedMap(ctx: CommandContext): MapStore {
  const name = ctx.args.str(1);
  if (name.length === 0) throw new ShoalError("ERR", "map name must not be empty");
  return ctx.node.map(name);
}

/**
 * The Redis command `name` on the default map and `dm.<name>` on the map
 * named in argument 1 (arity and key positions shifted by one).
 */
export function both(
  name: string,
  arity: number,
  flags: string,
  keys: [number, number, number],
  run: CollectionRun,
  /** Key positions that depend on the arguments, given the index `k` of the first key-related argument. */
  keysOf?: (args: Args, k: number) => number[],
): Command[] {
  const dmKeys: [number, number, number] = [keys[0] + 1, keys[1] < 0 ? keys[1] : keys[1] + 1, keys[2]];
  return [
    cmd(name, arity, flags, keys, (ctx) => run(ctx, ctx.node.db, keys[0]), keysOf ? { keyArgs: (a) => keysOf(a, keys[0]) } : {}),
    cmd(
      `dm.${name}`,
      arity < 0 ? arity - 1 : arity + 1,
      flags,
      dmKeys,
      (ctx) => run(ctx, namedMap(ctx), keys[0] + 1),
      keysOf ? { keyArgs: (a) => keysOf(a, keys[0] + 1) } : {},
    ),
  ];
}

/** Rejects a key over max-key-bytes and fields/values (args [from, to)) over max-value-bytes. */
export function checkElems(ctx: CommandContext, k: number, from: number, to: number): void {
  const { maxKeyBytes, maxValueBytes } = ctx.node.config;
  const a = ctx.args;
  if (a.len[k]! > maxKeyBytes) throw tooLarge("key", a.len[k]!, maxKeyBytes);
  for (let i = from; i < to; i++) if (a.len[i]! > maxValueBytes) throw tooLarge("value", a.len[i]!, maxValueBytes);
}

/** Options of HSCAN/SSCAN: `cursor [MATCH pattern] [COUNT n] [NOVALUES]`. */
export interface ScanOptions {
  cursor: number;
  count: number;
  match: Uint8Array | null;
  noValues: boolean;
}

/** Parses a SCAN cursor (unsigned, up to 20 digits). */
export function parseCursor(a: Args, i: number): number {
  const text = a.latin1(i);
  if (!/^\d{1,20}$/.test(text)) throw new ShoalError("ERR", "invalid cursor");
  return Number(text);
}

/** Parses the cursor at `i` and the options after it; `noValues` is accepted only where `allowNoValues`. */
export function scanOptions(a: Args, i: number, allowNoValues: boolean): ScanOptions {
  const o: ScanOptions = { cursor: parseCursor(a, i), count: 10, match: null, noValues: false };
  for (let j = i + 1; j < a.n; j++) {
    if (a.is(j, "count") && j + 1 < a.n) {
      o.count = a.int(++j);
      if (o.count < 1) throw syntaxError();
    } else if (a.is(j, "match") && j + 1 < a.n) {
      const p = a.bytes(++j);
      o.match = p.length === 1 && p[0] === 42 ? null : p.slice();
    } else if (allowNoValues && a.is(j, "novalues")) o.noValues = true;
    else throw syntaxError();
  }
  return o;
}

/** True when `f` passes the MATCH pattern (or there is none). */
export const matches = (o: ScanOptions, f: Uint8Array): boolean => o.match === null || globMatch(o.match, f);

/** Publishes a keyspace event for key args[k] of a write on the default map (named maps have none). */
export function notify(ctx: CommandContext, m: MapStore, cls: number, event: string, k: number): void {
  if (m !== ctx.node.db || !ctx.node.events.wants(cls)) return;
  ctx.node.events.notify(cls, event, ctx.args.bytes(k));
}

/** Creates an empty hash or set at args[k] (known to be absent) and publishes "new". */
export function create(ctx: CommandContext, m: MapStore, k: number, kind: number): number {
  const a = ctx.args;
  const idx = m.createCollection(a.buf, a.off[k]!, a.len[k]!, kind);
  notify(ctx, m, EventClass.newKey, "new", k);
  return idx;
}
