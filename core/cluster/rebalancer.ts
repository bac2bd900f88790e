/**
 * Rebalancing: after each table change this node pushes the entries whose
 * holders changed to their new holders (`apply` in batches of up to
 * `batchSize` entries or about 1 MiB, streamed from the scan with one batch
 * in flight per target: memory stays bounded whatever the key count), and
 * drops the ones it no longer holds once every push succeeded. Entries it
 * drops go to every holder of the new table whose digests differ, not only
 * to the new ones: a holder that stays may lack an acknowledged write (W of
 * N copies), and this copy may be the last one besides the owner's. One pass
 * runs at a time; a table change during a pass starts another one that
 * compares against nothing (every entry to every other holder).
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import type { ShoalNode } from "../node.ts";
import { hashBytes } from "../store/hash.ts";
import { askChildDigests, type Bucket, type BucketSet, bucketSet, differingLeaves, inBuckets } from "./buckets.ts";
import type { ClusterBugs } from "./bugs.ts";
import { DIGEST_RANGES, digestPartitionsPaced, PartitionDigests } from "./digest.ts";
import type { EntrySync } from "./entry-sync.ts";
import { partitionOf } from "./hash.ts";
import type { PartitionTable } from "./partition-table.ts";
import type { PeerRequest, PeerResponse } from "./peer-protocol.ts";
import { PushStream } from "./push-stream.ts";

/** Entry indices a rebalance scan visits between yields to the event loop. */
const SCAN_SLICE = 16_384;

/** What rebalancing needs from the cluster layer. */
export interface RebalancerContext {
  self: string;
  node: ShoalNode;
  sync: EntrySync;
  clock: Clock;
  log: Logger;
  /** Most entries per batch (default 1024). */
  batchSize?: number;
  table(): PartitionTable | null;
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  stopped(): boolean;
  /** Planted bugs (simulator only). */
  bugs?: ClusterBugs;
}

/** Moves entries to their holders after table changes. */
export class Rebalancer {
  /** Entries pushed to new holders so far. */
  rebalanced = 0;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly c: RebalancerContext) {}

  /** Starts a pass for the change from `old` to the current table, or marks the running pass to go again. */
  tableChanged(old: PartitionTable | null): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.passes(old).finally(() => {
      this.running = null;
    });
  }

  /** True while a pass runs. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Resolves when no pass is running. */
  async settled(): Promise<void> {
    for (let i = 0; i < 100 && this.running; i++) await this.running;
  }

  private async passes(old: PartitionTable | null): Promise<void> {
    for (let round = 0; round < 50 && !this.c.stopped(); round++) {
      this.again = false;
      // no table: the agreed configuration has no members (every member left at once): nothing to hand to anyone
      const next = this.c.table();
      if (next === null) return;
      await this.pushChanged(old, next);
      if (!this.again) return;
      old = null; // tables changed meanwhile: compare against nothing (push every entry to every other holder)
    }
  }

  /**
   * Per new holder: the key-hash buckets (buckets.ts) where it holds
   * something other than this node (only their entries need pushing), found
   * from its partition digests and finer bucket digests where those differ.
   * A range it holds nothing of is pushed whole; a holder that does not
   * answer gets everything (null).
   */
  private async differing(targetsOf: readonly string[][]): Promise<Map<string, BucketSet | null>> {
    const byTarget = new Map<string, number[]>();
    targetsOf.forEach((targets, p) => {
      for (const h of targets) (byTarget.get(h) ?? byTarget.set(h, []).get(h)!).push(p);
    });
    const out = new Map<string, BucketSet | null>();
    if (byTarget.size === 0) return out;
    const pc = targetsOf.length;
    const all = [...new Set([...byTarget.values()].flat())];
    const turn = (): Promise<void> => new Promise((resolve) => this.c.clock.setTimer(0, resolve));
    const local = await digestPartitionsPaced(this.c.node, this.c.sync, pc, all, turn);
    await Promise.all(
      [...byTarget].map(async ([h, partitions]) => {
        out.set(h, null);
        let res: PeerResponse;
        try {
          res = await this.c.request(h, { t: "digest", partitions });
        } catch {
          return;
        }
        if (res.t !== "digests") {
          this.c.log.warn("rebalance: no digests from a new holder, pushing it everything", { peer: h });
          return;
        }
        const theirs = new PartitionDigests(res.partitions, res.words);
        const whole: Bucket[] = [];
        const refine: Bucket[] = [];
        for (const p of partitions) {
          for (let r = 0; r < DIGEST_RANGES; r++) {
            if (theirs.covers(p) && local.sameAs(theirs, p, r)) continue;
            (theirs.covers(p) && theirs.count(p, r) > 0 ? refine : whole).push({ partition: p, depth: 0, prefix: r });
          }
        }
        const leaves = await differingLeaves(
          this.c.node,
          this.c.sync,
          pc,
          refine,
          (buckets) => askChildDigests((peer, msg) => this.c.request(peer, msg), h, buckets),
          turn,
        );
        if (leaves !== null) out.set(h, bucketSet([...whole, ...leaves]));
        else {
          // the finer digests did not come: every range that differs goes whole
          this.c.log.warn("rebalance: no bucket digests from a new holder, pushing it the differing ranges whole", { peer: h });
          out.set(h, bucketSet([...whole, ...refine]));
        }
      }),
    );
    return out;
  }

  /**
   * Pushes entries whose holders changed between `old` and `next`; drops
   * those this node no longer holds. The scan streams: each target gets its
   * entries in `apply` batches serialised from the store as the scan goes
   * (a full batch waits for the one in flight, {@link PushStream}), and the
   * entries to drop are remembered as slot and version only, so a pass holds
   * a few MiB whatever the number of keys it moves.
   */
  async pushChanged(old: PartitionTable | null, next: PartitionTable): Promise<void> {
    if (old === null && this.c.node.keyCount() === 0 && this.c.sync.tombstoneCount() === 0) return;
    const self = this.c.self;
    const streams = new Map<string, PushStream>();
    const limits = { entries: this.c.batchSize ?? 1024, bytes: 1 << 20 };
    const streamTo = (h: string): PushStream => {
      let s = streams.get(h);
      if (!s) streams.set(h, (s = new PushStream(h, (peer, msg) => this.c.request(peer, msg), limits)));
      return s;
    };
    // A big scan blocks this node's event loop: start it on a fresh timer turn (the membership reply that announced
    // the change goes out first) and yield every SCAN_SLICE indices, so SWIM probes and pulls are still answered.
    // Entry indices are stable, so the scan resumes where it was; later writes follow the new table anyway.
    const big = this.c.node.keyCount() > SCAN_SLICE;
    const pause = (): Promise<void> => new Promise((resolve) => this.c.clock.setTimer(0, resolve));
    if (big) await pause();
    const now = this.c.clock.now();
    // per partition, once: the new holders to push to and whether we keep it
    const streamsOf: PushStream[][] = [];
    const targetsOf: string[][] = [];
    const keep: boolean[] = [];
    for (let p = 0; p < next.partitionCount; p++) {
      const holders = [next.owner(p), ...next.replicas(p)];
      const kept = holders.includes(self);
      const before = old ? [old.owner(p), ...old.replicas(p)] : [];
      // a copy this node is about to drop goes to every holder where it differs, the ones that stay too: a write
      // needs only W of the N copies, so a holder that stays may lack one that this node has (CHAOS.md F10)
      const dropping = !kept && !this.c.bugs?.pushNewHoldersOnly;
      const targets = holders.filter((h) => h !== self && (dropping || !before.includes(h)));
      targetsOf.push(targets);
      streamsOf.push(targets.map(streamTo));
      keep.push(kept);
    }
    // a new holder is sent only the key-hash buckets where it holds something else than this node (a member back
    // from a restart with its snapshot, or one that caught up meanwhile, already has most of it)
    const differ = await this.differing(targetsOf);
    const differOf = targetsOf.map((targets) => targets.map((h) => differ.get(h) ?? null));
    /** Entries to drop once every push succeeded: per map, slot and the version pushed. */
    const drops = new Map<string, { idx: number[]; version: number[] }>();
    for (const name of this.c.node.mapNames()) {
      let store = this.c.node.map(name);
      let t = store.table;
      const drop = { idx: [] as number[], version: [] as number[] };
      drops.set(name, drop);
      for (let i = 0; i < t.hiWater; i++) {
        if (big && i % SCAN_SLICE === SCAN_SLICE - 1) {
          await pause();
          if (this.c.stopped()) return;
          store = this.c.node.map(name);
          t = store.table;
        }
        if (!t.isLive(i)) continue;
        const exp = t.expireAt[i]!;
        if (exp !== 0 && exp <= now) continue;
        const p = partitionOf(t.keyView(i), next.partitionCount);
        const targets = streamsOf[p]!;
        if (targets.length === 0 && keep[p]) continue;
        const h = t.hash[i]!;
        const sets = differOf[p]!;
        for (let k = 0; k < targets.length; k++) {
          const set = sets[k]!;
          if (set !== null && !inBuckets(set, p, h)) continue;
          const s = targets[k]!;
          if (t.kind(i) === 0) s.addStored(name, store, i);
          else s.add(this.c.sync.read(name, i));
          if (s.full) {
            await s.cut(); // waits only while this target's previous batch is in flight
            if (this.c.stopped()) return;
            t = store.table;
          }
        }
        if (!keep[p]) {
          drop.idx.push(i);
          drop.version.push(t.version[i]!);
        }
      }
    }
    // tombstones move with their partitions too (never dropped here: they expire by the GC horizon)
    for (const e of this.c.sync.tombstones()) {
      const p = partitionOf(e.key, next.partitionCount);
      const kh = hashBytes(e.key, 0, e.key.length);
      for (const h of targetsOf[p]!) {
        const set = differ.get(h);
        if (set && !inBuckets(set, p, kh)) continue;
        const s = streamTo(h);
        s.add(e);
        if (s.full) await s.cut();
      }
    }
    const results = await Promise.all([...streams.values()].map(async (s) => [s, await s.finish()] as const));
    let failed = false;
    for (const [s, ok] of results) {
      this.rebalanced += s.sent;
      if (ok) continue;
      failed = true;
      this.c.log.warn("rebalance push failed", { peer: s.peer, error: s.error instanceof Error ? s.error.message : String(s.error) });
    }
    if (failed || this.c.table() !== next) return; // keep our copies when a push failed or the table moved on
    for (const [name, drop] of drops) {
      const m = this.c.node.map(name);
      const t = m.table;
      for (let j = 0; j < drop.idx.length; j++) {
        const i = drop.idx[j]!;
        // still the entry pushed (same version), and in a partition this node does not hold
        if (t.isLive(i) && t.version[i] === drop.version[j] && !keep[partitionOf(t.keyView(i), next.partitionCount)]) m.removeEntry(i);
      }
    }
  }
}
