/**
 * Hashes and sets inside a {@link MapStore}: the entry of such a key holds
 * either the compact blob (compact.ts) as its value, or, past the encoding
 * limits, an empty blob and a {@link FieldTable} in `store.big` whose
 * chunks share the map's arena. These functions are the only code that
 * knows both encodings; commands see fields and members as byte views.
 *
 * Views returned or passed to callbacks point into the arena or a builder
 * and are valid only until the next write to the map.
 */
import { ShoalError } from "../errors.ts";
import {
  CompactBuilder,
  countOf,
  type Elem,
  EMPTY,
  findElem,
  HEADER,
  readElem,
  skipElems,
  validate,
} from "./compact.ts";
import { FieldTable } from "./field-table.ts";
import { hashBytes } from "./hash.ts";
import type { MapStore } from "./map-store.ts";

/** Kind tags of a value (EntryTable flags, replication, snapshots). */
export const Kind = { String: 0, Hash: 1, Set: 2 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** TYPE's answer per kind. */
export const KIND_NAMES = ["string", "hash", "set"] as const;

/**
 * When a hash or set leaves the compact encoding (Redis' settings of the
 * same names; changed at run time by CONFIG SET). A collection that grew
 * past them stays big, as in Redis.
 */
export interface EncodingLimits {
  hashMaxListpackEntries: number;
  hashMaxListpackValue: number;
  setMaxListpackEntries: number;
  setMaxListpackValue: number;
  /** Sets whose members are all integers stay compact up to this many members. */
  setMaxIntsetEntries: number;
}

/** Redis 7's defaults. */
export const DEFAULT_ENCODING: EncodingLimits = {
  hashMaxListpackEntries: 128,
  hashMaxListpackValue: 64,
  setMaxListpackEntries: 128,
  setMaxListpackValue: 64,
  setMaxIntsetEntries: 512,
};

const builder = new CompactBuilder();
const el: Elem = { start: 0, len: 0 };
const el2: Elem = { start: 0, len: 0 };

const strideOf = (m: MapStore, idx: number): 1 | 2 => (m.table.kind(idx) === Kind.Hash ? 2 : 1);

/** Fields of a hash or members of a set. */
export function size(m: MapStore, idx: number): number {
  const t = m.table;
  return t.isBig(idx) ? m.big.get(idx)!.size : countOf(t.valueView(idx));
}

/** A hash field's value (view), or null. */
export function getField(m: MapStore, idx: number, f: Uint8Array): Uint8Array | null {
  const t = m.table;
  if (t.isBig(idx)) {
    const ft = m.big.get(idx)!;
    const i = ft.find(f, 0, f.length, hashBytes(f, 0, f.length) | 0);
    return i < 0 ? null : ft.valueView(i);
  }
  const b = t.valueView(idx);
  const at = findElem(b, f, 0, f.length, 2);
  if (at < 0) return null;
  readElem(b, readElem(b, at, el), el);
  return b.subarray(el.start, el.start + el.len);
}

/** Whether a set has the member (or a hash the field). */
export function has(m: MapStore, idx: number, f: Uint8Array): boolean {
  const t = m.table;
  if (t.isBig(idx)) return m.big.get(idx)!.find(f, 0, f.length, hashBytes(f, 0, f.length) | 0) >= 0;
  return findElem(t.valueView(idx), f, 0, f.length, strideOf(m, idx)) >= 0;
}

/** Whether a set of `count` members, one `len` bytes long, may stay compact. */
function fitsCompact(m: MapStore, kind: number, count: number, len: number, allInts: () => boolean): boolean {
  const e = m.encoding;
  if (kind === Kind.Hash) return count <= e.hashMaxListpackEntries && len <= e.hashMaxListpackValue;
  if (count <= e.setMaxListpackEntries && len <= e.setMaxListpackValue) return true;
  return count <= e.setMaxIntsetEntries && allInts();
}

/**
 * Sets field → value in a hash, or adds a member to a set (`v` ignored).
 * Returns true when the field or member is new.
 */
export function put(m: MapStore, idx: number, f: Uint8Array, v: Uint8Array): boolean {
  if (m.watcher !== null) m.watcher.before(idx); // a snapshot being written copies the entry first
  const t = m.table;
  const kind = t.kind(idx);
  if (!t.isBig(idx)) {
    const b = t.valueView(idx);
    const count = countOf(b);
    const stride = kind === Kind.Hash ? 2 : 1;
    const at = findElem(b, f, 0, f.length, stride);
    if (at >= 0 && stride === 1) return false;
    const len = Math.max(f.length, stride === 2 ? v.length : 0);
    const n = at >= 0 ? count : count + 1;
    if (fitsCompact(m, kind, n, len, () => isInt(f) && allIntegers(b))) {
      builder.reset();
      if (at >= 0) {
        const end = skipElems(b, at, 2);
        builder.raw(b, HEADER, at).elem(f, 0, f.length).elem(v, 0, v.length).raw(b, end, b.length);
      } else {
        builder.raw(b, HEADER, b.length).elem(f, 0, f.length);
        if (stride === 2) builder.elem(v, 0, v.length);
      }
      const nb = builder.finish(n);
      t.setValue(idx, nb, 0, nb.length);
      return at < 0;
    }
    toBig(m, idx);
  }
  const ft = m.big.get(idx)!;
  const before = ft.metaBytes();
  const h = hashBytes(f, 0, f.length) | 0;
  const i = ft.find(f, 0, f.length, h);
  if (i >= 0) {
    if (ft.withValues) ft.setValue(i, v, 0, v.length);
    return false;
  }
  ft.insert(h, f, 0, f.length, v, 0, v.length);
  m.bigMetaBytes += ft.metaBytes() - before;
  return true;
}

/** Removes a field or member; returns whether it was there. The caller deletes the key once it is empty. */
export function remove(m: MapStore, idx: number, f: Uint8Array): boolean {
  if (m.watcher !== null) m.watcher.before(idx); // a snapshot being written copies the entry first
  const t = m.table;
  if (t.isBig(idx)) {
    const ft = m.big.get(idx)!;
    const i = ft.find(f, 0, f.length, hashBytes(f, 0, f.length) | 0);
    if (i < 0) return false;
    ft.remove(i);
    return true;
  }
  const b = t.valueView(idx);
  const stride = strideOf(m, idx);
  const at = findElem(b, f, 0, f.length, stride);
  if (at < 0) return false;
  const end = skipElems(b, at, stride);
  const nb = builder.reset().raw(b, HEADER, at).raw(b, end, b.length).finish(countOf(b) - 1);
  t.setValue(idx, nb, 0, nb.length);
  return true;
}

/**
 * Calls `fn(field, value)` for every field (value null for a set member),
 * in storage order, until it returns false. The collection must not change
 * meanwhile.
 */
export function forEach(m: MapStore, idx: number, fn: (f: Uint8Array, v: Uint8Array | null) => unknown): void {
  const t = m.table;
  if (t.isBig(idx)) {
    const ft = m.big.get(idx)!;
    for (let i = 0; i < ft.hiWater; i++) {
      if (!ft.isLive(i)) continue;
      if (fn(ft.fieldView(i), ft.withValues ? ft.valueView(i) : null) === false) return;
    }
    return;
  }
  const b = t.valueView(idx);
  const hash = t.kind(idx) === Kind.Hash;
  let off = HEADER;
  while (off < b.length) {
    off = readElem(b, off, el);
    const f = b.subarray(el.start, el.start + el.len);
    let v: Uint8Array | null = null;
    if (hash) {
      off = readElem(b, off, el2);
      v = b.subarray(el2.start, el2.start + el2.len);
    }
    if (fn(f, v) === false) return;
  }
}

/** Copies of every field (and value) as [field, value|null] pairs. */
export function entries(m: MapStore, idx: number): [Uint8Array, Uint8Array | null][] {
  const out: [Uint8Array, Uint8Array | null][] = [];
  forEach(m, idx, (f, v) => {
    out.push([f.slice(), v === null ? null : v.slice()]);
  });
  return out;
}

/** One field chosen uniformly at random: copies of [field, value|null]. `rand(n)` returns an integer in [0, n). */
export function randomEntry(m: MapStore, idx: number, rand: (n: number) => number): [Uint8Array, Uint8Array | null] {
  const t = m.table;
  if (t.isBig(idx)) {
    const ft = m.big.get(idx)!;
    const i = ft.randomIndex(rand);
    return [ft.fieldView(i).slice(), ft.withValues ? ft.valueView(i).slice() : null];
  }
  let k = rand(countOf(t.valueView(idx)));
  let out: [Uint8Array, Uint8Array | null] = [new Uint8Array(0), null];
  forEach(m, idx, (f, v) => {
    if (k-- > 0) return true;
    out = [f.slice(), v === null ? null : v.slice()];
    return false;
  });
  return out;
}

/**
 * A page of a big collection's fields from index `cursor` on (HSCAN/SSCAN):
 * at least `count` live indices are visited unless the end comes first;
 * the next cursor is 0 at the end. A compact collection answers whole.
 */
export function scanPage(
  m: MapStore,
  idx: number,
  cursor: number,
  count: number,
  fn: (f: Uint8Array, v: Uint8Array | null) => void,
): number {
  const t = m.table;
  if (!t.isBig(idx)) {
    forEach(m, idx, fn);
    return 0;
  }
  const ft = m.big.get(idx)!;
  let i = cursor;
  let seen = 0;
  while (i < ft.hiWater && seen < count) {
    if (ft.isLive(i)) {
      seen++;
      fn(ft.fieldView(i), ft.withValues ? ft.valueView(i) : null);
    }
    i++;
  }
  return i >= ft.hiWater ? 0 : i;
}

/** Moves a compact collection into a FieldTable (it grew past the limits). */
function toBig(m: MapStore, idx: number): void {
  const t = m.table;
  const kind = t.kind(idx);
  const b = t.valueView(idx);
  let cap = 16;
  while (cap * 3 < countOf(b) * 4 + 4) cap *= 2;
  const ft = new FieldTable(t.arena, kind === Kind.Hash, cap);
  forEach(m, idx, (f, v) => {
    const value = v ?? EMPTY;
    ft.insert(hashBytes(f, 0, f.length) | 0, f, 0, f.length, value, 0, value.length);
  });
  t.setValue(idx, EMPTY, 0, EMPTY.length);
  t.setKind(idx, kind, true);
  m.big.set(idx, ft);
  m.bigMetaBytes += ft.metaBytes();
}

/** Releases the FieldTable of a big entry (the entry is being removed or overwritten). */
export function dropBig(m: MapStore, idx: number): void {
  const ft = m.big.get(idx);
  if (!ft) return;
  m.bigMetaBytes -= ft.metaBytes();
  ft.freeAll();
  m.big.delete(idx);
}

/** Arena and metadata bytes of a collection's fields (MEMORY USAGE). */
export function fieldBytes(m: MapStore, idx: number): number {
  return m.table.isBig(idx) ? m.big.get(idx)!.bytes() : 0;
}

/** The canonical blob of a hash or set (a copy): what replication and snapshots carry. */
export function exportBlob(m: MapStore, idx: number): Uint8Array {
  const t = m.table;
  if (!t.isBig(idx)) return t.value(idx);
  builder.reset();
  forEach(m, idx, (f, v) => {
    builder.elem(f, 0, f.length);
    if (v !== null) builder.elem(v, 0, v.length);
  });
  return builder.finish(m.big.get(idx)!.size).slice();
}

/**
 * Makes key hold the collection in `blob` (canonical form) with the given
 * expiry, replacing whatever it held; returns the entry index. Throws
 * ShoalError on a malformed blob (bytes from a peer or a file).
 */
export function importBlob(m: MapStore, key: Uint8Array, kind: number, blob: Uint8Array, expireAt: number): number {
  if (kind !== Kind.Hash && kind !== Kind.Set) throw new ShoalError("ERR", `unknown value kind ${kind}`);
  const stride = kind === Kind.Hash ? 2 : 1;
  const bad = validate(blob, stride);
  if (bad !== null) throw new ShoalError("ERR", `malformed ${KIND_NAMES[kind]} value: ${bad}`);
  const idx = m.setRange(key, 0, key.length, EMPTY, 0, EMPTY.length, expireAt);
  fill(m, idx, kind, blob);
  return idx;
}

/**
 * Puts a hash or set read from a snapshot: its canonical `blob`, expiry and
 * version (MapStore.restore's rules: no default TTL, not counted as a
 * change). Returns an error message for a malformed blob (nothing changed),
 * else null.
 */
export function restoreCollection(m: MapStore, kind: number, key: Uint8Array, ko: number, kl: number, blob: Uint8Array, expireAt: number, version: number, now: number): string | null {
  if (kind !== Kind.Hash && kind !== Kind.Set) return `unknown value kind ${kind}`;
  const bad = validate(blob, kind === Kind.Hash ? 2 : 1);
  if (bad !== null) return `malformed ${KIND_NAMES[kind]} value: ${bad}`;
  const idx = m.restore(key, ko, kl, EMPTY, 0, EMPTY.length, expireAt, version, now);
  if (idx >= 0) fill(m, idx, kind, blob);
  return null;
}

/** Makes string entry `idx` (holding an empty value) the collection in a valid canonical `blob`. */
function fill(m: MapStore, idx: number, kind: number, blob: Uint8Array): void {
  const stride = kind === Kind.Hash ? 2 : 1;
  m.table.setKind(idx, kind, false);
  const count = countOf(blob);
  let longest = 0;
  for (let off = HEADER; off < blob.length; ) {
    off = readElem(blob, off, el);
    if (el.len > longest) longest = el.len;
  }
  if (count === 0 || fitsCompact(m, kind, count, longest, () => allIntegers(blob))) {
    m.table.setValue(idx, blob, 0, blob.length);
    return;
  }
  // big: insert element by element (toBig would read the blob from the entry; build the table directly)
  let cap = 16;
  while (cap * 3 < count * 4 + 4) cap *= 2;
  const ft = new FieldTable(m.table.arena, kind === Kind.Hash, cap);
  for (let off = HEADER; off < blob.length; ) {
    off = readElem(blob, off, el);
    let vs = 0;
    let vl = 0;
    if (stride === 2) {
      off = readElem(blob, off, el2);
      vs = el2.start;
      vl = el2.len;
    }
    const h = hashBytes(blob, el.start, el.len) | 0;
    const i = ft.find(blob, el.start, el.len, h);
    if (i >= 0) {
      if (stride === 2) ft.setValue(i, blob, vs, vl);
    } else ft.insert(h, blob, el.start, el.len, blob, vs, vl);
  }
  m.table.setKind(idx, kind, true);
  m.big.set(idx, ft);
  m.bigMetaBytes += ft.metaBytes();
}

/** True when `b` is an integer in Redis' canonical form (what an intset holds). */
function isInt(b: Uint8Array): boolean {
  const n = b.length;
  if (n === 0 || n > 20) return false;
  let i = 0;
  if (b[0] === 45) {
    if (n === 1) return false;
    i = 1;
  }
  if (b[i] === 48) return n === 1;
  for (; i < n; i++) if (b[i]! < 48 || b[i]! > 57) return false;
  if (n >= 19) {
    const v = BigInt(String.fromCharCode(...b));
    return v <= 9223372036854775807n && v >= -9223372036854775808n;
  }
  return true;
}

function allIntegers(b: Uint8Array): boolean {
  for (let off = HEADER; off < b.length; ) {
    off = readElem(b, off, el2);
    if (!isInt(b.subarray(el2.start, el2.start + el2.len))) return false;
  }
  return true;
}

/** Whether a compact set holds only integers (OBJECT ENCODING answers "intset" for it). */
export function isIntSet(m: MapStore, idx: number): boolean {
  return !m.table.isBig(idx) && m.table.kind(idx) === Kind.Set && allIntegers(m.table.valueView(idx));
}
