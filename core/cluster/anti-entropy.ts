/**
 * Anti-entropy: replicas that heal themselves without client reads.
 *
 * Every `intervalMs` each node runs one round for the partitions it owns:
 * 1. it compares its digests (digest.ts: 16 key-hash ranges per partition)
 *    with each replica's (`digest`);
 * 2. for the ranges that differ it asks those replicas for the versions
 *    they hold (`range`, keys and versions only), pulls the newest state of
 *    each key it lacks (`fetch`) and pushes it to every replica that has an
 *    older one (`apply`): only differing entries travel, at most `maxKeys`
 *    per round (the rest next round);
 * 3. tombstones in ranges every holder has identically, which no other
 *    member holds anything of, older than `confirmMinAgeMs`, while every
 *    member is alive, are dropped on all holders (`forget`): confirmed
 *    collection; all others go at the grace period (tombstones.ts);
 * 4. copies of partitions this node no longer holds (orphans: a hand-off
 *    that failed, or a newer version that arrived during it) are pushed to
 *    their holders and dropped once they took them.
 * A round compares only versions up to a cutoff taken when it starts (this
 * node's clock, less `settleMs` if set), on both sides; a version ahead of
 * this node's clock waits for the next round its clock has passed it. Without it, under
 * a steady write load every range differed by the writes still on their
 * way to a replica, and the round listed and re-sent them. The cutoff is
 * enough on its own: an owner's writes and its digest request travel to a
 * replica in order on one connection, the request leaves after the round's
 * own paced scan (so after every batch stamped up to the cutoff), and a
 * replica applies a batch whole when it reads it, so the replica's digest
 * counts every write of this owner up to the cutoff that was not lost.
 * Divergence found in one round is repaired in that round, so a replica
 * that missed writes holds them again within one interval of being
 * reachable. Everything goes through the injected Clock and request
 * function, so the simulator runs it like the rest.
 */
import type { Clock, Timer } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import type { ShoalNode } from "../node.ts";
import { confirmTombstones, moveOrphans } from "./anti-entropy-cleanup.ts";
import { type RoundContext, repairRanges } from "./anti-entropy-repair.ts";
import type { ClusterBugs } from "./bugs.ts";
import { DIGEST_RANGES, digestPartitionsPaced, entriesInRangesPaced, PartitionDigests, type PartitionRange, } from "./digest.ts";
import type { EntrySync } from "./entry-sync.ts";
import { encodeVersion } from "./hlc.ts";
import type { PartitionTable } from "./partition-table.ts";
import type { EntryState, PeerRequest, PeerResponse } from "./peer-protocol.ts";

/** Counters for /metrics, GET /v1/cluster and tests. */
export interface AntiEntropyStats {
  /** Rounds run. */
  rounds: number;
  /** Partition key-hash ranges compared with a replica. */
  rangesCompared: number;
  /** Ranges found different on some replica (divergence found). */
  divergentRanges: number;
  /** Keys brought up to date here or on a replica (keys repaired). */
  keysRepaired: number;
  /** Entries pulled from replicas that had a newer version. */
  entriesPulled: number;
  /** Entries pushed to replicas that had an older version or none. */
  entriesPushed: number;
  /** Copies of partitions this node no longer holds, handed to their holders and dropped. */
  orphansMoved: number;
  /** Tombstones dropped everywhere after every holder was seen to have them. */
  tombstonesConfirmed: number;
  /** Tombstones dropped for age (the grace period). */
  tombstonesExpired: number;
  /** Replica requests that failed or timed out. */
  failures: number;
  /** Simulated or wall ms the last round took. */
  lastRoundMs: number;
}

/** Options for {@link AntiEntropy}. */
export interface AntiEntropyOptions {
  self: string;
  node: ShoalNode;
  sync: EntrySync;
  clock: Clock;
  log: Logger;
  partitionCount: number;
  /** Time between rounds, ms; 0 disables the background rounds. */
  intervalMs: number;
  /** Most keys one round repairs (bounds its rate). */
  maxKeys: number;
  /** Writes younger than this (ms, by version) are also left to replication and the next round (default 0: see the module doc). */
  settleMs?: number;
  /** Youngest a tombstone may be to be collected early (confirmed on every holder), ms (default 3 intervals, at least 30 s). */
  confirmMinAgeMs?: number;
  table(): PartitionTable | null;
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  /** Whether every member this node knows of is alive (no suspect or dead one): confirmed collection only then. */
  allAlive(): boolean;
  /** False while the node may not take part (joining, rebalancing, stopped). */
  ready(): boolean;
  bugs?: ClusterBugs;
}


/** The anti-entropy of one node: background rounds, and the answers to other owners' rounds. */
export class AntiEntropy {
  readonly stats: AntiEntropyStats = {
    rounds: 0,
    rangesCompared: 0,
    divergentRanges: 0,
    keysRepaired: 0,
    entriesPulled: 0,
    entriesPushed: 0,
    orphansMoved: 0,
    tombstonesConfirmed: 0,
    tombstonesExpired: 0,
    failures: 0,
    lastRoundMs: 0,
  };
  private timer: Timer | undefined;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** The table epoch and when this node first saw it (orphans move only under a table that has held for a round). */
  private tableSince = { epoch: -1, at: 0 };

  private readonly ctx: RoundContext;

  constructor(private readonly o: AntiEntropyOptions) {
    this.ctx = { o, stats: this.stats, pause: () => this.pause(), digestsOf: (peer, partitions, before) => this.digestsOf(peer, partitions, before) };
  }

  /** Starts the background rounds (no-op with intervalMs 0). */
  start(): void {
    if (this.o.intervalMs <= 0 || this.o.bugs?.noAntiEntropy) return;
    // bounded rate: a round that took d ms is followed by at least 4·d ms of rest, so anti-entropy takes at most a
    // fifth of this node's time however big its tables are (the interval then stretches, and the metrics show it).
    // Not after a round in which a member did not answer: its time went on waiting for the peer timeout, not on
    // work, and resting 4x that would leave what this round could not repair unrepaired for that long
    const tick = (): void => {
      if (this.stopped) return;
      const failures = this.stats.failures;
      void this.round().finally(() => {
        const waited = this.stats.failures > failures;
        const rest = waited ? this.o.intervalMs : Math.max(this.o.intervalMs, 4 * this.stats.lastRoundMs);
        if (!this.stopped) this.timer = this.o.clock.setTimer(rest, tick);
      });
    };
    this.timer = this.o.clock.setTimer(this.o.intervalMs, tick);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** Runs one round now (or joins the one running). */
  round(): Promise<void> {
    if (this.running) return this.running;
    const p = this.runRound().finally(() => {
      this.running = null;
    });
    this.running = p;
    return p;
  }

  private async runRound(): Promise<void> {
    const o = this.o;
    const t = o.table();
    if (t === null || !o.ready()) return;
    const started = o.clock.monotonic();
    this.stats.rounds++;
    this.stats.tombstonesExpired += o.sync.collect();
    if (t.epoch !== this.tableSince.epoch) this.tableSince = { epoch: t.epoch, at: started };
    const settled = started - this.tableSince.at >= o.intervalMs;
    let budget = o.maxKeys;
    if (settled) budget -= await moveOrphans(this.ctx, t, budget);
    const owned: number[] = [];
    for (let p = 0; p < t.partitionCount; p++) if (t.owner(p) === o.self && t.replicas(p).length > 0) owned.push(p);
    if (owned.length > 0 && budget > 0) {
      const before = this.cutoff();
      const local = await digestPartitionsPaced(o.node, o.sync, t.partitionCount, owned, this.pause, before);
      const replicas = [...new Set(owned.flatMap((p) => t.replicas(p)))];
      const theirs = new Map<string, PartitionDigests | null>();
      await Promise.all(replicas.map(async (r) => theirs.set(r, await this.digestsOf(r, owned.filter((p) => t.replicas(p).includes(r)), before))));
      // per range: the replicas that differ; ranges every replica answered for and matched are confirmed alike
      const differ = new Map<number, string[]>();
      const alike: PartitionRange[] = [];
      for (const p of owned) {
        for (let r = 0; r < DIGEST_RANGES; r++) {
          let same = true;
          for (const h of t.replicas(p)) {
            const d = theirs.get(h);
            if (!d) {
              same = false;
              continue;
            }
            this.stats.rangesCompared++;
            if (!local.sameAs(d, p, r)) {
              same = false;
              const id = p * DIGEST_RANGES + r;
              const list = differ.get(id);
              if (list) list.push(h);
              else differ.set(id, [h]);
            }
          }
          if (same) alike.push({ partition: p, range: r });
        }
      }
      this.stats.divergentRanges += differ.size;
      if (differ.size > 0) await repairRanges(this.ctx, t, differ, budget, before);
      if (settled && !o.bugs?.noAntiEntropy) await confirmTombstones(this.ctx, t, alike, local);
    }
    this.stats.lastRoundMs = o.clock.monotonic() - started;
  }

  /**
   * The newest version a round compares: this node's clock when the round starts (the newest version it issued or
   * took, or just below its wall time if that is later: an idle owner must still compare a replica's newer copy),
   * less `settleMs`. Later writes may still be on their way to a replica; the next round compares them.
   */
  private cutoff(): number {
    const clock = Math.max(this.o.sync.latestVersion(), encodeVersion(Math.floor(this.o.clock.now()), 0) - 1);
    return Math.max(0, clock - encodeVersion(this.o.settleMs ?? 0, 0));
  }

  /** A replica's digests of `partitions` (only versions up to `before`, if given), or null when it did not answer. */
  private async digestsOf(peer: string, partitions: number[], before = Number.POSITIVE_INFINITY): Promise<PartitionDigests | null> {
    try {
      const res = await this.o.request(peer, Number.isFinite(before) ? { t: "digest", partitions, before } : { t: "digest", partitions });
      if (res.t === "digests" && res.partitions.length === partitions.length) return new PartitionDigests(res.partitions, res.words);
    } catch {
      // counted below
    }
    this.stats.failures++;
    return null;
  }

  // ---- the answers to other owners' rounds ----

  /** This node's digests of `partitions` (only versions up to `before`, if given). */
  async digest(partitions: number[], before?: number): Promise<PeerResponse> {
    const pc = this.o.partitionCount;
    const ps = partitions.filter((p) => p < pc);
    const d = await digestPartitionsPaced(this.o.node, this.o.sync, pc, ps, this.pause, before);
    return { t: "digests", partitions: ps, words: d.words };
  }

  /** This node's entries (or versions) in the given ranges (flat pairs partition, range), only versions up to `before` if given. */
  async range(flat: number[], values: boolean, before?: number): Promise<PeerResponse> {
    const ranges: PartitionRange[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (flat[i]! < this.o.partitionCount && flat[i + 1]! < DIGEST_RANGES) ranges.push({ partition: flat[i]!, range: flat[i + 1]! });
    }
    return { t: "entries", entries: await entriesInRangesPaced(this.o.node, this.o.sync, this.o.partitionCount, ranges, values, this.pause, before), next: null };
  }

  /** Yields to the event loop (a fresh timer turn on the injected clock). */
  private readonly pause = (): Promise<void> => new Promise((resolve) => this.o.clock.setTimer(0, resolve));

  /** Drops the given tombstones, each only if still at its version. */
  forget(entries: EntryState[]): PeerResponse {
    let taken = 0;
    for (const e of entries) if (e.value === null && this.o.sync.forget(e.map, e.key, e.version)) taken++;
    return { t: "applied", taken };
  }
}
