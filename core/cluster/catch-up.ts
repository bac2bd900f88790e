/**
 * Catching up the partitions this node holds from the members that held
 * them before, so it never serves a copy that lacks acknowledged writes:
 * - joining: the initial pull of every partition it holds from every other
 *   member (paged, strict: a peer serves it once its table names this node
 *   a holder); until it is done the node is `syncing`;
 * - a takeover (this node became the owner of a partition after a table
 *   change), a join that some holder did not serve, or a return (others
 *   declared this node dead and it refuted that): the partition stays
 *   "catching" — the router fetches each command's keys from its sources
 *   first — until a background pull from every source has finished.
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import type { ShoalNode } from "../node.ts";
import type { ClusterBugs } from "./bugs.ts";
import type { EntrySync } from "./entry-sync.ts";
import type { PartitionTable } from "./partition-table.ts";
import type { PeerRequest, PeerResponse, PullCursor } from "./peer-protocol.ts";

/** What catching up needs from the cluster layer. */
export interface CatchUpContext {
  self: string;
  node: ShoalNode;
  sync: EntrySync;
  clock: Clock;
  log: Logger;
  probeIntervalMs: number;
  table(): PartitionTable | null;
  /** The table for `members` with this cluster's settings (a what-if). */
  tableOf(members: readonly string[]): PartitionTable;
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  pause(ms: number): Promise<void>;
  stopped(): boolean;
  /** True until the initial pull after joining is done. */
  syncing(): boolean;
  /** True once a graceful leave started. */
  leaving(): boolean;
  /**
   * Told when `peer` served a strict pull of partition `p` to the end: its
   * table then names this node a holder (the owner, for a takeover), so it
   * no longer acts as the owner of `p` under an older table.
   */
  servedBy?(p: number, peer: string): void;
  /** Planted bugs (simulator only). */
  bugs?: ClusterBugs;
}

/** The partitions this node is catching up, and the pulls that do it. */
export class CatchUp {
  /** Entries received by the initial pull after joining (taken or already present). */
  pulled = 0;
  /** Bytes of keys and values (plus 16 per entry for version and expiry) the initial pull received. */
  pulledBytes = 0;
  /** Times this node refuted its own death and caught up (for metrics and tests). */
  returns = 0;
  /** Partitions this node took over (owner) and has not pulled yet → members that held them before. */
  private readonly catching = new Map<number, string[]>();
  private catchingRun: Promise<void> | null = null;

  constructor(private readonly c: CatchUpContext) {}

  /** The members to fetch a key of partition `p` from before serving it, or undefined when caught up. */
  sourcesOf(p: number): readonly string[] | undefined {
    return this.catching.get(p);
  }

  /** Partitions taken over and not pulled yet (for metrics and tests). */
  get pending(): number {
    return this.catching.size;
  }

  /** The partitions taken over and not pulled yet, ascending (the dashboard highlights them). */
  partitions(): number[] {
    return [...this.catching.keys()].sort((a, b) => a - b);
  }

  /** Forgets every pending partition (a graceful leave: this node owns nothing any more). */
  clear(): void {
    this.catching.clear();
  }

  /**
   * The initial pull finished: with `complete` nothing is left to catch up
   * from the join; otherwise some holder never served it, so keep catching
   * up from the join's sources (per key, and in the background).
   */
  joined(complete: boolean): void {
    if (complete) this.catching.clear();
    else this.pullPending();
  }

  /** Starts the background takeover pulls unless they are running or nothing is pending. */
  private pullPending(): void {
    if (this.catching.size > 0 && this.catchingRun === null) {
      this.catchingRun = this.pullTakeovers().finally(() => {
        this.catchingRun = null;
      });
    }
  }

  /**
   * After a table change, the partitions this node now owns but did not
   * own before may lack writes that reached only the other copies (a new
   * owner that was a replica missing the last write, or a node that held no
   * copy at all). Until it has pulled them from the members that held them
   * (previous owner and replicas, and the current replicas), the router
   * fetches each command's keys from those members first.
   */
  noteTakeovers(old: PartitionTable | null, next: PartitionTable, members: readonly string[]): void {
    const self = this.c.self;
    const live = new Set(members);
    for (const [p, src] of this.catching) {
      const still = src.filter((m) => live.has(m));
      if (next.owner(p) !== self || still.length === 0) this.catching.delete(p);
      else if (still.length !== src.length) this.catching.set(p, still);
    }
    if (old === null || this.c.syncing() || this.c.bugs?.noTakeoverCatchUp) return;
    for (let p = 0; p < next.partitionCount; p++) {
      if (next.owner(p) !== self || old.owner(p) === self) continue;
      const src = [...new Set([old.owner(p), ...old.replicas(p), ...next.replicas(p)])].filter((m) => m !== self && live.has(m));
      if (src.length > 0) this.catching.set(p, src);
    }
    this.pullPending();
  }

  /**
   * The failure detector declared `member` dead (after this node's table
   * changed, a commit can get here before the verdict does): it is no
   * source any more, as it would not have been had the verdict come first
   * ({@link noteTakeovers} keeps live sources only). A partition left with
   * no source is caught up.
   */
  memberGone(member: string): void {
    for (const [p, src] of this.catching) {
      if (!src.includes(member)) continue;
      const still = src.filter((m) => m !== member);
      if (still.length === 0) this.catching.delete(p);
      else this.catching.set(p, still);
    }
  }

  /**
   * This node skipped table changes it never saw (it learned a newer
   * committed table at once, or it changed clusters): who held its
   * partitions in between is unknown, so each partition it owns catches up
   * from every live member before it serves it.
   */
  noteGap(members: readonly string[]): void {
    const t = this.c.table();
    if (t === null || this.c.syncing() || this.c.leaving()) return;
    const self = this.c.self;
    const others = members.filter((m) => m !== self);
    this.catching.clear();
    if (others.length === 0) return;
    for (let p = 0; p < t.partitionCount; p++) if (t.owner(p) === self) this.catching.set(p, [...others]);
    this.c.log.warn("table changes were skipped: catching up every partition this node owns from all live members", { partitions: this.catching.size });
    this.pullPending();
  }

  /**
   * Joining: the partitions this node owns were held by others until now.
   * Until the initial pull is done, commands on them fetch their keys from
   * those holders (the table without this node) first.
   */
  noteJoinTakeovers(): void {
    const t = this.c.table();
    if (t === null) return;
    if (t.members.length < 2) {
      this.catching.clear();
      return;
    }
    const self = this.c.self;
    const others = t.members.filter((m) => m !== self);
    const before = this.c.tableOf(others);
    for (let p = 0; p < t.partitionCount; p++) {
      if (t.owner(p) !== self) this.catching.delete(p);
      else this.catching.set(p, [...new Set([before.owner(p), ...before.replicas(p)])]);
    }
  }

  /**
   * Others declared this node dead (it was cut off, paused, or too slow to
   * answer) and it has just refuted that. Meanwhile they rebuilt their
   * tables without it and other members may have owned its partitions and
   * taken writes, even if this node's own table never changed. Like a join:
   * the partitions it owns catch up from their holders in the table without
   * it before it serves them again (each source answers once its own table
   * names this node the owner again).
   */
  noteReturn(): void {
    if (this.c.stopped() || this.c.syncing() || this.c.leaving()) return;
    const t = this.c.table();
    if (t === null || t.members.length < 2) return;
    this.returns++;
    const self = this.c.self;
    const others = t.members.filter((m) => m !== self);
    const without = this.c.tableOf(others);
    for (let p = 0; p < t.partitionCount; p++) {
      if (t.owner(p) !== self) continue;
      const src = new Set([...(this.catching.get(p) ?? []), without.owner(p), ...without.replicas(p)]);
      src.delete(self);
      if (src.size > 0) this.catching.set(p, [...src]);
    }
    this.c.log.warn("declared dead by the others and refuted: catching up the partitions this node owns", { partitions: this.catching.size });
    this.pullPending();
  }

  /**
   * Pulls taken-over partitions from their previous holders until none is
   * left. Strict: a holder serves the pull only once its own table names
   * this node as a holder, so it no longer acts as the owner; a refusal or
   * failure keeps the partition pending for the next round.
   */
  private async pullTakeovers(): Promise<void> {
    for (let round = 0; round < 100 && this.catching.size > 0 && !this.c.stopped(); round++) {
      if (round > 0) await this.c.pause(this.c.probeIntervalMs);
      const bySource = new Map<string, number[]>();
      const snapshot = new Map(this.catching);
      for (const [p, src] of snapshot) {
        for (const m of src) {
          let list = bySource.get(m);
          if (!list) bySource.set(m, (list = []));
          list.push(p);
        }
      }
      let entries = 0;
      const failed = new Set<string>();
      await Promise.all(
        [...bySource].map(async ([peer, partitions]) => {
          let after: PullCursor | null = null;
          for (let page = 0; page < 100_000 && !this.c.stopped(); page++) {
            let res: PeerResponse;
            try {
              res = await this.c.request(peer, { t: "pull", partitions, after, from: this.c.self, strict: true, asOwner: true });
            } catch (e) {
              failed.add(peer);
              this.c.log.warn("takeover pull failed", { peer, error: e instanceof Error ? e.message : String(e) });
              return;
            }
            if (res.t !== "entries") {
              failed.add(peer);
              return;
            }
            for (const e of res.entries) this.c.sync.apply(e);
            entries += res.entries.length;
            if (res.next === null) {
              for (const p of partitions) this.c.servedBy?.(p, peer);
              return;
            }
            after = res.next;
          }
        }),
      );
      // done with what was pending when the round started, where every source served it (and the sources did not change)
      for (const [p, src] of snapshot) if (this.catching.get(p) === src && !src.some((m) => failed.has(m))) this.catching.delete(p);
      this.c.log.info("taken-over partitions pulled", { partitions: snapshot.size, entries, pending: this.catching.size });
    }
  }

  /** Pulls the entries of every partition this node holds from each other member (bounded pages). */
  async initialPull(): Promise<boolean> {
    const self = this.c.self;
    const held = (t: PartitionTable): number[] => {
      const out: number[] = [];
      for (let p = 0; p < t.partitionCount; p++) if (t.owner(p) === self || t.replicas(p).includes(self)) out.push(p);
      return out;
    };
    // the table may grow while the node joins (it learns the members one by one): pull every partition it holds
    // in its latest table from every member of that table, each (member, partition) once
    const pulledFrom = new Map<string, Set<number>>();
    let complete = true;
    let partitions = 0;
    for (let round = 0; round < 10 && !this.c.stopped(); round++) {
      const t = this.c.table();
      if (t === null || t.members.length < 2) break;
      const mine = held(t);
      partitions = mine.length;
      const todo: [string, number[]][] = [];
      for (const peer of t.members) {
        if (peer === self) continue;
        const done = pulledFrom.get(peer);
        const left = done ? mine.filter((p) => !done.has(p)) : mine;
        if (left.length > 0) todo.push([peer, left]);
      }
      if (todo.length === 0) return complete;
      const results = await Promise.all(todo.map(([peer, ps]) => this.pullFrom(peer, ps, held)));
      for (let i = 0; i < todo.length; i++) {
        const got = results[i];
        if (got === null) {
          complete = false;
          continue;
        }
        const peer = todo[i]![0];
        let done = pulledFrom.get(peer);
        if (!done) pulledFrom.set(peer, (done = new Set()));
        for (const p of got) done.add(p);
      }
      this.c.log.info("initial sync round done", { round, partitions, entries: this.pulled });
    }
    const t = this.c.table();
    if (t === null || t.members.length < 2) return complete;
    const mine = held(t);
    for (const peer of t.members) if (peer !== self && !mine.every((p) => pulledFrom.get(peer)?.has(p))) return false;
    return complete;
  }

  /**
   * Pulls `partitions` from one peer, all pages. A peer whose table is behind
   * refuses (it does not see this node as a holder yet): asked again shortly,
   * for the partitions this node still holds. The partitions pulled, or null
   * when the peer failed or kept refusing.
   */
  private async pullFrom(peer: string, partitions: number[], held: (t: PartitionTable) => number[]): Promise<number[] | null> {
    const self = this.c.self;
    // window of two pages: the next page is requested before this one is applied,
    // so the peer builds it while we apply (never more than one request outstanding)
    const pull = (after: PullCursor | null): Promise<PeerResponse> => {
      const r = this.c.request(peer, { t: "pull", partitions, after, from: self, strict: true });
      r.catch(() => undefined); // awaited below; a stop in between must not leave it unhandled
      return r;
    };
    let pending = pull(null);
    let refusals = 0;
    for (let page = 0; page < 100_000 && !this.c.stopped(); page++) {
      let res: PeerResponse;
      try {
        res = await pending;
      } catch (e) {
        this.c.log.warn("initial pull failed", { peer, error: e instanceof Error ? e.message : String(e) });
        return null;
      }
      if (res.t === "error") {
        if (refusals >= 50) return null;
        // the peer does not see this node as a holder yet (its table is behind): ask again shortly
        refusals++;
        await this.c.pause(Math.min(200, this.c.probeIntervalMs));
        const t = this.c.table();
        if (t !== null) {
          const now = new Set(held(t)); // our own table may have moved on too
          partitions = partitions.filter((p) => now.has(p));
          if (partitions.length === 0) return [];
        }
        pending = pull(null);
        continue;
      }
      if (res.t !== "entries") return null;
      if (res.next !== null) pending = pull(res.next);
      const node = this.c.node;
      node.cachedNow = this.c.clock.now(); // one clock read per page, as a RESP read event does (the store reads the time per lookup)
      try {
        for (const e of res.entries) {
          this.pulledBytes += e.key.length + (e.value?.length ?? 0) + 16;
          this.c.sync.apply(e);
        }
      } finally {
        node.cachedNow = 0;
      }
      this.pulled += res.entries.length;
      if (res.next === null) {
        for (const p of partitions) this.c.servedBy?.(p, peer);
        return partitions;
      }
    }
    return null;
  }
}
