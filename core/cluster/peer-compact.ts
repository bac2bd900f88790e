/**
 * The compact binary form of the data protocol's hottest pair, `apply` and
 * its `applied` answer: every replicated write travels in one, so they skip
 * msgpack's map encoding. A compact message starts with 0xc1, the one byte
 * msgpack never uses, so a receiver tells the two forms apart by the first
 * byte and still decodes msgpack from older senders.
 *
 * apply (little-endian):   0xc1, u8 kind = 1, u8 flags (1 strict, 2 view, 4 from), u8 0,
 *                          u32 view, u16 from length, from (UTF-8), entry list ({@link packEntries}) to the end
 * applied:                 0xc1, u8 kind = 2, u8 flags (1 suspect), u8 0, u32 taken
 * entries (a pull page):   0xc1, u8 kind = 3, u8 flags (1 suspect, 2 next), u8 0, u32 next entry index,
 *                          u16 next map length, next map (UTF-8), entry list to the end
 */
/** First byte of a compact message (msgpack's "never used" code). */
export const COMPACT = 0xc1;
const APPLY = 1;
const APPLIED = 2;
const ENTRIES = 3;
const NEXT = 2;
const STRICT = 1;
const VIEW = 2;
const FROM = 4;
const SUSPECT = 1;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** The fields of an `apply` besides its entry list. */
export interface ApplyHead {
  from?: string;
  strict?: boolean;
  view?: number;
}

/** Encodes an `apply` whose entry list is already in wire form. */
export function encodeCompactApply(head: ApplyHead, entries: Uint8Array): Uint8Array {
  const from = head.from === undefined ? null : utf8.encode(head.from);
  if (from !== null && from.length > 0xffff) throw new RangeError(`peer protocol: member name of ${from.length} bytes, at most 65535`);
  if (head.view !== undefined && !(Number.isInteger(head.view) && head.view >= 0 && head.view <= 0xffffffff)) {
    throw new RangeError(`peer protocol: view id must be a 32-bit unsigned integer, got ${head.view}`);
  }
  const at = 10 + (from?.length ?? 0);
  const out = new Uint8Array(at + entries.length);
  const dv = new DataView(out.buffer);
  out[0] = COMPACT;
  out[1] = APPLY;
  out[2] = (head.strict ? STRICT : 0) | (head.view !== undefined ? VIEW : 0) | (from !== null ? FROM : 0);
  dv.setUint32(4, head.view ?? 0, true);
  dv.setUint16(8, from?.length ?? 0, true);
  if (from !== null) out.set(from, 10);
  out.set(entries, at);
  return out;
}

/** Decodes a compact `apply`: its head and its entry list (still packed). Throws TypeError on malformed input. */
export function decodeCompactApply(b: Uint8Array): { head: ApplyHead; entries: Uint8Array } {
  if (b.length < 10 || b[0] !== COMPACT || b[1] !== APPLY) throw new TypeError("peer protocol: malformed compact apply");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flags = b[2]!;
  const fromLen = dv.getUint16(8, true);
  if (10 + fromLen > b.length) throw new TypeError("peer protocol: malformed compact apply");
  const head: ApplyHead = { strict: (flags & STRICT) !== 0 };
  if (flags & FROM) head.from = fromUtf8.decode(b.subarray(10, 10 + fromLen));
  if (flags & VIEW) head.view = dv.getUint32(4, true);
  return { head, entries: b.subarray(10 + fromLen) };
}

/** Encodes an `applied` answer. */
export function encodeCompactApplied(taken: number, suspect: boolean): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = COMPACT;
  out[1] = APPLIED;
  out[2] = suspect ? SUSPECT : 0;
  new DataView(out.buffer).setUint32(4, taken, true);
  return out;
}

/** Decodes a compact `applied` answer. Throws TypeError on malformed input. */
export function decodeCompactApplied(b: Uint8Array): { t: "applied"; taken: number; suspect?: boolean } {
  if (b.length !== 8 || b[0] !== COMPACT || b[1] !== APPLIED) throw new TypeError("peer protocol: malformed compact answer");
  const res: { t: "applied"; taken: number; suspect?: boolean } = { t: "applied", taken: new DataView(b.buffer, b.byteOffset, 8).getUint32(4, true) };
  if (b[2]! & SUSPECT) res.suspect = true;
  return res;
}

/** Encodes an `entries` answer (a pull page) whose list is already in wire form; `next` is the cursor to resume after. */
export function encodeCompactEntries(next: { map: string; idx: number } | null, suspect: boolean, entries: Uint8Array): Uint8Array {
  const map = next === null ? null : utf8.encode(next.map);
  if (map !== null && map.length > 0xffff) throw new RangeError(`peer protocol: map name of ${map.length} bytes`);
  const at = 10 + (map?.length ?? 0);
  const out = new Uint8Array(at + entries.length);
  const dv = new DataView(out.buffer);
  out[0] = COMPACT;
  out[1] = ENTRIES;
  out[2] = (suspect ? SUSPECT : 0) | (next !== null ? NEXT : 0);
  dv.setUint32(4, next?.idx ?? 0, true);
  dv.setUint16(8, map?.length ?? 0, true);
  if (map !== null) out.set(map, 10);
  out.set(entries, at);
  return out;
}

/** Decodes a compact `entries` answer: cursor, suspicion and the (still packed) entry list. Throws TypeError on malformed input. */
export function decodeCompactEntries(b: Uint8Array): { next: { map: string; idx: number } | null; suspect: boolean; entries: Uint8Array } {
  if (b.length < 10 || b[0] !== COMPACT || b[1] !== ENTRIES) throw new TypeError("peer protocol: malformed compact entries");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const mapLen = dv.getUint16(8, true);
  if (10 + mapLen > b.length) throw new TypeError("peer protocol: malformed compact entries");
  const next = b[2]! & NEXT ? { map: fromUtf8.decode(b.subarray(10, 10 + mapLen)), idx: dv.getUint32(4, true) } : null;
  return { next, suspect: (b[2]! & SUSPECT) !== 0, entries: b.subarray(10 + mapLen) };
}

/** The kind of a compact message (1 apply, 2 applied, 3 entries). */
export function compactKind(b: Uint8Array): number {
  return b[1] ?? 0;
}

/** Whether `b` is a compact message. */
export function isCompact(b: Uint8Array): boolean {
  return b.length > 0 && b[0] === COMPACT;
}
