/** FNV-1a 32-bit over a byte range: cheap, no allocation, stable across runtimes. */
export function hashBytes(buf: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  const end = off + len;
  for (let i = off; i < end; i++) {
    h ^= buf[i]!;
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche (murmur3 fmix32) so low bits are usable for table slots
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
