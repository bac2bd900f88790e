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
 * Divergence found in one round is repaired in that round, so a replica
 * that missed writes holds them again within one interval of being
 * reachable. Everything goes through the injected Clock and request
 * function, so the simulator runs it like the rest.
 */
import type { Clock, Timer } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import type { ShoalNode } from "../node.ts";
import { hashBytes } from "../store/hash.ts";
import type { ClusterBugs } from "./bugs.ts";
import { DIGEST_RANGES, digestPartitionsPaced, entriesInRangesPaced, PartitionDigests, type PartitionRange, rangeOfHash } from "./digest.ts";
import type { EntrySync } from "./entry-sync.ts";
import { partitionOf } from "./hash.ts";
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

const BATCH = 1024;

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

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

  constructor(private readonly o: AntiEntropyOptions) {}

  /** Starts the background rounds (no-op with intervalMs 0). */
  start(): void {
    if (this.o.intervalMs <= 0 || this.o.bugs?.noAntiEntropy) return;
    // bounded rate: a round that took d ms is followed by at least 4·d ms of rest, so anti-entropy takes at most a
    // fifth of this node's time however big its tables are (the interval then stretches, and the metrics show it)
    const tick = (): void => {
      if (this.stopped) return;
      void this.round().finally(() => {
        if (!this.stopped) this.timer = this.o.clock.setTimer(Math.max(this.o.intervalMs, 4 * this.stats.lastRoundMs), tick);
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
    if (settled) budget -= await this.moveOrphans(t, budget);
    const owned: number[] = [];
    for (let p = 0; p < t.partitionCount; p++) if (t.owner(p) === o.self && t.replicas(p).length > 0) owned.push(p);
    if (owned.length > 0 && budget > 0) {
      const local = await digestPartitionsPaced(o.node, o.sync, t.partitionCount, owned, this.pause);
      const replicas = [...new Set(owned.flatMap((p) => t.replicas(p)))];
      const theirs = new Map<string, PartitionDigests | null>();
      await Promise.all(replicas.map(async (r) => theirs.set(r, await this.digestsOf(r, owned.filter((p) => t.replicas(p).includes(r))))));
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
      if (differ.size > 0) await this.repair(t, differ, budget);
      if (settled && !o.bugs?.noAntiEntropy) await this.confirmTombstones(t, alike, local);
    }
    this.stats.lastRoundMs = o.clock.monotonic() - started;
  }

  /** A replica's digests of `partitions`, or null when it did not answer. */
  private async digestsOf(peer: string, partitions: number[]): Promise<PartitionDigests | null> {
    try {
      const res = await this.o.request(peer, { t: "digest", partitions });
      if (res.t === "digests" && res.partitions.length === partitions.length) return new PartitionDigests(res.partitions, res.words);
    } catch {
      // counted below
    }
    this.stats.failures++;
    return null;
  }

  /** Brings the differing ranges up to date on this node and on every replica of their partitions. */
  private async repair(t: PartitionTable, differ: Map<number, string[]>, budget: number): Promise<void> {
    const o = this.o;
    const ranges = [...differ.keys()].map((id) => ({ partition: Math.floor(id / DIGEST_RANGES), range: id % DIGEST_RANGES }));
    // what this node holds in those ranges, and what each differing replica holds there
    const mine = new Map<string, number>();
    const keys = new Map<string, { map: string; key: Uint8Array }>();
    for (const e of await entriesInRangesPaced(o.node, o.sync, t.partitionCount, ranges, false, this.pause)) {
      const k = `${e.map}\0${latin1(e.key)}`;
      mine.set(k, e.version);
      keys.set(k, { map: e.map, key: e.key });
    }
    const askEach = new Map<string, number[]>();
    for (const [id, hs] of differ) for (const h of hs) (askEach.get(h) ?? askEach.set(h, []).get(h)!).push(id);
    const theirs = new Map<string, Map<string, number>>();
    await Promise.all(
      [...askEach].map(async ([h, ids]) => {
        const flat = ids.flatMap((id) => [Math.floor(id / DIGEST_RANGES), id % DIGEST_RANGES]);
        let res: PeerResponse;
        try {
          res = await o.request(h, { t: "range", ranges: flat, values: false });
        } catch {
          this.stats.failures++;
          return;
        }
        if (res.t !== "entries") return;
        const versions = new Map<string, number>();
        for (const e of res.entries) {
          const k = `${e.map}\0${latin1(e.key)}`;
          versions.set(k, e.version);
          if (!keys.has(k)) keys.set(k, { map: e.map, key: e.key });
        }
        theirs.set(h, versions);
      }),
    );
    // newest version of each key, and who has it
    const pulls = new Map<string, { map: string; key: Uint8Array }[]>();
    const plan: { k: string; p: number; r: number; newest: number }[] = [];
    for (const [k, mk] of keys) {
      if (plan.length >= budget) break;
      const p = partitionOf(mk.key, t.partitionCount);
      const r = rangeOfHash(hashBytes(mk.key, 0, mk.key.length));
      const own = mine.get(k) ?? 0;
      let newest = own;
      let from: string | null = null;
      for (const h of differ.get(p * DIGEST_RANGES + r) ?? []) {
        const v = theirs.get(h)?.get(k) ?? 0;
        if (v > newest) {
          newest = v;
          from = h;
        }
      }
      const stale = (differ.get(p * DIGEST_RANGES + r) ?? []).some((h) => theirs.has(h) && (theirs.get(h)!.get(k) ?? 0) < newest);
      if (from === null && !stale) continue;
      plan.push({ k, p, r, newest });
      if (from !== null) (pulls.get(from) ?? pulls.set(from, []).get(from)!).push(mk);
    }
    // pull what this node lacks
    await Promise.all(
      [...pulls].map(async ([h, wanted]) => {
        for (let i = 0; i < wanted.length; i += BATCH) {
          let res: PeerResponse;
          try {
            res = await o.request(h, { t: "fetch", keys: wanted.slice(i, i + BATCH) });
          } catch {
            this.stats.failures++;
            return;
          }
          if (res.t !== "entries") return;
          for (const e of res.entries) if (e.version > 0 && o.sync.apply(e)) this.stats.entriesPulled++;
        }
      }),
    );
    // push the newest (now local) state to every replica of the partition that has less; replicas whose digest
    // matched this node's hold what this node held before the pull
    const pushes = new Map<string, EntryState[]>();
    for (const step of plan) {
      const mk = keys.get(step.k)!;
      const now = o.sync.current(mk.map, mk.key);
      if (now.version < step.newest) continue; // the pull failed: next round
      const differing = differ.get(step.p * DIGEST_RANGES + step.r) ?? [];
      for (const h of t.replicas(step.p)) {
        const has = differing.includes(h) ? (theirs.get(h)?.get(step.k) ?? (theirs.has(h) ? 0 : Number.POSITIVE_INFINITY)) : (mine.get(step.k) ?? 0);
        if (has < now.version) (pushes.get(h) ?? pushes.set(h, []).get(h)!).push(now);
      }
      this.stats.keysRepaired++;
    }
    await Promise.all(
      [...pushes].map(async ([h, list]) => {
        for (let i = 0; i < list.length; i += BATCH) {
          try {
            const res = await o.request(h, { t: "apply", entries: list.slice(i, i + BATCH) });
            if (res.t === "applied") this.stats.entriesPushed += Math.min(BATCH, list.length - i);
          } catch {
            this.stats.failures++;
            return;
          }
        }
      }),
    );
    if (plan.length > 0) o.log.info("anti-entropy repaired", { ranges: differ.size, keys: plan.length });
  }

  /**
   * Drops tombstones that every holder of their partition has (the ranges
   * matched on every replica) and no other member holds anything near
   * (its digest of the range is empty), once old enough, while every member
   * is alive: the replicas first (`forget`), then here.
   */
  private async confirmTombstones(t: PartitionTable, alike: PartitionRange[], local: PartitionDigests): Promise<void> {
    const o = this.o;
    if (alike.length === 0 || o.sync.tombstoneCount() === 0 || !o.allAlive()) return;
    const minAge = o.confirmMinAgeMs ?? Math.max(30_000, 3 * o.intervalMs);
    const limit = o.clock.now() - minAge;
    const ok = new Set(alike.filter((a) => local.count(a.partition, a.range) > 0).map((a) => a.partition * DIGEST_RANGES + a.range));
    const candidates: EntryState[] = [];
    for (const [map, k, tomb] of o.sync.tombs.entries()) {
      if (tomb.at > limit) continue;
      const key = Uint8Array.from(k, (c) => c.charCodeAt(0));
      const id = partitionOf(key, t.partitionCount) * DIGEST_RANGES + rangeOfHash(hashBytes(key, 0, key.length));
      if (ok.has(id)) candidates.push({ map, key, value: null, expireAt: 0, version: tomb.version });
      if (candidates.length >= o.maxKeys) break;
    }
    if (candidates.length === 0) return;
    // members that hold no copy of these partitions must hold nothing in those ranges (no stale copy to come back)
    const parts = [...new Set(candidates.map((c) => partitionOf(c.key, t.partitionCount)))];
    for (const m of t.members) {
      if (m === o.self) continue;
      const outside = parts.filter((p) => t.owner(p) !== m && !t.replicas(p).includes(m));
      if (outside.length === 0) continue;
      const d = await this.digestsOf(m, outside);
      if (!d) return;
      for (let i = candidates.length - 1; i >= 0; i--) {
        const c = candidates[i]!;
        const p = partitionOf(c.key, t.partitionCount);
        if (d.covers(p) && d.count(p, rangeOfHash(hashBytes(c.key, 0, c.key.length))) > 0) candidates.splice(i, 1);
      }
    }
    const byReplica = new Map<string, EntryState[]>();
    for (const c of candidates) for (const h of t.replicas(partitionOf(c.key, t.partitionCount))) (byReplica.get(h) ?? byReplica.set(h, []).get(h)!).push(c);
    const failed = new Set<string>();
    await Promise.all(
      [...byReplica].map(async ([h, list]) => {
        try {
          const res = await o.request(h, { t: "forget", entries: list });
          if (res.t !== "applied") failed.add(h);
        } catch {
          failed.add(h);
        }
      }),
    );
    for (const c of candidates) {
      if (t.replicas(partitionOf(c.key, t.partitionCount)).some((h) => failed.has(h))) continue;
      if (o.sync.forget(c.map, c.key, c.version)) this.stats.tombstonesConfirmed++;
    }
  }

  /**
   * Hands copies of partitions this node does not hold to their holders and
   * drops them once every holder took them (a value only if it is still at
   * the version pushed). Returns how many it moved (counted against the budget).
   */
  private async moveOrphans(t: PartitionTable, budget: number): Promise<number> {
    const o = this.o;
    const held = new Uint8Array(t.partitionCount);
    for (let p = 0; p < t.partitionCount; p++) if (t.owner(p) === o.self || t.replicas(p).includes(o.self)) held[p] = 1;
    const notHeld: number[] = [];
    for (let p = 0; p < t.partitionCount; p++) if (held[p] === 0) notHeld.push(p);
    if (notHeld.length === 0) return 0;
    const all: PartitionRange[] = notHeld.flatMap((p) => Array.from({ length: DIGEST_RANGES }, (_, r) => ({ partition: p, range: r })));
    const orphans = (await entriesInRangesPaced(o.node, o.sync, t.partitionCount, all, true, this.pause)).slice(0, budget);
    if (orphans.length === 0) return 0;
    const byHolder = new Map<string, EntryState[]>();
    for (const e of orphans) {
      const p = partitionOf(e.key, t.partitionCount);
      for (const h of [t.owner(p), ...t.replicas(p)]) (byHolder.get(h) ?? byHolder.set(h, []).get(h)!).push(e);
    }
    const failed = new Set<string>();
    await Promise.all(
      [...byHolder].map(async ([h, list]) => {
        for (let i = 0; i < list.length; i += BATCH) {
          try {
            const res = await o.request(h, { t: "apply", entries: list.slice(i, i + BATCH) });
            if (res.t !== "applied") throw new Error(res.t === "error" ? res.message : "unexpected answer");
          } catch {
            failed.add(h);
            return;
          }
        }
      }),
    );
    if (o.table() !== t) return orphans.length; // the table moved on meanwhile: keep the copies, look again next round
    let moved = 0;
    for (const e of orphans) {
      const p = partitionOf(e.key, t.partitionCount);
      if ([t.owner(p), ...t.replicas(p)].some((h) => failed.has(h))) continue;
      if (e.value === null) {
        if (o.sync.forget(e.map, e.key, e.version)) moved++;
        continue;
      }
      const m = o.node.findMap(e.map);
      const idx = m ? m.lookup(e.key, 0, e.key.length, false) : -1;
      if (m && idx >= 0 && m.table.version[idx] === e.version) {
        m.removeEntry(idx);
        moved++;
      }
    }
    this.stats.orphansMoved += moved;
    if (moved > 0) o.log.info("orphaned copies handed to their holders", { entries: moved });
    return orphans.length;
  }

  // ---- the answers to other owners' rounds ----

  /** This node's digests of `partitions`. */
  async digest(partitions: number[]): Promise<PeerResponse> {
    const pc = this.o.partitionCount;
    const ps = partitions.filter((p) => p < pc);
    const d = await digestPartitionsPaced(this.o.node, this.o.sync, pc, ps, this.pause);
    return { t: "digests", partitions: ps, words: d.words };
  }

  /** This node's entries (or versions) in the given ranges (flat pairs partition, range). */
  async range(flat: number[], values: boolean): Promise<PeerResponse> {
    const ranges: PartitionRange[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (flat[i]! < this.o.partitionCount && flat[i + 1]! < DIGEST_RANGES) ranges.push({ partition: flat[i]!, range: flat[i + 1]! });
    }
    return { t: "entries", entries: await entriesInRangesPaced(this.o.node, this.o.sync, this.o.partitionCount, ranges, values, this.pause), next: null };
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
