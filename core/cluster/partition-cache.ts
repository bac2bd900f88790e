/**
 * The partition of each entry of a map, computed from the key bytes in the
 * arena (no key copied out) and remembered per entry index with the key
 * hash it was computed for: digest, bucket and range scans visit every
 * entry of a node, often several times a round, and CRC16 over every key
 * each time (plus a view object per key) was most of their cost.
 *
 * An index whose key changed is recomputed when its store hash differs;
 * two keys with the same 32-bit hash reusing one index would keep the old
 * partition (a digest then differs and the range is listed again; nothing
 * is lost).
 */
import type { EntryTable } from "../store/entry-table.ts";
import type { MapStore } from "../store/map-store.ts";
import { crc16, SLOT_COUNT } from "./hash.ts";

/** Per entry index: partition, the store hash it belongs to, whether known. */
export interface PartitionCache {
  count: number;
  part: Int16Array;
  hash: Uint32Array;
  known: Uint8Array;
}

const caches = new WeakMap<MapStore, PartitionCache>();

/** The partition cache of map `m` for `partitionCount` partitions, sized for its table (look it up again after a pause). */
export function partitionCache(m: MapStore, partitionCount: number): PartitionCache {
  const t = m.table;
  let c = caches.get(m);
  if (!c || c.count !== partitionCount || c.part.length < t.hiWater) {
    const size = Math.max(1024, t.hiWater * 2);
    const next: PartitionCache = { count: partitionCount, part: new Int16Array(size), hash: new Uint32Array(size), known: new Uint8Array(size) };
    if (c && c.count === partitionCount) {
      next.part.set(c.part);
      next.hash.set(c.hash);
      next.known.set(c.known);
    }
    caches.set(m, (c = next));
  }
  return c;
}

/** The partition of live entry `i` of table `t` (hash.ts's partitionOf of its key), from or into cache `c`. */
export function partitionAt(c: PartitionCache, t: EntryTable, i: number): number {
  const h = t.hash[i]!;
  if (c.known[i] === 1 && c.hash[i] === h) return c.part[i]!;
  const r = t.ref[i]!;
  const p = Math.floor((slotOf(t.arena.bufferOf(r), t.arena.offsetOf(r), t.keyLen[i]!) * c.count) / SLOT_COUNT);
  c.part[i] = p;
  c.hash[i] = h;
  c.known[i] = 1;
  return p;
}

/** hash.ts's keySlot over `buf[off, off+len)` without copying the key out. */
function slotOf(buf: Uint8Array, off: number, len: number): number {
  const end = off + len;
  let open = -1;
  for (let j = off; j < end; j++) {
    if (buf[j] === 0x7b) {
      open = j;
      break;
    }
  }
  if (open >= 0) {
    for (let j = open + 1; j < end; j++) {
      if (buf[j] === 0x7d) {
        if (j > open + 1) return crc16(buf, open + 1, j) & (SLOT_COUNT - 1);
        break;
      }
    }
  }
  return crc16(buf, off, end) & (SLOT_COUNT - 1);
}
