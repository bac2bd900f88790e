/**
 * Partition digests: what a node holds of a partition, summarised so two
 * nodes can find where they differ without sending their data.
 *
 * Each partition is split into {@link DIGEST_RANGES} ranges of key hash
 * (the store's 32-bit FNV-1a key hash, top bits); a range's digest is the
 * count, XOR and sum of one 32-bit fingerprint per key — of its map, key
 * and version, whether the key holds a value or a tombstone (a version
 * names one write everywhere). Equal digests mean, with overwhelming
 * probability, equal (map, key, version) sets; XOR and sum make a digest
 * independent of scan order, so any node computes the same one.
 *
 * Reusable beyond anti-entropy: {@link digestPartitions} is "the digest of
 * partition p", {@link entriesInRanges} "the entries of p in key-hash range
 * r" (a restarted node can catch up only what changed). All functions scan
 * the node's tables once; runtime-neutral and synchronous.
 */
import type { ShoalNode } from "../node.ts";
import { hashBytes } from "../store/hash.ts";
import type { EntrySync } from "./entry-sync.ts";
import { partitionOf, utf8 } from "./hash.ts";
import { partitionAt, partitionCache } from "./partition-cache.ts";
import type { EntryState } from "./peer-protocol.ts";

/** Key-hash ranges per partition. */
export const DIGEST_RANGES = 16;
/** Numbers per range in a digest: count, XOR, sum. */
const WORDS = 3;
const RANGE_SHIFT = 32 - Math.log2(DIGEST_RANGES);

/** A partition and one of its key-hash ranges. */
export interface PartitionRange {
  partition: number;
  range: number;
}

/** The key-hash range (0..DIGEST_RANGES-1) of a key with store hash `h`. */
export function rangeOfHash(h: number): number {
  return h >>> RANGE_SHIFT;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The fingerprint of one (map, key, version): `mapHash` and `keyHash` are hashBytes of the map name and key. */
export function fingerprint(mapHash: number, keyHash: number, version: number): number {
  const lo = version % 0x1_0000_0000;
  const hi = Math.floor(version / 0x1_0000_0000);
  return mix(mapHash ^ mix(keyHash ^ mix(lo) ^ Math.imul(mix(hi), 0x9e3779b1)));
}

/**
 * Digests of `partitions`: {@link DIGEST_RANGES} ranges each, three words
 * per range (count, XOR, sum), in the order given. Counts every entry the
 * node holds (a value, expired or not, or a tombstone).
 */
export class PartitionDigests {
  readonly words: Uint32Array;
  private readonly index = new Map<number, number>();

  constructor(
    readonly partitions: readonly number[],
    words?: Uint32Array,
  ) {
    for (let i = 0; i < partitions.length; i++) this.index.set(partitions[i]!, i);
    this.words = words ?? new Uint32Array(partitions.length * DIGEST_RANGES * WORDS);
    if (this.words.length !== partitions.length * DIGEST_RANGES * WORDS) throw new RangeError("digest: word count does not match the partitions");
  }

  /** Adds one key's fingerprint to partition `p`'s range `r` (p must be one of the partitions). */
  add(p: number, r: number, fp: number): void {
    const i = this.index.get(p);
    if (i === undefined) return;
    const o = (i * DIGEST_RANGES + r) * WORDS;
    const w = this.words;
    w[o] = w[o]! + 1;
    w[o + 1] = w[o + 1]! ^ fp;
    w[o + 2] = w[o + 2]! + fp;
  }

  /** Whether partition p's range r is the same here and in `other` (both must cover p). */
  sameAs(other: PartitionDigests, p: number, r: number): boolean {
    const a = this.offset(p, r);
    const b = other.offset(p, r);
    return this.words[a] === other.words[b] && this.words[a + 1] === other.words[b + 1] && this.words[a + 2] === other.words[b + 2];
  }

  /** Keys counted in partition p's range r. */
  count(p: number, r: number): number {
    return this.words[this.offset(p, r)]!;
  }

  /** Whether these digests cover partition p. */
  covers(p: number): boolean {
    return this.index.has(p);
  }

  private offset(p: number, r: number): number {
    const i = this.index.get(p);
    if (i === undefined) throw new RangeError(`digest: partition ${p} not covered`);
    return (i * DIGEST_RANGES + r) * WORDS;
  }
}

/** Entries a scan visits between yields (the async forms pause there so a big table does not block the event loop). */
const SLICE = 16_384;

/** What a scan reports per entry or tombstone (idx −1 and the key for a tombstone). */
export type Visit = (map: string, mapHash: number, p: number, keyHash: number, version: number, idx: number, tombKey: Uint8Array | null) => void;

/**
 * Calls `visit` for every entry and tombstone of `node` in a wanted
 * partition (`wanted[p] === 1`); yields every {@link SLICE} entries.
 * Entry indices are stable, so the walk resumes where it was; a map
 * replaced meanwhile is read from its new table.
 */
function* scan(node: ShoalNode, sync: EntrySync, partitionCount: number, wanted: Uint8Array, visit: Visit): Generator<void> {
  for (const name of node.mapNames()) {
    const mapHash = hashName(name);
    for (let from = 0; ; from += SLICE) {
      // the map, its arrays and the partition cache are looked up again after every pause (a write may replace them)
      const m = node.findMap(name);
      if (!m || from >= m.table.hiWater) break;
      const t = m.table;
      const c = partitionCache(m, partitionCount);
      const end = Math.min(t.hiWater, from + SLICE);
      for (let i = from; i < end; i++) {
        if (!t.isLive(i)) continue;
        const p = partitionAt(c, t, i);
        if (wanted[p] !== 1) continue;
        visit(name, mapHash, p, t.hash[i]!, t.version[i]!, i, null);
      }
      yield;
    }
  }
  let seen = 0;
  for (const e of [...sync.tombstones()]) {
    if (++seen % SLICE === 0) yield;
    const p = partitionOf(e.key, partitionCount);
    if (wanted[p] !== 1) continue;
    visit(e.map, hashName(e.map), p, hashBytes(e.key, 0, e.key.length), e.version, -1, e.key);
  }
}

/**
 * Calls `visit` for every entry and tombstone of `node` in a wanted partition (`wanted[p] === 1`), awaiting `pause`
 * every few thousand entries (buckets.ts's scans, which visit a big node several times a round).
 */
export function scanPaced(node: ShoalNode, sync: EntrySync, partitionCount: number, wanted: Uint8Array, visit: Visit, pause: () => Promise<void>): Promise<void> {
  return runPaced(scan(node, sync, partitionCount, wanted, visit), pause);
}

/** Runs a scan to the end at once. */
function runNow(g: Generator<void>): void {
  for (const _ of g) {
    // no pause: the caller asked for a synchronous result
  }
}

/** Runs a scan, awaiting `pause` at every yield. */
async function runPaced(g: Generator<void>, pause: () => Promise<void>): Promise<void> {
  for (const _ of g) await pause();
}

const mapHashes = new Map<string, number>();
function hashName(name: string): number {
  let h = mapHashes.get(name);
  if (h === undefined) {
    const b = utf8(name);
    h = hashBytes(b, 0, b.length);
    if (mapHashes.size < 10_000) mapHashes.set(name, h);
  }
  return h;
}

function wantedOf(partitionCount: number, partitions: readonly number[]): Uint8Array {
  const wanted = new Uint8Array(partitionCount);
  for (const p of partitions) if (p >= 0 && p < partitionCount) wanted[p] = 1;
  return wanted;
}

function digestScan(node: ShoalNode, sync: EntrySync, partitionCount: number, partitions: readonly number[], d: PartitionDigests, before: number): Generator<void> {
  return scan(node, sync, partitionCount, wantedOf(partitionCount, partitions), (_map, mapHash, p, keyHash, version) => {
    if (version <= before) d.add(p, rangeOfHash(keyHash), fingerprint(mapHash, keyHash, version));
  });
}

/** The digests of `partitions` on `node` (one scan of its tables and tombstones, at once). */
export function digestPartitions(node: ShoalNode, sync: EntrySync, partitionCount: number, partitions: readonly number[]): PartitionDigests {
  const d = new PartitionDigests(partitions);
  runNow(digestScan(node, sync, partitionCount, partitions, d, Number.POSITIVE_INFINITY));
  return d;
}

/**
 * {@link digestPartitions}, awaiting `pause` every few thousand entries (anti-entropy on a big node); with `before`,
 * only entries at a version up to it count (anti-entropy leaves out writes that may still be on their way).
 */
export async function digestPartitionsPaced(
  node: ShoalNode,
  sync: EntrySync,
  partitionCount: number,
  partitions: readonly number[],
  pause: () => Promise<void>,
  before = Number.POSITIVE_INFINITY,
): Promise<PartitionDigests> {
  const d = new PartitionDigests(partitions);
  await runPaced(digestScan(node, sync, partitionCount, partitions, d, before), pause);
  return d;
}

/** A key's version as one node holds it (value or tombstone). */
export interface KeyVersion {
  map: string;
  key: Uint8Array;
  version: number;
}

function rangeScan(node: ShoalNode, sync: EntrySync, partitionCount: number, ranges: readonly PartitionRange[], values: boolean, out: EntryState[], before: number): Generator<void> {
  const wanted = wantedOf(
    partitionCount,
    ranges.map((r) => r.partition),
  );
  const rangeSet = new Set(ranges.map((r) => r.partition * DIGEST_RANGES + r.range));
  return scan(node, sync, partitionCount, wanted, (map, _mh, p, keyHash, version, idx, tombKey) => {
    if (version > before || !rangeSet.has(p * DIGEST_RANGES + rangeOfHash(keyHash))) return;
    if (tombKey !== null) out.push({ map, key: tombKey, value: null, expireAt: 0, version });
    else if (values) out.push(sync.read(map, idx));
    else out.push({ map, key: node.findMap(map)!.table.key(idx), value: null, expireAt: 0, version });
  });
}

/**
 * The entries of `node` in the given partition ranges: full states (value
 * with its expiry, or a deletion at the tombstone's version) when `values`,
 * else versions only (the value field null, `version` set).
 */
export function entriesInRanges(node: ShoalNode, sync: EntrySync, partitionCount: number, ranges: readonly PartitionRange[], values = true): EntryState[] {
  const out: EntryState[] = [];
  runNow(rangeScan(node, sync, partitionCount, ranges, values, out, Number.POSITIVE_INFINITY));
  return out;
}

/** {@link entriesInRanges}, awaiting `pause` every few thousand entries; `before` as for {@link digestPartitionsPaced}. */
export async function entriesInRangesPaced(
  node: ShoalNode,
  sync: EntrySync,
  partitionCount: number,
  ranges: readonly PartitionRange[],
  values: boolean,
  pause: () => Promise<void>,
  before = Number.POSITIVE_INFINITY,
): Promise<EntryState[]> {
  const out: EntryState[] = [];
  await runPaced(rangeScan(node, sync, partitionCount, ranges, values, out, before), pause);
  return out;
}
