/**
 * Pages of this node's entries in some partitions, for pulls (a joining
 * node's initial sync, a new owner's takeover). A page ends at 4096 entries
 * or about 1 MiB of records; the cursor is the map name and entry index to
 * resume after (entry indices are stable while a map lives). The page is
 * serialised as it is scanned (no object per entry: a pull of a million
 * entries leaves little garbage behind on the node serving it).
 */
import type { ShoalNode } from "../node.ts";
import { EntryBatch } from "./entry-batch.ts";
import type { EntrySync } from "./entry-sync.ts";
import { partitionOf } from "./hash.ts";
import type { PeerResponse, PullCursor } from "./peer-protocol.ts";

/** Most entries in one page. */
const PAGE_ENTRIES = 4096;
/** About the most key and value bytes in one page. */
const PAGE_BYTES = 1 << 20;

/**
 * One page of `node`'s live entries in `partitions` (out of
 * `partitionCount`), after `after`. The last page (next: null) also carries
 * the tombstones of those partitions, so a stale copy pushed later cannot
 * resurrect a deleted key at the puller.
 */
export function partitionPage(
  node: ShoalNode,
  sync: EntrySync,
  partitionCount: number,
  partitions: readonly number[],
  after: PullCursor | null,
  now: number,
): PeerResponse {
  const wanted = new Uint8Array(partitionCount);
  for (const p of partitions) if (p >= 0 && p < wanted.length) wanted[p] = 1;
  const names = node.mapNames();
  // serialised as the scan goes, straight from the store: no EntryState or value copy per entry
  const batch = new EntryBatch(64 * 1024);
  let m = after ? names.indexOf(after.map) : 0;
  if (m < 0) m = names.length;
  let i = after ? after.idx + 1 : 0;
  for (; m < names.length; m++, i = 0) {
    const name = names[m]!;
    const store = node.map(name);
    const t = store.table;
    for (; i < t.hiWater; i++) {
      if (!t.isLive(i)) continue;
      const exp = t.expireAt[i]!;
      if (exp !== 0 && exp <= now) continue;
      if (wanted[partitionOf(t.keyView(i), partitionCount)] !== 1) continue;
      if (t.kind(i) === 0) batch.addStored(name, store, i, t.version[i]!);
      else batch.add(sync.read(name, i));
      if (batch.count >= PAGE_ENTRIES || batch.byteLength >= PAGE_BYTES) return { t: "entries", entries: [], packed: batch.finish(), next: { map: name, idx: i } };
    }
  }
  for (const e of sync.tombstones()) if (wanted[partitionOf(e.key, partitionCount)] === 1) batch.add(e);
  return { t: "entries", entries: [], packed: batch.finish(), next: null };
}
