/**
 * Warm catch-up: a node that restarted with its snapshot loaded catches up
 * only what changed while it was away, instead of pulling every partition
 * it holds (catch-up.ts's initial pull).
 *
 * For each partition this node holds, with each of its sources (the
 * partition's other holders; also those of the table without this node,
 * when none of the current ones held it while this node was away):
 * 1. the member's partition digests (digest.ts: 16 key-hash ranges per
 *    partition, each summarising the (map, key, version) of every value and
 *    tombstone), asked strictly: the member answers only once its own table
 *    names this node a holder of those partitions;
 * 2. in the ranges whose digest differs from this node's, finer and finer
 *    key-hash buckets (buckets.ts), one round trip per level, down to the
 *    buckets holding a few keys that still differ;
 * 3. the member's entries in those buckets (`bucketEntries`), applied
 *    last-writer-wins;
 * 4. once every source answered: a key this node held when the catch-up
 *    started (from its snapshot), still unchanged, that no source holds in
 *    any form (value or tombstone) is dropped: the cluster forgot it while
 *    this node was away (a delete whose tombstone was collected, an
 *    eviction).
 *
 * Why nothing is missed, although versions are per-owner HLC stamps and
 * "newer than my newest" would not be safe (an owner whose clock is behind,
 * or a failover, stamps later writes lower): nothing here compares a
 * version with a watermark. A range is left alone only when its digest is
 * equal, i.e. the member holds exactly the same (map, key, version) set
 * there (up to a collision of three 32-bit sums over fingerprints), and so
 * for a bucket below it. Every bucket that differs at the deepest level is
 * taken whole from the member, after it answered the digest, and applied by
 * version. Everything the member held when it answered the digest is
 * therefore here afterwards at the same or a newer version; a write the
 * member takes after that moment finds this node named a holder in the
 * member's table, so it reaches this node through replication like any
 * write. That is the initial pull's guarantee (a full pull also starts once
 * the member's table names this node, and applies with the same
 * last-writer-wins rule), with only the differences moved. The sources: a
 * current holder that also held the partition while this node was away took
 * every write acknowledged with W = replica count meanwhile; a member that
 * held it then and no longer does hands its copy to this node (rebalancer.ts,
 * by the same digests) before dropping it, and comparing with it while it
 * drops would only see noise. (With W below the replica count, a write that
 * only such a member took reaches this node by that hand-off, possibly just
 * after it is ready.)
 * Step 4 closes the gap a full pull does not have (a fresh node holds
 * nothing stale): without it a key deleted while this node was away, whose
 * tombstone the others collected meanwhile, would come back from the
 * snapshot. It applies only where every source answered, and only to entries
 * this node held before it asked anyone and that nothing changed since (a
 * write that arrives during the catch-up, replicated by a member after it
 * listed its keys, is never dropped).
 *
 * If a member fails or keeps refusing, the catch-up is incomplete: the
 * caller falls back to the takeover pulls (catch-up.ts) for what is left.
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import type { ShoalNode } from "../node.ts";
import { askChildDigests, type Bucket, type BucketSet, batchesOf, bucketSet, differingLeaves, flatBuckets, inBuckets } from "./buckets.ts";
import { DIGEST_RANGES, digestPartitionsPaced, PartitionDigests } from "./digest.ts";
import type { EntrySync } from "./entry-sync.ts";
import { partitionOf } from "./hash.ts";
import type { PartitionTable } from "./partition-table.ts";
import type { PeerRequest, PeerResponse } from "./peer-protocol.ts";

/** What the warm catch-up needs from the cluster layer. */
export interface WarmCatchUpContext {
  self: string;
  node: ShoalNode;
  sync: EntrySync;
  clock: Clock;
  log: Logger;
  partitionCount: number;
  /** Wait between refusals of a member whose table does not name this node yet, ms. */
  retryMs: number;
  table(): PartitionTable | null;
  /** The table for `members` with this cluster's settings (a what-if). */
  tableOf(members: readonly string[]): PartitionTable;
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  pause(ms: number): Promise<void>;
  stopped(): boolean;
}

/** What one warm catch-up did (logged, and shown in the cluster view). */
export interface WarmCatchUpStats {
  /** Members compared with. */
  sources: number;
  /** Partitions this node holds. */
  partitions: number;
  /** Partition key-hash ranges compared (per member). */
  rangesCompared: number;
  /** Of those, ranges whose digests differed. */
  rangesDiffering: number;
  /** Smallest differing buckets found (per member), whose entries were fetched. */
  buckets: number;
  /** Entries received from those buckets. */
  received: number;
  /** Of those, entries newer than this node's copy (taken). */
  fetched: number;
  /** Keys dropped because no member holds them any more. */
  dropped: number;
  /** Bytes received: digests, bucket digests, entries (keys, values, 16 per entry). */
  bytes: number;
  ms: number;
}

/**
 * Keys per `bucketEntries` request (by the buckets' counts): every request
 * costs the member one scan of its tables, so they are few and big.
 */
const ENTRIES_BATCH_KEYS = 100_000;

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

/** What one member sent: the buckets whose entries it listed whole (or where it holds nothing), and those keys. */
interface Listing {
  buckets: Bucket[];
  keys: Set<string>;
}

/** What a map held when the catch-up started: per entry index, the key hash and version (NaN: no entry). */
interface StartOfMap {
  hash: Uint32Array;
  version: Float64Array;
}

/** The catch-up of a node restarted from its snapshot. */
export class WarmCatchUp {
  readonly stats: WarmCatchUpStats = { sources: 0, partitions: 0, rangesCompared: 0, rangesDiffering: 0, buckets: 0, received: 0, fetched: 0, dropped: 0, bytes: 0, ms: 0 };
  private readonly listings = new Map<string, Listing>();
  private readonly atStart = new Map<string, StartOfMap>();
  private readonly turn = (): Promise<void> => this.c.pause(0);

  /** Takes note of what the node holds now (its snapshot): construct before anything changes it. */
  constructor(private readonly c: WarmCatchUpContext) {
    this.noteStart();
  }

  private held(t: PartitionTable): number[] {
    const out: number[] = [];
    for (let p = 0; p < t.partitionCount; p++) if (t.owner(p) === this.c.self || t.replicas(p).includes(this.c.self)) out.push(p);
    return out;
  }

  /**
   * Catches up every partition this node holds from every other member of
   * its (possibly growing) table. True when every member answered for every
   * partition; false leaves the rest to the caller's fallback.
   */
  async run(): Promise<boolean> {
    const c = this.c;
    const started = c.clock.monotonic();
    const done = new Map<string, Set<number>>();
    let complete = true;
    for (let round = 0; round < 10 && !c.stopped(); round++) {
      const t = c.table();
      if (t === null || t.members.length < 2) break;
      const sources = this.sourcesOf(t);
      this.stats.partitions = sources.size;
      const byPeer = new Map<string, number[]>();
      for (const [p, list] of sources) {
        for (const peer of list) if (!done.get(peer)?.has(p)) (byPeer.get(peer) ?? byPeer.set(peer, []).get(peer)!).push(p);
      }
      const todo = [...byPeer];
      if (todo.length === 0) break;
      const answers = await Promise.all(todo.map(([peer, ps]) => this.digestsOf(peer, ps)));
      const asked = [...new Set(answers.flatMap((a) => (a ? a.partitions : [])))];
      // this node's digests after the members' (a write that reached this node meanwhile only makes a range differ)
      const local = await digestPartitionsPaced(c.node, c.sync, c.partitionCount, asked, this.turn);
      await Promise.all(
        answers.map(async (a, i) => {
          const peer = todo[i]![0];
          if (a === null) {
            complete = false;
            return;
          }
          if (!(await this.compare(peer, a, local))) {
            complete = false;
            return;
          }
          let set = done.get(peer);
          if (!set) done.set(peer, (set = new Set()));
          for (const p of a.partitions) set.add(p);
        }),
      );
    }
    const t = c.table();
    if (t !== null && t.members.length > 1) {
      const sources = this.sourcesOf(t);
      this.stats.sources = new Set([...sources.values()].flat()).size;
      for (const [p, list] of sources) if (!list.every((m) => done.get(m)?.has(p))) complete = false;
      if (complete) await this.dropForgotten(sources);
    }
    this.stats.ms = c.clock.monotonic() - started;
    c.log.info("warm catch-up done", { ...this.stats, ms: Math.round(this.stats.ms), complete });
    return complete;
  }

  /**
   * Per partition this node holds, the members to compare it with: its
   * other holders, which took every write while this node was away when one
   * of them also held it then (the table without this node); otherwise the
   * holders of that table too. A member that held it then and no longer does
   * hands its copy to this node (rebalancer.ts) before dropping it; comparing
   * with it while it drops would only see noise.
   */
  private sourcesOf(t: PartitionTable): Map<number, string[]> {
    const self = this.c.self;
    const before = this.c.tableOf(t.members.filter((m) => m !== self));
    const out = new Map<number, string[]>();
    for (const p of this.held(t)) {
      const current = [t.owner(p), ...t.replicas(p)].filter((m) => m !== self);
      const then = [before.owner(p), ...before.replicas(p)];
      out.set(p, current.some((m) => then.includes(m)) ? current : [...new Set([...current, ...then])]);
    }
    return out;
  }

  /** A member's digests of `partitions` (asked strictly, again while its table is behind), or null. */
  private async digestsOf(peer: string, partitions: number[]): Promise<PartitionDigests | null> {
    const c = this.c;
    for (let attempt = 0; attempt < 50 && !c.stopped(); attempt++) {
      let res: PeerResponse;
      try {
        res = await c.request(peer, { t: "digest", partitions, from: c.self, strict: true });
      } catch (e) {
        c.log.warn("warm catch-up: digest request failed", { peer, error: e instanceof Error ? e.message : String(e) });
        return null;
      }
      if (res.t === "digests") {
        this.stats.bytes += res.words.byteLength;
        return new PartitionDigests(res.partitions, res.words);
      }
      if (res.t !== "error") return null;
      // the member's table does not name this node a holder yet: ask again shortly, for what this node still holds
      await c.pause(c.retryMs);
      const t = c.table();
      if (t !== null) {
        const now = new Set(this.held(t));
        partitions = partitions.filter((p) => now.has(p));
        if (partitions.length === 0) return new PartitionDigests([]);
      }
    }
    return null;
  }

  /** Brings every bucket where `peer` differs up to date from it; false when the member stopped answering. */
  private async compare(peer: string, theirs: PartitionDigests, local: PartitionDigests): Promise<boolean> {
    const c = this.c;
    let listing = this.listings.get(peer);
    if (!listing) this.listings.set(peer, (listing = { buckets: [], keys: new Set() }));
    const start: Bucket[] = [];
    for (const p of theirs.partitions) {
      for (let r = 0; r < DIGEST_RANGES; r++) {
        this.stats.rangesCompared++;
        if (local.sameAs(theirs, p, r)) continue;
        this.stats.rangesDiffering++;
        // the member holds nothing there: nothing to take, and it listed everything it has (nothing)
        if (theirs.count(p, r) === 0) listing.buckets.push({ partition: p, depth: 0, prefix: r });
        else start.push({ partition: p, depth: 0, prefix: r });
      }
    }
    const leaves = await differingLeaves(
      c.node,
      c.sync,
      c.partitionCount,
      start,
      (buckets) =>
        askChildDigests((p, msg) => c.request(p, msg), peer, buckets, (n) => {
          this.stats.bytes += n;
        }),
      this.turn,
    );
    if (leaves === null) return false;
    this.stats.buckets += leaves.length;
    const node = c.node;
    for (const batch of batchesOf(leaves, ENTRIES_BATCH_KEYS)) {
      let res: PeerResponse;
      try {
        res = await c.request(peer, { t: "bucketEntries", buckets: flatBuckets(batch) });
      } catch {
        return false;
      }
      if (res.t !== "entries") return false;
      listing.buckets.push(...batch);
      node.cachedNow = c.clock.now();
      try {
        for (const e of res.entries) {
          this.stats.received++;
          this.stats.bytes += e.key.length + (e.value?.length ?? 0) + 16;
          listing.keys.add(`${e.map}\0${latin1(e.key)}`);
          if (c.sync.apply(e)) this.stats.fetched++;
        }
      } finally {
        node.cachedNow = 0;
      }
    }
    return true;
  }

  /**
   * Remembers every entry this node holds now (the snapshot's, before any
   * member was asked or any command ran): only those may be dropped as
   * forgotten, and only while unchanged (same key hash and version at the
   * same index).
   */
  private noteStart(): void {
    const node = this.c.node;
    for (const name of node.mapNames()) {
      const t = node.findMap(name)!.table;
      const version = new Float64Array(t.hiWater).fill(Number.NaN);
      for (let i = 0; i < t.hiWater; i++) if (t.isLive(i)) version[i] = t.version[i]!;
      this.atStart.set(name, { hash: t.hash.slice(0, t.hiWater), version });
    }
  }

  /**
   * Drops the keys of this node that no member holds any more: entries it
   * held when the catch-up started, unchanged since, in held partitions,
   * that fall, for every member, in a bucket the member listed whole (a
   * bucket equal to this node's at any level means the member has the key)
   * without the key.
   */
  private async dropForgotten(sources: Map<number, string[]>): Promise<void> {
    const listed = new Map<string, { set: BucketSet; keys: Set<string> }>();
    for (const [peer, l] of this.listings) listed.set(peer, { set: bucketSet(l.buckets), keys: l.keys });
    const node = this.c.node;
    const pc = this.c.partitionCount;
    for (const [name, start] of this.atStart) {
      const m = node.findMap(name);
      if (!m) continue;
      const t = m.table;
      const n = Math.min(start.version.length, t.hiWater);
      for (let i = 0; i < n; i++) {
        if (i % 16_384 === 16_383) await this.turn();
        if (!t.isLive(i) || t.version[i] !== start.version[i] || t.hash[i] !== start.hash[i]) continue;
        const key = t.keyView(i);
        const p = partitionOf(key, pc);
        const from = sources.get(p);
        if (!from || from.length === 0) continue;
        const h = t.hash[i]!;
        const ls = from.map((peer) => listed.get(peer));
        if (!ls.every((l) => l !== undefined && inBuckets(l.set, p, h))) continue;
        const k = `${name}\0${latin1(key)}`;
        if (ls.some((l) => l!.keys.has(k))) continue;
        m.removeEntry(i);
        this.stats.dropped++;
      }
    }
  }

  /**
   * A command's catch-up found no source holding `key` in any form: drop this
   * node's copy if it is still the snapshot's (a copy written since stays).
   */
  forgetIfStale(map: string, key: Uint8Array): void {
    const m = this.c.node.findMap(map);
    const start = this.atStart.get(map);
    if (!m || !start) return;
    const idx = m.lookup(key, 0, key.length, false);
    if (idx < 0 || idx >= start.version.length) return;
    if (m.table.version[idx] !== start.version[idx] || m.table.hash[idx] !== start.hash[idx]) return;
    m.removeEntry(idx);
    this.stats.dropped++;
  }






}
