/**
 * Finer digests below digest.ts's 16 key-hash ranges per partition, for
 * finding the few keys two nodes hold differently when most ranges differ
 * by a little (a node back from a restart with its snapshot: every range
 * with one changed key differs, and a range holds thousands of keys in a
 * big cache).
 *
 * A bucket is a partition and a prefix of the store's 32-bit key hash: at
 * depth d, the top 4·(d+1) bits (depth 0 is digest.ts's range). Its 16
 * children split it by the next 4 bits. A bucket digest is digest.ts's
 * (count, XOR, sum) of the same fingerprints, so a depth-0 bucket's digest
 * equals the range's. {@link differingLeaves} walks down from differing
 * buckets, one round trip per level, asking the other side for the
 * children's digests of the buckets that still differ, until a bucket holds
 * at most a few keys on either side (a leaf): only the leaves' entries need
 * to travel. With N keys per partition about log16(N) levels.
 */
import type { ShoalNode } from "../node.ts";
import { fingerprint, scanPaced } from "./digest.ts";
import type { EntrySync } from "./entry-sync.ts";
import type { EntryState, PeerRequest, PeerResponse } from "./peer-protocol.ts";

/** Resolves on a later event-loop turn (scans of a big node pause there, so SWIM and clients are answered). */
export type Pause = () => Promise<void>;

/** A partition's key-hash bucket: keys whose store hash starts with the 4·(depth+1)-bit `prefix`. */
export interface Bucket {
  partition: number;
  depth: number;
  prefix: number;
  /** Keys in it on the side holding more, when known ({@link differingLeaves} sets it). */
  count?: number;
}

/** Deepest bucket (the 32-bit hash has 8 nibbles). */
export const MAX_DEPTH = 7;
const WORDS = 3;

/** The prefix of hash `h` at `depth`. */
export function prefixAt(h: number, depth: number): number {
  return (h >>> (28 - 4 * depth)) >>> 0;
}

/** Flat wire form of buckets: partition, depth, prefix per bucket. */
export function flatBuckets(buckets: readonly Bucket[]): number[] {
  return buckets.flatMap((b) => [b.partition, b.depth, b.prefix]);
}

/** Buckets from their flat wire form (malformed triples are skipped). */
export function bucketsOf(flat: readonly number[], partitionCount: number): Bucket[] {
  const out: Bucket[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const [partition, depth, prefix] = [flat[i]!, flat[i + 1]!, flat[i + 2]!];
    if (partition < partitionCount && depth <= MAX_DEPTH && prefix < 2 ** (4 * (depth + 1))) out.push({ partition, depth, prefix });
  }
  return out;
}

/**
 * Requested buckets by partition and depth (prefix → position in the
 * request), and which depths occur: a scan tests each entry against them
 * with small-integer map lookups.
 */
interface BucketIndex {
  wanted: Uint8Array;
  depths: number[];
  /** [partition * 8 + depth] → prefix → position. */
  at: Map<number, Map<number, number>>;
}

function indexOf(partitionCount: number, buckets: readonly Bucket[]): BucketIndex {
  const wanted = new Uint8Array(partitionCount);
  const depths = new Set<number>();
  const at = new Map<number, Map<number, number>>();
  buckets.forEach((b, i) => {
    wanted[b.partition] = 1;
    depths.add(b.depth);
    const k = b.partition * 8 + b.depth;
    let m = at.get(k);
    if (!m) at.set(k, (m = new Map()));
    m.set(b.prefix, i);
  });
  return { wanted, depths: [...depths], at };
}

/** Position of the bucket at `depth` holding hash `h` in partition `p`, or undefined. */
function positionIn(index: BucketIndex, p: number, depth: number, h: number): number | undefined {
  return index.at.get(p * 8 + depth)?.get(prefixAt(h, depth));
}

/**
 * Digests of the 16 children of each bucket, from one scan of the node's
 * tables and tombstones: `buckets.length × 16 × 3` words (count, XOR, sum).
 */
export async function childDigests(node: ShoalNode, sync: EntrySync, partitionCount: number, buckets: readonly Bucket[], pause: Pause): Promise<Uint32Array> {
  const words = new Uint32Array(buckets.length * 16 * WORDS);
  const index = indexOf(partitionCount, buckets);
  await scanPaced(node, sync, partitionCount, index.wanted, (_map, mapHash, p, keyHash, version) => {
    for (const d of index.depths) {
      if (d >= MAX_DEPTH) continue;
      const i = positionIn(index, p, d, keyHash);
      if (i === undefined) continue;
      const o = (i * 16 + (prefixAt(keyHash, d + 1) & 15)) * WORDS;
      const fp = fingerprint(mapHash, keyHash, version);
      words[o] = words[o]! + 1;
      words[o + 1] = words[o + 1]! ^ fp;
      words[o + 2] = words[o + 2]! + fp;
    }
  }, pause);
  return words;
}

/** The full states (values with expiry, tombstones as deletions) of this node's entries in `buckets`. */
export async function entriesInBuckets(node: ShoalNode, sync: EntrySync, partitionCount: number, buckets: readonly Bucket[], pause: Pause): Promise<EntryState[]> {
  const index = indexOf(partitionCount, buckets);
  const out: EntryState[] = [];
  await scanPaced(node, sync, partitionCount, index.wanted, (map, _mh, p, keyHash, version, idx, tombKey) => {
    if (!index.depths.some((d) => positionIn(index, p, d, keyHash) !== undefined)) return;
    out.push(tombKey !== null ? { map, key: tombKey, value: null, expireAt: 0, version } : sync.read(map, idx));
  }, pause);
  return out;
}

/** Whether a key with store hash `h` in partition `p` falls in one of `buckets` (prepared by {@link bucketSet}). */
export function inBuckets(set: BucketSet, p: number, h: number): boolean {
  for (const d of set.depths) if (positionIn(set, p, d, h) !== undefined) return true;
  return false;
}

/** Buckets prepared for {@link inBuckets}. */
export type BucketSet = BucketIndex;

/** Prepares `buckets` for {@link inBuckets} (for any partition count: only the buckets' own partitions are marked). */
export function bucketSet(buckets: readonly Bucket[]): BucketSet {
  return indexOf(buckets.reduce((n, b) => Math.max(n, b.partition + 1), 0), buckets);
}

/**
 * Walks down from `start` (buckets known to differ) to the leaves that
 * differ between this node and another: `theirs(buckets)` asks the other
 * side for the children's digests of `buckets` (null when it did not
 * answer); this node's own scans pause with `pause`. A child stops being refined once neither side holds more than
 * `leafKeys` keys in it. Returns the differing leaves, or null when the
 * other side stopped answering.
 */
export async function differingLeaves(
  node: ShoalNode,
  sync: EntrySync,
  partitionCount: number,
  start: readonly Bucket[],
  theirs: (buckets: Bucket[]) => Promise<Uint32Array | null>,
  pause: Pause,
  leafKeys = 8,
  maxBuckets = 2_000_000,
): Promise<Bucket[] | null> {
  const leaves: Bucket[] = [];
  let level = start.filter((b) => b.depth >= MAX_DEPTH);
  leaves.push(...level);
  level = start.filter((b) => b.depth < MAX_DEPTH);
  while (level.length > 0) {
    if (level.length * 16 > maxBuckets) {
      // nearly everything differs (a copy far behind): finer digests would cost more than the entries
      leaves.push(...level);
      break;
    }
    const remote = await theirs(level);
    if (remote === null || remote.length !== level.length * 16 * WORDS) return null;
    const local = await childDigests(node, sync, partitionCount, level, pause);
    const next: Bucket[] = [];
    level.forEach((b, i) => {
      for (let c = 0; c < 16; c++) {
        const o = (i * 16 + c) * WORDS;
        if (local[o] === remote[o] && local[o + 1] === remote[o + 1] && local[o + 2] === remote[o + 2]) continue;
        const count = Math.max(local[o]!, remote[o]!);
        const child = { partition: b.partition, depth: b.depth + 1, prefix: b.prefix * 16 + c, count };
        if (count <= leafKeys || child.depth >= MAX_DEPTH) leaves.push(child);
        else next.push(child);
      }
    });
    level = next;
  }
  return leaves;
}

/** Splits buckets into batches of about `keys` keys each (by their counts; a bucket of unknown count counts `unknown`). */
export function batchesOf(buckets: readonly Bucket[], keys: number, unknown = 256): Bucket[][] {
  const out: Bucket[][] = [];
  let batch: Bucket[] = [];
  let n = 0;
  for (const b of buckets) {
    const c = b.count ?? unknown;
    if (batch.length > 0 && n + c > keys) {
      out.push(batch);
      batch = [];
      n = 0;
    }
    batch.push(b);
    n += c;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/**
 * Asks `peer` for the children's digests of `buckets` (`buckets` requests of
 * at most 50 000 buckets, about 10 MB of answer each); null when it did not
 * answer. `received` is told the bytes of each answer.
 */
export async function askChildDigests(
  request: (peer: string, msg: PeerRequest) => Promise<PeerResponse>,
  peer: string,
  buckets: readonly Bucket[],
  received: (bytes: number) => void = () => undefined,
): Promise<Uint32Array | null> {
  const words: Uint32Array[] = [];
  for (let i = 0; i < buckets.length; i += 50_000) {
    let res: PeerResponse;
    try {
      res = await request(peer, { t: "buckets", buckets: flatBuckets(buckets.slice(i, i + 50_000)) });
    } catch {
      return null;
    }
    if (res.t !== "bucketDigests") return null;
    received(res.words.byteLength);
    words.push(res.words);
  }
  const all = new Uint32Array(words.reduce((n, w) => n + w.length, 0));
  let o = 0;
  for (const w of words) {
    all.set(w, o);
    o += w.length;
  }
  return all;
}
