import { SlabArena } from "./arena.ts";

/** Copies src[so, so+n) to dst at `at` without a view for small copies. */
function copy(dst: Uint8Array, at: number, src: Uint8Array, so: number, n: number): void {
  if (n <= 24) for (let i = 0; i < n; i++) dst[at + i] = src[so + i]!;
  else dst.set(src.subarray(so, so + n), at);
}

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/**
 * The fields of one big hash, or the members of one big set (past the
 * compact limits): an open-addressing table like {@link EntryTable} but
 * with only what a field needs (hash, arena ref, lengths), its chunks in
 * the owning map's arena. A hash field's chunk is `field | $<len>\r\n |
 * value | \r\n`, so HGET replies with one copy; a set member's is just the
 * member.
 *
 * Indices are stable for a field's life, so a cursor that walks them in
 * order (HSCAN/SSCAN) returns every field present from start to end.
 */
export class FieldTable {
  private slots: Int32Array;
  private mask: number;
  private capacity: number;
  private freeIdx: number[] = [];
  /** One past the highest index ever used. */
  hiWater = 0;
  /** Live fields. */
  size = 0;
  hash: Int32Array;
  ref: Float64Array;
  keyLen: Uint32Array;
  /** Value length; -1 marks a free index. */
  valLen: Int32Array;
  hdrLen: Uint8Array;

  constructor(
    readonly arena: SlabArena,
    /** Hash (true: a value per field) or set (false). */
    readonly withValues: boolean,
    initial = 16,
  ) {
    this.capacity = initial;
    this.hash = new Int32Array(initial);
    this.ref = new Float64Array(initial);
    this.keyLen = new Uint32Array(initial);
    this.valLen = new Int32Array(initial).fill(-1);
    this.hdrLen = new Uint8Array(initial);
    this.slots = new Int32Array(initial * 4);
    this.mask = initial * 2 - 1;
  }

  /** Bytes of metadata per index (hash, ref, lengths). */
  static readonly META_BYTES = 4 + 8 + 4 + 4 + 1;

  /** Bytes held by metadata arrays and slots. */
  metaBytes(): number {
    return this.capacity * FieldTable.META_BYTES + this.slots.length * 4;
  }

  isLive(idx: number): boolean {
    return idx < this.hiWater && this.valLen[idx]! >= 0;
  }

  /** Index of the field `buf[off, off+len)` with hash `h`, or -1. */
  find(buf: Uint8Array, off: number, len: number, h: number): number {
    const slots = this.slots;
    let s = h & this.mask;
    for (;;) {
      const v = slots[2 * s]!;
      if (v === 0) return -1;
      if (slots[2 * s + 1] === h) {
        const idx = v - 1;
        if (this.keyLen[idx] === len && this.keyEquals(idx, buf, off, len)) return idx;
      }
      s = (s + 1) & this.mask;
    }
  }

  private keyEquals(idx: number, buf: Uint8Array, off: number, len: number): boolean {
    const r = this.ref[idx]!;
    const page = this.arena.bufferOf(r);
    const p = this.arena.offsetOf(r);
    for (let i = 0; i < len; i++) if (page[p + i] !== buf[off + i]) return false;
    return true;
  }

  private itemSize(kLen: number, vLen: number): number {
    return this.withValues ? kLen + digits(vLen) + 3 + vLen + 2 : kLen;
  }

  /** Adds a field known to be absent; returns its index. */
  insert(h: number, kb: Uint8Array, ko: number, kl: number, vb: Uint8Array, vo: number, vl: number): number {
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.rehash((this.mask + 1) * 2);
    let idx = this.freeIdx.pop();
    if (idx === undefined) {
      if (this.hiWater === this.capacity) this.grow();
      idx = this.hiWater++;
    }
    if (!this.withValues) vl = 0;
    const r = this.arena.alloc(Math.max(1, this.itemSize(kl, vl)));
    this.ref[idx] = r;
    this.hash[idx] = h;
    this.keyLen[idx] = kl;
    const page = this.arena.bufferOf(r);
    const p = this.arena.offsetOf(r);
    copy(page, p, kb, ko, kl);
    this.writeValue(idx, page, p + kl, vb, vo, vl);
    let s = h & this.mask;
    while (this.slots[2 * s] !== 0) s = (s + 1) & this.mask;
    this.slots[2 * s] = idx + 1;
    this.slots[2 * s + 1] = h;
    this.size++;
    return idx;
  }

  private writeValue(idx: number, page: Uint8Array, at: number, vb: Uint8Array, vo: number, vl: number): void {
    this.valLen[idx] = vl;
    if (!this.withValues) return;
    page[at] = 36; // $
    let o = at + 1;
    const d = digits(vl);
    let n = vl;
    for (let i = d - 1; i >= 0; i--) {
      page[o + i] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
    o += d;
    page[o++] = 13;
    page[o++] = 10;
    this.hdrLen[idx] = o - at;
    copy(page, o, vb, vo, vl);
    page[o + vl] = 13;
    page[o + vl + 1] = 10;
  }

  /** Replaces a hash field's value, reusing its chunk when the size class allows. */
  setValue(idx: number, vb: Uint8Array, vo: number, vl: number): void {
    const kl = this.keyLen[idx]!;
    const oldSize = this.itemSize(kl, this.valLen[idx]!);
    const newSize = this.itemSize(kl, vl);
    let r = this.ref[idx]!;
    if (!(r >= 0 && SlabArena.sameClass(oldSize, newSize))) {
      const nr = this.arena.alloc(newSize);
      copy(this.arena.bufferOf(nr), this.arena.offsetOf(nr), this.arena.bufferOf(r), this.arena.offsetOf(r), kl);
      this.arena.free(r, oldSize);
      this.ref[idx] = r = nr;
    }
    this.writeValue(idx, this.arena.bufferOf(r), this.arena.offsetOf(r) + kl, vb, vo, vl);
  }

  /** Removes a live field. */
  remove(idx: number): void {
    const h = this.hash[idx]!;
    const slots = this.slots;
    let s = h & this.mask;
    while (slots[2 * s] !== idx + 1) s = (s + 1) & this.mask;
    let hole = s;
    let j = (s + 1) & this.mask;
    for (;;) {
      const v = slots[2 * j]!;
      if (v === 0) break;
      const hj = slots[2 * j + 1]!;
      const dist = (j - (hj & this.mask)) & this.mask;
      if (dist >= ((j - hole) & this.mask)) {
        slots[2 * hole] = v;
        slots[2 * hole + 1] = hj;
        hole = j;
      }
      j = (j + 1) & this.mask;
    }
    slots[2 * hole] = 0;
    this.arena.free(this.ref[idx]!, Math.max(1, this.itemSize(this.keyLen[idx]!, this.valLen[idx]!)));
    this.valLen[idx] = -1;
    this.freeIdx.push(idx);
    this.size--;
  }

  /** Returns every chunk to the arena (the collection is going away). */
  freeAll(): void {
    for (let i = 0; i < this.hiWater; i++) {
      if (this.valLen[i]! >= 0) this.arena.free(this.ref[i]!, Math.max(1, this.itemSize(this.keyLen[i]!, this.valLen[i]!)));
      this.valLen[i] = -1;
    }
    this.size = 0;
  }

  /** Arena bytes of live chunks plus metadata (MEMORY USAGE). */
  bytes(): number {
    let n = this.metaBytes();
    for (let i = 0; i < this.hiWater; i++)
      if (this.valLen[i]! >= 0) n += SlabArena.chunkSize(Math.max(1, this.itemSize(this.keyLen[i]!, this.valLen[i]!)));
    return n;
  }

  /** View of a field's bytes; valid until the next write. */
  fieldView(idx: number): Uint8Array {
    const r = this.ref[idx]!;
    const o = this.arena.offsetOf(r);
    return this.arena.bufferOf(r).subarray(o, o + this.keyLen[idx]!);
  }

  /** View of a hash field's value; valid until the next write. */
  valueView(idx: number): Uint8Array {
    const r = this.ref[idx]!;
    const o = this.arena.offsetOf(r) + this.keyLen[idx]! + this.hdrLen[idx]!;
    return this.arena.bufferOf(r).subarray(o, o + this.valLen[idx]!);
  }

  /** View of a hash field's value as a RESP bulk (`$n\r\n…\r\n`); valid until the next write. */
  encodedValueView(idx: number): Uint8Array {
    const r = this.ref[idx]!;
    const o = this.arena.offsetOf(r) + this.keyLen[idx]!;
    return this.arena.bufferOf(r).subarray(o, o + this.hdrLen[idx]! + this.valLen[idx]! + 2);
  }

  /** A random live index (uniform over live fields), or -1 when empty. `rand(n)` returns an integer in [0, n). */
  randomIndex(rand: (n: number) => number): number {
    if (this.size === 0) return -1;
    // sparse after many deletes: walk from a random start instead of sampling forever
    for (let tries = 0; tries < 64; tries++) {
      const i = rand(this.hiWater);
      if (this.valLen[i]! >= 0) return i;
    }
    const live: number[] = [];
    for (let i = 0; i < this.hiWater; i++) if (this.valLen[i]! >= 0) live.push(i);
    return live[rand(live.length)]!;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const hash = new Int32Array(cap);
    hash.set(this.hash);
    this.hash = hash;
    const ref = new Float64Array(cap);
    ref.set(this.ref);
    this.ref = ref;
    const keyLen = new Uint32Array(cap);
    keyLen.set(this.keyLen);
    this.keyLen = keyLen;
    const valLen = new Int32Array(cap).fill(-1);
    valLen.set(this.valLen);
    this.valLen = valLen;
    const hdrLen = new Uint8Array(cap);
    hdrLen.set(this.hdrLen);
    this.hdrLen = hdrLen;
    this.capacity = cap;
  }

  private rehash(nslots: number): void {
    const slots = new Int32Array(nslots * 2);
    const mask = nslots - 1;
    for (let idx = 0; idx < this.hiWater; idx++) {
      if (this.valLen[idx]! < 0) continue;
      const h = this.hash[idx]!;
      let s = h & mask;
      while (slots[2 * s] !== 0) s = (s + 1) & mask;
      slots[2 * s] = idx + 1;
      slots[2 * s + 1] = h;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
