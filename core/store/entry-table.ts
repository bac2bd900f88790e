import { SlabArena } from "./arena.ts";

const LIVE = 1;
/** flags bits 1-2: the value's kind (see {@link EntryTable.kind}). */
const KIND_SHIFT = 1;
/** flags bit 3: a hash/set held in a FieldTable instead of the compact blob. */
const BIG = 8;

/** Writes the decimal digits of a non-negative integer; returns the new offset. */
function writeUint(buf: Uint8Array, off: number, n: number): number {
  const d = digits(n);
  let o = off + d - 1;
  do {
    buf[o--] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return off + d;
}

/** Copies src[so, so+n) to dst at `at` without allocating a view for small copies. */
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
 * Open-addressing hash table (linear probing, backward-shift delete) whose
 * entries are struct-of-arrays metadata plus one arena chunk holding
 * `key | $<len>\r\n | value | \r\n`, so a GET reply is a single copy.
 *
 * Entry indices are stable for an entry's life; cursors scan them in order.
 */
export class EntryTable {
  private slots: Int32Array;
  private mask: number;
  private capacity: number;
  private freeIdx: number[] = [];
  /** One past the highest entry index ever used. */
  hiWater = 0;
  /** Live entries. */
  size = 0;

  hash: Uint32Array;
  ref: Float64Array;
  keyLen: Uint32Array;
  valLen: Uint32Array;
  hdrLen: Uint8Array;
  flags: Uint8Array;
  /** Absolute expiry in Unix ms; 0 = none. */
  expireAt: Float64Array;
  /** Write version (hybrid logical clock). */
  version: Float64Array;
  /** Last access, Unix ms (LRU and max-idle). */
  access: Float64Array;
  /** Position in the volatile index, -1 when the entry has no TTL. */
  volPos: Int32Array;

  constructor(
    public arena: SlabArena,
    private readonly initial = 64,
  ) {
    this.capacity = initial;
    this.hash = new Uint32Array(initial);
    this.ref = new Float64Array(initial);
    this.keyLen = new Uint32Array(initial);
    this.valLen = new Uint32Array(initial);
    this.hdrLen = new Uint8Array(initial);
    this.flags = new Uint8Array(initial);
    this.expireAt = new Float64Array(initial);
    this.version = new Float64Array(initial);
    this.access = new Float64Array(initial);
    this.volPos = new Int32Array(initial).fill(-1);
    // slot s holds [entry index + 1, hash] at [2s, 2s+1]: a probe reads one cache line
    this.slots = new Int32Array(initial * 4);
    this.mask = initial * 2 - 1;
  }

  /**
   * Forgets every entry and gives the memory back: fresh metadata arrays at
   * the initial size and a fresh arena (FLUSHDB). The caller drops any side
   * state (FieldTables) first.
   */
  reset(): void {
    const fresh = new EntryTable(new SlabArena(), this.initial);
    this.arena = fresh.arena;
    this.slots = fresh.slots;
    this.mask = fresh.mask;
    this.capacity = fresh.capacity;
    this.freeIdx = [];
    this.hiWater = 0;
    this.size = 0;
    this.hash = fresh.hash;
    this.ref = fresh.ref;
    this.keyLen = fresh.keyLen;
    this.valLen = fresh.valLen;
    this.hdrLen = fresh.hdrLen;
    this.flags = fresh.flags;
    this.expireAt = fresh.expireAt;
    this.version = fresh.version;
    this.access = fresh.access;
    this.volPos = fresh.volPos;
  }

  /** Bytes of metadata per entry slot (for memory accounting). */
  static readonly META_BYTES = 4 + 8 + 4 + 4 + 1 + 1 + 8 + 8 + 8 + 4 + 8;

  /** Bytes held by metadata arrays and slots. */
  metaBytes(): number {
    return this.capacity * EntryTable.META_BYTES + this.slots.length * 4;
  }

  /** True when entry `idx` is live. */
  isLive(idx: number): boolean {
    return idx < this.hiWater && (this.flags[idx]! & LIVE) !== 0;
  }

  /**
   * Kind of the value of entry `idx`: 0 a string, 1 a hash, 2 a set (the
   * tag travels with the entry in replication and snapshots).
   */
  kind(idx: number): number {
    return (this.flags[idx]! >> KIND_SHIFT) & 3;
  }

  /** True when entry `idx` holds a hash or set in a FieldTable (its value is then an empty blob). */
  isBig(idx: number): boolean {
    return (this.flags[idx]! & BIG) !== 0;
  }

  /** Sets the kind (and big encoding) of a live entry. */
  setKind(idx: number, kind: number, big: boolean): void {
    this.flags[idx] = LIVE | (kind << KIND_SHIFT) | (big ? BIG : 0);
  }

  /** True when entry `idx` is a plain string (the common case, one compare). */
  isString(idx: number): boolean {
    return this.flags[idx] === LIVE;
  }

  /** Finds the entry for key bytes `buf[off, off+len)` with hash `h`; -1 when absent. */
  find(buf: Uint8Array, off: number, len: number, h: number): number {
    const slots = this.slots;
    const hs = h | 0;
    let s = h & this.mask;
    for (;;) {
      const v = slots[2 * s]!;
      if (v === 0) return -1;
      if (slots[2 * s + 1] === hs) {
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

  /** Total chunk payload size for a key/value pair. */
  private static itemSize(kLen: number, vLen: number): number {
    return kLen + digits(vLen) + 3 + vLen + 2;
  }

  /** Inserts a key that is known to be absent; returns its entry index. */
  insert(h: number, kBuf: Uint8Array, kOff: number, kLen: number, vBuf: Uint8Array, vOff: number, vLen: number): number {
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.rehash((this.mask + 1) * 2);
    let idx = this.freeIdx.pop();
    if (idx === undefined) {
      if (this.hiWater === this.capacity) this.grow();
      idx = this.hiWater++;
    }
    const r = this.arena.alloc(EntryTable.itemSize(kLen, vLen));
    this.ref[idx] = r;
    this.hash[idx] = h;
    this.keyLen[idx] = kLen;
    this.flags[idx] = LIVE;
    this.expireAt[idx] = 0;
    this.volPos[idx] = -1;
    const page = this.arena.bufferOf(r);
    const p = this.arena.offsetOf(r);
    copy(page, p, kBuf, kOff, kLen);
    this.writeValue(idx, page, p + kLen, vBuf, vOff, vLen);
    let s = h & this.mask;
    while (this.slots[2 * s] !== 0) s = (s + 1) & this.mask;
    this.slots[2 * s] = idx + 1;
    this.slots[2 * s + 1] = h | 0;
    this.size++;
    return idx;
  }

  private writeValue(idx: number, page: Uint8Array, at: number, vBuf: Uint8Array, vOff: number, vLen: number): void {
    page[at] = 36; // $
    let o = writeUint(page, at + 1, vLen);
    page[o++] = 13;
    page[o++] = 10;
    this.hdrLen[idx] = o - at;
    copy(page, o, vBuf, vOff, vLen);
    o += vLen;
    page[o] = 13;
    page[o + 1] = 10;
    this.valLen[idx] = vLen;
  }

  /** Replaces the value of entry `idx`, reusing its chunk when the size class allows. */
  setValue(idx: number, vBuf: Uint8Array, vOff: number, vLen: number): void {
    const kLen = this.keyLen[idx]!;
    const oldSize = EntryTable.itemSize(kLen, this.valLen[idx]!);
    const newSize = EntryTable.itemSize(kLen, vLen);
    let r = this.ref[idx]!;
    if (!(r >= 0 && SlabArena.sameClass(oldSize, newSize))) {
      const nr = this.arena.alloc(newSize);
      const np = this.arena.bufferOf(nr);
      const op = this.arena.bufferOf(r);
      const oo = this.arena.offsetOf(r);
      copy(np, this.arena.offsetOf(nr), op, oo, kLen);
      this.arena.free(r, oldSize);
      this.ref[idx] = r = nr;
    }
    this.writeValue(idx, this.arena.bufferOf(r), this.arena.offsetOf(r) + kLen, vBuf, vOff, vLen);
  }

  /** Removes entry `idx` (must be live). The caller maintains any side index (volPos). */
  remove(idx: number): void {
    const h = this.hash[idx]!;
    const slots = this.slots;
    let s = h & this.mask;
    while (slots[2 * s] !== idx + 1) s = (s + 1) & this.mask;
    // backward-shift deletion keeps probe chains intact without tombstones
    let hole = s;
    let j = (s + 1) & this.mask;
    for (;;) {
      const v = slots[2 * j]!;
      if (v === 0) break;
      const hj = slots[2 * j + 1]!;
      const home = hj & this.mask;
      const dist = (j - home) & this.mask;
      const holeDist = (j - hole) & this.mask;
      if (dist >= holeDist) {
        slots[2 * hole] = v;
        slots[2 * hole + 1] = hj;
        hole = j;
      }
      j = (j + 1) & this.mask;
    }
    slots[2 * hole] = 0;
    this.arena.free(this.ref[idx]!, EntryTable.itemSize(this.keyLen[idx]!, this.valLen[idx]!));
    this.flags[idx] = 0;
    this.freeIdx.push(idx);
    this.size--;
  }

  /** Bytes of arena this entry's chunk occupies. */
  entryBytes(idx: number): number {
    return SlabArena.chunkSize(EntryTable.itemSize(this.keyLen[idx]!, this.valLen[idx]!)) + EntryTable.META_BYTES + 8;
  }

  /** Bytes an entry of these sizes would occupy. */
  static bytesFor(kLen: number, vLen: number): number {
    return SlabArena.chunkSize(EntryTable.itemSize(kLen, vLen)) + EntryTable.META_BYTES + 8;
  }

  /** Copy of the key bytes. */
  key(idx: number): Uint8Array {
    const r = this.ref[idx]!;
    const o = this.arena.offsetOf(r);
    return this.arena.bufferOf(r).slice(o, o + this.keyLen[idx]!);
  }

  /** Copy of the value bytes. */
  value(idx: number): Uint8Array {
    const r = this.ref[idx]!;
    const o = this.arena.offsetOf(r) + this.keyLen[idx]! + this.hdrLen[idx]!;
    return this.arena.bufferOf(r).slice(o, o + this.valLen[idx]!);
  }

  /** A view (no copy) of the RESP bulk encoding `$n\r\n<value>\r\n`; valid until the next write. */
  encodedView(idx: number): Uint8Array {
    const r = this.ref[idx]!;
    const o = this.arena.offsetOf(r) + this.keyLen[idx]!;
    return this.arena.bufferOf(r).subarray(o, o + this.hdrLen[idx]! + this.valLen[idx]! + 2);
  }

  /** Appends the RESP bulk encoding of entry idx to `out` at `at`; returns the new offset (caller ensured room). */
  copyEncoded(idx: number, out: Uint8Array, at: number): number {
    const r = this.ref[idx]!;
    const page = this.arena.bufferOf(r);
    const o = this.arena.offsetOf(r) + this.keyLen[idx]!;
    const n = this.hdrLen[idx]! + this.valLen[idx]! + 2;
    if (n <= 160) for (let i = 0; i < n; i++) out[at + i] = page[o + i]!;
    else out.set(page.subarray(o, o + n), at);
    return at + n;
  }

  /** Length of the RESP bulk encoding of entry idx. */
  encodedLength(idx: number): number {
    return this.hdrLen[idx]! + this.valLen[idx]! + 2;
  }

  /** A view (no copy) of the raw value; valid until the next write. */
  valueView(idx: number): Uint8Array {
    const r = this.ref[idx]!;
    const o = this.arena.offsetOf(r) + this.keyLen[idx]! + this.hdrLen[idx]!;
    return this.arena.bufferOf(r).subarray(o, o + this.valLen[idx]!);
  }

  /** Copies the key bytes into `dst` at `at` (no view, no allocation); returns the key length. */
  copyKeyTo(idx: number, dst: Uint8Array, at: number): number {
    const r = this.ref[idx]!;
    const n = this.keyLen[idx]!;
    copy(dst, at, this.arena.bufferOf(r), this.arena.offsetOf(r), n);
    return n;
  }

  /** Copies the value bytes into `dst` at `at` (no view, no allocation); returns the value length. */
  copyValueTo(idx: number, dst: Uint8Array, at: number): number {
    const r = this.ref[idx]!;
    const n = this.valLen[idx]!;
    copy(dst, at, this.arena.bufferOf(r), this.arena.offsetOf(r) + this.keyLen[idx]! + this.hdrLen[idx]!, n);
    return n;
  }

  /** A view of the raw key; valid until the next write. */
  keyView(idx: number): Uint8Array {
    const r = this.ref[idx]!;
    const o = this.arena.offsetOf(r);
    return this.arena.bufferOf(r).subarray(o, o + this.keyLen[idx]!);
  }

  /**
   * Makes room for `n` live entries at once (metadata arrays and slot
   * table), so a bulk load does not grow and rehash step by step.
   */
  reserve(n: number): void {
    if (n > this.capacity) this.grow(n);
    let nslots = this.mask + 1;
    while (n * 4 > nslots * 3) nslots *= 2;
    if (nslots !== this.mask + 1) this.rehash(nslots);
  }

  private grow(atLeast = 0): void {
    let cap = this.capacity * 2;
    while (cap < atLeast) cap *= 2;
    const g = <T extends Float64Array | Uint32Array | Uint8Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.hash = g(this.hash, (n) => new Uint32Array(n));
    this.ref = g(this.ref, (n) => new Float64Array(n));
    this.keyLen = g(this.keyLen, (n) => new Uint32Array(n));
    this.valLen = g(this.valLen, (n) => new Uint32Array(n));
    this.hdrLen = g(this.hdrLen, (n) => new Uint8Array(n));
    this.flags = g(this.flags, (n) => new Uint8Array(n));
    this.expireAt = g(this.expireAt, (n) => new Float64Array(n));
    this.version = g(this.version, (n) => new Float64Array(n));
    this.access = g(this.access, (n) => new Float64Array(n));
    this.volPos = g(this.volPos, (n) => new Int32Array(n).fill(-1));
    this.capacity = cap;
  }

  private rehash(nslots: number): void {
    const slots = new Int32Array(nslots * 2);
    const mask = nslots - 1;
    for (let idx = 0; idx < this.hiWater; idx++) {
      if ((this.flags[idx]! & LIVE) === 0) continue;
      const h = this.hash[idx]!;
      let s = h & mask;
      while (slots[2 * s] !== 0) s = (s + 1) & mask;
      slots[2 * s] = idx + 1;
      slots[2 * s + 1] = h | 0;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
