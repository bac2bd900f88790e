/**
 * Loads a snapshot into a node's maps: entries keep their expiry and
 * version, entries that expired while the node was down are dropped (and
 * returned as tombstones for a cluster, so an older copy elsewhere cannot
 * bring them back), tombstones and the clock come back for the cluster
 * layer. A bad block anywhere means nothing of the file is kept.
 */
import { restoreCollection } from "../store/collection.ts";
import type { MapStore } from "../store/map-store.ts";
import { BadEntry, SnapshotCorrupt, ValueType } from "./format.ts";
import { type SnapshotHeader, type SnapshotMapMeta, SnapshotReader, type SnapshotTarget, type SnapshotTotals } from "./reader.ts";
import type { ClusterCut, TombstoneRecord } from "./writer.ts";

/** What a load brought back. */
export interface LoadResult {
  header: SnapshotHeader;
  totals: SnapshotTotals;
  /** Entries now in the maps. */
  keys: number;
  /** Entries left out because their TTL ran out before `now`. */
  expired: number;
  /** Maps and their settings as saved. */
  maps: SnapshotMapMeta[];
  /** The clock and tombstones for the cluster layer (the expired entries included as tombstones at their version). */
  cluster: ClusterCut;
}

/** The node a snapshot loads into ({@link ShoalNode} is one). */
export interface LoadableNode {
  map(name: string): MapStore;
  mapNames(): string[];
  destroyMap(name: string): boolean;
}

class NodeTarget implements SnapshotTarget {
  head: SnapshotHeader | null = null;
  readonly stores = new Map<number, MapStore>();
  readonly metas: SnapshotMapMeta[] = [];
  readonly names = new Map<number, string>();
  readonly tombstones: TombstoneRecord[] = [];
  keys = 0;
  expired = 0;

  constructor(
    private readonly node: LoadableNode,
    private readonly now: number,
  ) {}

  header(h: SnapshotHeader): void {
    this.head = h;
  }

  map(id: number, meta: SnapshotMapMeta): void {
    const store = this.node.map(meta.name);
    store.table.reserve(store.table.size + meta.entriesAtCut);
    this.stores.set(id, store);
    this.names.set(id, meta.name);
    this.metas.push(meta);
  }

  entry(map: number, type: number, buf: Uint8Array, keyAt: number, keyLen: number, valueAt: number, valueLen: number, expireAt: number, version: number): void {
    if (expireAt !== 0 && expireAt <= this.now) {
      this.expired++;
      if (version > 0) this.tombstones.push({ map: this.names.get(map)!, key: buf.slice(keyAt, keyAt + keyLen), version, at: this.now });
      return;
    }
    const store = this.stores.get(map)!;
    if (type === ValueType.String) store.restore(buf, keyAt, keyLen, buf, valueAt, valueLen, expireAt, version, this.now);
    else {
      const bad = restoreCollection(store, type, buf, keyAt, keyLen, buf.subarray(valueAt, valueAt + valueLen), expireAt, version, this.now);
      if (bad !== null) throw new BadEntry(bad);
    }
    this.keys++;
  }

  tombstone(map: number, key: Uint8Array, version: number, recordedAtMs: number): void {
    this.tombstones.push({ map: this.names.get(map)!, key, version, at: recordedAtMs });
  }
}

/**
 * Reads a snapshot from `chunks` (the file's bytes in order) into `node`.
 * `now` is the wall time deciding what has expired. Throws
 * {@link SnapshotCorrupt} at a bad block, after emptying every map it had
 * loaded into (a bad file is never served, not even in part).
 */
export function loadSnapshot(node: LoadableNode, chunks: Iterable<Uint8Array>, now: number): LoadResult {
  const target = new NodeTarget(node, now);
  const reader = new SnapshotReader(target);
  let totals: SnapshotTotals;
  try {
    for (const chunk of chunks) reader.push(chunk);
    totals = reader.end();
  } catch (e) {
    for (const name of node.mapNames()) node.destroyMap(name);
    throw e;
  }
  for (const store of target.stores.values()) store.enforceLimits();
  if (target.head === null) throw new SnapshotCorrupt("no header block", 0, 8);
  return {
    header: target.head,
    totals,
    keys: target.keys,
    expired: target.expired,
    maps: target.metas,
    cluster: { hlc: target.head.hlc, tombstones: target.tombstones },
  };
}
