/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * iSCSI, ext4 and LevelDB/RocksDB blocks. Pure TypeScript, slicing-by-8:
 * eight 256-entry tables let the loop consume 8 bytes per iteration.
 *
 * A CRC detects every error burst up to 32 bits long, so any single flipped
 * byte inside a checksummed block is always detected (not just likely).
 */

const POLY = 0x82f63b78;

function buildTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

const T = buildTables();

/**
 * Continues a CRC-32C over `buf[off, off+len)`. Start with `crc = 0`; feed
 * the previous result to checksum data given in pieces. Returns an unsigned
 * 32-bit integer.
 */
export function crc32c(buf: Uint8Array, off = 0, len = buf.length - off, crc = 0): number {
  let c = ~crc;
  let i = off;
  const end = off + len;
  const end8 = end - ((end - i) & 7);
  while (i < end8) {
    const lo = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + buf[i + 4]!]! ^
      T[512 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
