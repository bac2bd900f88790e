/**
 * Bit commands on string values (SETBIT, GETBIT, BITCOUNT, BITPOS) with
 * Redis' semantics: bit 0 is the most significant bit of the first byte,
 * a missing key is an empty string, SETBIT grows the string with zeros.
 */
import { ShoalError, syntaxError } from "../../errors.ts";
import { EventClass } from "../../keyspace-events.ts";
import type { Args } from "../args.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";
import { writeEvents } from "./strings.ts";

const EMPTY = new Uint8Array(0);

/** The string at args[1] (a view; empty when missing); WRONGTYPE for a hash or set. */
function stringAt(ctx: CommandContext, count = true): Uint8Array {
  const a = ctx.args;
  const db = ctx.node.db;
  const idx = db.lookupString(a.buf, a.off[1]!, a.len[1]!, count);
  return idx < 0 ? EMPTY : db.table.valueView(idx);
}

/** A bit offset: 0 … 2^32 − 1 (Redis' 512 MB string limit). */
function bitOffset(a: Args, i: number): number {
  const n = a.intOrNull(i);
  if (n === null || n < 0 || n >= 2 ** 32) throw new ShoalError("ERR", "bit offset is not an integer or out of range");
  return n;
}

function setbit(ctx: CommandContext): void {
  const a = ctx.args;
  const offset = bitOffset(a, 2);
  const bit = a.intOrNull(3);
  if (bit !== 0 && bit !== 1) throw new ShoalError("ERR", "bit is not an integer or out of range");
  const byte = Math.floor(offset / 8);
  if (byte + 1 > ctx.node.config.maxValueBytes) throw new ShoalError("ERR", "string exceeds maximum allowed size (proto-max-bulk-len)");
  const old = stringAt(ctx, false);
  const mask = 0x80 >> (offset % 8);
  const was = byte < old.length && (old[byte]! & mask) !== 0 ? 1 : 0;
  const v = new Uint8Array(Math.max(old.length, byte + 1));
  v.set(old);
  v[byte] = bit ? v[byte]! | mask : v[byte]! & ~mask;
  const db = ctx.node.db;
  const before = db.table.size;
  db.setRange(a.buf, a.off[1]!, a.len[1]!, v, 0, v.length, -1);
  writeEvents(ctx, EventClass.string, "setbit", 1, before);
  ctx.reply.int(was);
}

function getbit(ctx: CommandContext): void {
  const offset = bitOffset(ctx.args, 2);
  const v = stringAt(ctx);
  const byte = Math.floor(offset / 8);
  ctx.reply.int(byte < v.length && (v[byte]! & (0x80 >> (offset % 8))) !== 0 ? 1 : 0);
}

/** Set bits in a byte. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  return n;
});

/** Normalises a Redis [start, end] range (negative from the end) over `len` units; null when empty. */
function range(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start = Math.max(0, len + start);
  if (end < 0) end = len + end;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return null;
  return [start, end];
}

/** Parses the optional `start end [BYTE|BIT]` (BITCOUNT) or `start [end [BYTE|BIT]]` (BITPOS) at args[from…]. */
function rangeArgs(a: Args, from: number, endOptional: boolean): { start: number; end: number | null; bits: boolean } | null {
  if (a.n <= from) return null;
  if (!endOptional && a.n === from + 1) throw syntaxError();
  const start = a.int(from);
  const end = a.n > from + 1 ? a.int(from + 1) : null;
  let bits = false;
  if (a.n > from + 2) {
    if (a.n > from + 3) throw syntaxError();
    if (a.is(from + 2, "bit")) bits = true;
    else if (!a.is(from + 2, "byte")) throw syntaxError();
  }
  return { start, end, bits };
}

function bitcount(ctx: CommandContext): void {
  const r = rangeArgs(ctx.args, 2, false);
  const v = stringAt(ctx);
  if (r === null) {
    let n = 0;
    for (const b of v) n += POPCOUNT[b]!;
    return ctx.reply.int(n);
  }
  const span = range(r.start, r.end!, r.bits ? v.length * 8 : v.length);
  if (span === null) return ctx.reply.int(0);
  let n = 0;
  if (r.bits) for (let i = span[0]; i <= span[1]; i++) n += (v[i >> 3]! >> (7 - (i & 7))) & 1;
  else for (let i = span[0]; i <= span[1]; i++) n += POPCOUNT[v[i]!]!;
  ctx.reply.int(n);
}

function bitpos(ctx: CommandContext): void {
  const a = ctx.args;
  const bit = a.intOrNull(2);
  if (bit !== 0 && bit !== 1) throw new ShoalError("ERR", "The bit argument must be 1 or 0.");
  const r = rangeArgs(a, 3, true);
  const v = stringAt(ctx);
  if (v.length === 0) return ctx.reply.int(bit === 1 ? -1 : 0);
  const bits = r?.bits ?? false;
  const len = bits ? v.length * 8 : v.length;
  const span = range(r?.start ?? 0, r?.end ?? len - 1, len);
  if (span === null) return ctx.reply.int(-1);
  const [from, to] = bits ? span : [span[0] * 8, span[1] * 8 + 7];
  for (let i = from; i <= to; i++) if (((v[i >> 3]! >> (7 - (i & 7))) & 1) === bit) return ctx.reply.int(i);
  // looking for a 0 with no explicit end: the string is padded with zeros to the right
  ctx.reply.int(bit === 0 && r?.end == null ? to + 1 : -1);
}

/** Bit commands. */
export const bitCommands: Command[] = [
  cmd("setbit", 4, "write denyoom", [1, 1, 1], setbit),
  cmd("getbit", 3, "readonly fast", [1, 1, 1], getbit),
  cmd("bitcount", -2, "readonly", [1, 1, 1], bitcount),
  cmd("bitpos", -3, "readonly", [1, 1, 1], bitpos),
];
