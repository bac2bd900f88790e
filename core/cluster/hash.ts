/**
 * Stable hashes for placement. CRC16 (XMODEM, as Redis Cluster uses) maps
 * keys to the 16384 Redis Cluster slots, and slots to partitions in
 * contiguous ranges, so MOVED/ASK and CLUSTER SLOTS are exact. {@link hash64}
 * (FNV-1a 64-bit computed on two 32-bit halves so no BigInt is needed, plus
 * an avalanche finalizer) places partitions and members on the ring. All are
 * identical on every runtime.
 */

/** A 64-bit hash as two unsigned 32-bit halves. */
export interface Hash64 {
  hi: number;
  lo: number;
}

const TWO_32 = 4294967296;
const encoder = new TextEncoder();

/** UTF-8 bytes of a string (keys on the wire are bytes; this is for string keys). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** FNV-1a 64-bit hash of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3). */
export function fnv1a64(bytes: Uint8Array): Hash64 {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]!) >>> 0;
    // (hi:lo) * (2^40 + 0x1b3) mod 2^64; every intermediate stays below 2^53.
    const loProduct = lo * 0x1b3;
    const carry = Math.floor(loProduct / TWO_32);
    const nextHi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    lo = loProduct >>> 0;
    hi = nextHi;
  }
  return { hi, lo };
}

/** murmur3's 32-bit finalizer: full avalanche of one 32-bit word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * FNV-1a 64 followed by a bijective avalanche step (murmur3 fmix32 over both
 * halves, cross-fed). Plain FNV-1a clusters sequential keys such as
 * `key:1…key:N` when reduced modulo a small prime; the finalizer removes that.
 */
export function hash64(bytes: Uint8Array): Hash64 {
  const h = fnv1a64(bytes);
  const lo = fmix32((h.lo ^ h.hi) >>> 0);
  const hi = fmix32((h.hi ^ lo) >>> 0);
  return { hi, lo };
}

/** Reduces a 64-bit hash modulo `n` (n < 2^21 keeps the arithmetic exact). */
export function mod64(h: Hash64, n: number): number {
  return ((h.hi % n) * (TWO_32 % n) + (h.lo % n)) % n;
}

/** Number of Redis Cluster hash slots. */
export const SLOT_COUNT = 16384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

/** CRC16/XMODEM (poly 0x1021, init 0), the checksum Redis Cluster uses for slots. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC16_TABLE[((crc >>> 8) ^ bytes[i]!) & 0xff]!) & 0xffff;
  return crc;
}

/**
 * The partition (0 ≤ p < partitionCount ≤ 16384) that owns a key: its Redis
 * Cluster slot scaled down, `floor(slot · partitionCount / 16384)`, so every
 * partition is a contiguous slot range ({@link slotRange}) and MOVED/CLUSTER
 * SLOTS describe ownership exactly; `{hashtag}` keys share a partition.
 * Throws RangeError on a bad count.
 */
export function partitionOf(keyBytes: Uint8Array, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > SLOT_COUNT) {
    throw new RangeError(`partitionOf: partitionCount must be an integer in [1, ${SLOT_COUNT}], got ${partitionCount}`);
  }
  return Math.floor((keySlot(keyBytes) * partitionCount) / SLOT_COUNT);
}

/** The partition holding Redis Cluster slot `slot`. */
export function partitionOfSlot(slot: number, partitionCount: number): number {
  return Math.floor((slot * partitionCount) / SLOT_COUNT);
}

/** The slots [first, last] of partition `p` (empty, first > last, only when partitionCount > 16384). */
export function slotRange(p: number, partitionCount: number): [number, number] {
  return [Math.ceil((p * SLOT_COUNT) / partitionCount), Math.ceil(((p + 1) * SLOT_COUNT) / partitionCount) - 1];
}

/**
 * Redis Cluster slot of a key (CLUSTER KEYSLOT): CRC16 mod 16384 of the
 * key, or of the first non-empty `{hashtag}` in it, so `{user1}.a` and
 * `{user1}.b` land on the same slot.
 */
export function keySlot(keyBytes: Uint8Array): number {
  const open = keyBytes.indexOf(0x7b); // "{"
  if (open !== -1) {
    const close = keyBytes.indexOf(0x7d, open + 1); // "}"
    if (close > open + 1) return crc16(keyBytes, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(keyBytes) & (SLOT_COUNT - 1);
}
