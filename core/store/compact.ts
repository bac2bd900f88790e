/**
 * The compact encoding of a small hash or set (Redis' listpack, simplified):
 * one byte string holding every element back to back, stored as an entry's
 * value in the arena, so a small collection costs one chunk and no object.
 *
 * ```
 * blob    = u32 count (little-endian) | element*
 * element = varint length (LEB128) | bytes
 * ```
 *
 * A set's elements are its members; a hash's are field, value, field,
 * value… and `count` is the number of fields. Lookups walk the blob (Redis
 * does the same below its listpack limits, 128 entries by default), and a
 * change rebuilds it through {@link CompactBuilder}. This is also the
 * canonical byte form of every hash and set on the wire (replication) and
 * on disk (snapshots), whatever its encoding in memory.
 */

/** Bytes before the first element. */
export const HEADER = 4;

/** Position of one element inside a blob (reused to avoid allocating per element). */
export interface Elem {
  /** Offset of the element's bytes. */
  start: number;
  /** Length of the element's bytes. */
  len: number;
}

/** Fields (hash) or members (set) in a blob. */
export function countOf(b: Uint8Array): number {
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

/** Reads the element at `off` into `el`; returns the offset after it. Throws RangeError past the end. */
export function readElem(b: Uint8Array, off: number, el: Elem): number {
  let n = 0;
  let shift = 0;
  let o = off;
  for (;;) {
    if (o >= b.length) throw new RangeError("compact collection: truncated length");
    const c = b[o++]!;
    n += (c & 0x7f) * 2 ** shift;
    if (c < 0x80) break;
    shift += 7;
    if (shift > 35) throw new RangeError("compact collection: length too long");
  }
  if (o + n > b.length) throw new RangeError("compact collection: truncated element");
  el.start = o;
  el.len = n;
  return o + n;
}

/** Bytes of a varint holding `n`. */
export function varintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

const scratchEl: Elem = { start: 0, len: 0 };

/**
 * Finds an element equal to `key[ko, ko+kl)` among the elements at
 * positions 0, stride, 2·stride… (stride 2 compares a hash's fields only).
 * Returns the offset where that element's length starts, or -1.
 */
export function findElem(b: Uint8Array, key: Uint8Array, ko: number, kl: number, stride: 1 | 2): number {
  const el = scratchEl;
  let off = HEADER;
  const end = b.length;
  while (off < end) {
    const at = off;
    off = readElem(b, off, el);
    if (el.len === kl) {
      let same = true;
      const s = el.start;
      for (let i = 0; i < kl; i++) {
        if (b[s + i] !== key[ko + i]) {
          same = false;
          break;
        }
      }
      if (same) return at;
    }
    if (stride === 2) off = readElem(b, off, el);
  }
  return -1;
}

/** Offset after the element (or field + value when stride is 2) that starts at `at`. */
export function skipElems(b: Uint8Array, at: number, stride: 1 | 2): number {
  let off = readElem(b, at, scratchEl);
  if (stride === 2) off = readElem(b, off, scratchEl);
  return off;
}

/**
 * Builds a blob in a reusable buffer: copy ranges of the old blob, append
 * new elements, then {@link finish}. The view it returns is valid until the
 * next {@link reset} (the store copies it into the arena right away).
 */
export class CompactBuilder {
  private buf = new Uint8Array(1024);
  private len = HEADER;

  /** Starts a new blob. */
  reset(): this {
    this.len = HEADER;
    return this;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  /** Appends one element (its length, then its bytes). */
  elem(src: Uint8Array, off: number, len: number): this {
    this.room(len + 5);
    let n = len;
    while (n >= 0x80) {
      this.buf[this.len++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.len++] = n;
    if (len <= 16) for (let i = 0; i < len; i++) this.buf[this.len + i] = src[off + i]!;
    else this.buf.set(src.subarray(off, off + len), this.len);
    this.len += len;
    return this;
  }

  /** Appends already-encoded elements: `src[from, to)` of another blob. */
  raw(src: Uint8Array, from: number, to: number): this {
    if (to <= from) return this;
    this.room(to - from);
    this.buf.set(src.subarray(from, to), this.len);
    this.len += to - from;
    return this;
  }

  /** Writes the count and returns the blob (a view into the builder's buffer). */
  finish(count: number): Uint8Array {
    const b = this.buf;
    b[0] = count & 0xff;
    b[1] = (count >>> 8) & 0xff;
    b[2] = (count >>> 16) & 0xff;
    b[3] = (count >>> 24) & 0xff;
    return b.subarray(0, this.len);
  }
}

/**
 * Checks that `b` is a well-formed blob of `count` fields (stride 2) or
 * members (stride 1); returns an error message or null. Used on bytes that
 * come from a peer or a file before they are trusted.
 */
export function validate(b: Uint8Array, stride: 1 | 2): string | null {
  if (b.length < HEADER) return "shorter than its header";
  const count = countOf(b);
  let off = HEADER;
  let seen = 0;
  try {
    while (off < b.length) {
      off = skipElems(b, off, stride);
      seen++;
    }
  } catch (e) {
    return (e as Error).message;
  }
  return seen === count ? null : `header says ${count} elements, found ${seen}`;
}

/** The empty blob. */
export const EMPTY = new Uint8Array(HEADER);
