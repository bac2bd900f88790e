/**
 * The owner's traffic to the other holders of a partition: pushing written
 * entry states to replicas (`apply`, batched per event-loop turn) and
 * fetching their copies of some keys (`fetch`). Both are strict by default:
 * a holder takes part only while its own table names this node the owner
 * and has the same member list (view).
 */
import { EntryBatch } from "./entry-batch.ts";
import type { EntrySync } from "./entry-sync.ts";
import { type EntryState, type PeerRequest, type PeerResponse, unpackEntries } from "./peer-protocol.ts";
import type { RouterStats } from "./router-stats.ts";

/** What the channel needs from the cluster layer. */
export interface ReplicaChannelContext {
  self: string;
  /** The view id of the current table (undefined before the first). */
  viewId(): number | undefined;
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  stats: RouterStats;
  /** Runs `fn` after the current event-loop turn (Clock.afterTurn); absent: a microtask. */
  afterTurn?(fn: () => void): void;
  /** Keeps writes for a replica that could not be reached (hinted handoff); asynchronous writes are handed over here. */
  hint?(replicas: readonly string[], entries: readonly EntryState[]): void;
}

/** How one holder answered a replicated write. */
export type ApplyResult = "took" | "refused" | "unreachable";

/** Who took a replicated write, once every holder answered or failed. */
export interface ReplicaAnswers {
  took: string[];
  /** Holders that answered with a refusal (nothing applied there). */
  refused: string[];
  /** Holders that failed or timed out: they may or may not have applied it. */
  unreachable: string[];
}

/** One write's replication: the acks as soon as they suffice, and every holder's answer once all are in. */
export interface Replication {
  /** Resolves with the acks once `need` arrived or every holder settled. */
  acks: Promise<number>;
  /** Resolves once every holder answered or failed (asked only when the quorum failed). */
  all(): Promise<ReplicaAnswers>;
}

/** A key a synchronous write stamped for replication, at its new version. */
export interface StampedKey {
  map: string;
  key: Uint8Array;
  version: number;
}

/** A holder's answer to a fetch. */
export interface FetchAnswer {
  peer: string;
  entries: EntryState[];
}

/** One replica's share of this turn's writes, not sent yet. */
interface Outgoing {
  batch: EntryBatch;
  /** Writes queued with {@link ReplicaChannel.pushAsync} (counted as failures if the batch fails). */
  asyncWrites: number;
  /** The batch's records that belong to asynchronous writes, as [from, to) index pairs (hinted if the replica is unreachable). */
  asyncRecords: number[];
  /** The batch's answer, shared by every synchronous write in it (created by the first). */
  done: Promise<ApplyResult> | null;
  resolve: ((r: ApplyResult) => void) | null;
}

/** A batch is sent at once, before the turn ends, past this many bytes of records. */
const MAX_BATCH_BYTES = 1 << 20;

/** Replication and fetches from one owner to the other holders. */
export class ReplicaChannel {
  /** Replica → this turn's writes not sent yet (see {@link outgoing}). */
  private readonly outbox = new Map<string, Outgoing>();
  private readonly later: (fn: () => void) => void;

  constructor(private readonly c: ReplicaChannelContext) {
    this.later = c.afterTurn ?? queueMicrotask;
  }

  /**
   * Asynchronous replication of a write to `keys` of `map` that just ran
   * here: stamps each key's state ({@link EntrySync.stampInto}) straight
   * into every holder's batch of this turn; nothing is awaited. Returns how
   * many entries were queued per holder (0: nothing to replicate).
   */
  pushAsync(holders: readonly string[], map: string, keys: readonly Uint8Array[], sync: EntrySync): number {
    const outs: Outgoing[] = [];
    for (const h of holders) outs.push(this.outgoing(h));
    const batches = outs.map((o) => o.batch);
    const from = batches.map((b) => b.count);
    let n = 0;
    for (const k of keys) if (sync.stampInto(map, k, batches) > 0) n++;
    if (n > 0) {
      this.c.stats.replicated += holders.length;
      for (let i = 0; i < outs.length; i++) {
        const out = outs[i]!;
        out.asyncWrites++;
        const last = out.asyncRecords.length;
        // consecutive asynchronous writes extend one range
        if (last > 0 && out.asyncRecords[last - 1] === from[i]) out.asyncRecords[last - 1] = out.batch.count;
        else out.asyncRecords.push(from[i]!, out.batch.count);
        this.sendIfFull(holders[i]!, out);
      }
    }
    return n;
  }

  /**
   * Synchronous replication of a write to `keys` of `map` that just ran
   * here: stamps each key into every holder's batch of this turn, like
   * {@link pushAsync}, and returns what was stamped with the replication to
   * wait for ({@link Replication.acks} resolves once `need` holders took
   * it, or all answered). Writes of one batch share its answer. Null when
   * nothing was stamped.
   */
  pushSync(holders: readonly string[], map: string, keys: readonly Uint8Array[], sync: EntrySync, need: number): { stamped: StampedKey[]; repl: Replication } | null {
    const outs: Outgoing[] = [];
    for (const h of holders) outs.push(this.outgoing(h));
    const batches = outs.map((o) => o.batch);
    const stamped: StampedKey[] = [];
    for (const key of keys) {
      const version = sync.stampInto(map, key, batches);
      if (version > 0) stamped.push({ map, key, version });
    }
    if (stamped.length === 0) return null;
    this.c.stats.replicated += holders.length;
    const results: Promise<ApplyResult>[] = [];
    for (let i = 0; i < outs.length; i++) {
      const out = outs[i]!;
      out.done ??= new Promise<ApplyResult>((resolve) => {
        out.resolve = resolve;
      });
      results.push(out.done);
      this.sendIfFull(holders[i]!, out);
    }
    return { stamped, repl: this.tally(holders, results, need) };
  }

  /** Counts one write's acks from its holders' batch answers. */
  private tally(holders: readonly string[], results: Promise<ApplyResult>[], need: number): Replication {
    const stats = this.c.stats;
    const all = (): Promise<ReplicaAnswers> =>
      Promise.all(results).then((rs) => {
        const answers: ReplicaAnswers = { took: [], refused: [], unreachable: [] };
        for (let i = 0; i < rs.length; i++) answers[rs[i]!].push(holders[i]!);
        return answers;
      });
    if (results.length === 1 && need === 1) return { acks: results[0]!.then(this.countOne), all }; // RF=2 W=2: no closure per write
    const acks = new Promise<number>((resolve) => {
      let n = 0;
      let settled = 0;
      if (need <= 0 || results.length === 0) resolve(0);
      for (const p of results) {
        void p.then((r) => {
          if (r === "took") n++;
          else stats.replicaFailures++;
          settled++;
          if (n >= need || settled === results.length) resolve(n);
        });
      }
    });
    return { acks, all };
  }

  private readonly countOne = (r: ApplyResult): number => {
    if (r === "took") return 1;
    this.c.stats.replicaFailures++;
    return 0;
  };

  /**
   * Takes back a write whose quorum failed from the holders that took it:
   * each restores `before[i]` where the key is still at `versions[i]`.
   * Resolves with the holders that confirmed.
   */
  async undo(holders: readonly string[], before: EntryState[], versions: number[]): Promise<string[]> {
    const done = await Promise.all(
      holders.map((h) =>
        this.c.request(h, { t: "undo", entries: before, versions, from: this.c.self }).then(
          (res) => res.t === "applied",
          () => false,
        ),
      ),
    );
    return holders.filter((_, i) => done[i]);
  }

  /** Asks every holder for the keys' states; resolves once `need` answered or all settled. */
  gather(holders: readonly string[], wanted: { map: string; key: Uint8Array }[], need: number, strict: boolean, view?: number): Promise<FetchAnswer[]> {
    return new Promise((resolve) => {
      const answers: FetchAnswer[] = [];
      let settled = 0;
      if (need <= 0 || holders.length === 0) {
        resolve(answers);
        return;
      }
      for (const h of holders) {
        this.c
          .request(h, strict ? { t: "fetch", keys: wanted, from: this.c.self, strict, view } : { t: "fetch", keys: wanted })
          .then(
            (res) => {
              if (res.t === "entries" && res.entries.length === wanted.length) answers.push({ peer: h, entries: res.entries });
            },
            () => undefined,
          )
          .finally(() => {
            settled++;
            if (answers.length >= need || settled === holders.length) resolve(answers.slice());
          });
      }
    });
  }

  /** Pushes one repaired entry to a holder, not waiting for or minding the answer. */
  repair(peer: string, entry: EntryState): void {
    void this.c.request(peer, { t: "apply", entries: [entry] }).catch(() => undefined);
  }

  /** The holder's batch of this turn, created (and its sending scheduled) on first use. */
  private outgoing(holder: string): Outgoing {
    let out = this.outbox.get(holder);
    if (!out) {
      const created: Outgoing = { batch: new EntryBatch(), asyncWrites: 0, asyncRecords: [], done: null, resolve: null };
      this.outbox.set(holder, created);
      out = created;
      this.later(() => {
        if (this.outbox.get(holder) === created) this.outbox.delete(holder);
        this.send(holder, created);
      });
    }
    return out;
  }

  /** A batch past {@link MAX_BATCH_BYTES} goes out now (one huge pipeline must not build one huge frame). */
  private sendIfFull(holder: string, out: Outgoing): void {
    if (out.batch.byteLength < MAX_BATCH_BYTES || this.outbox.get(holder) !== out) return;
    this.outbox.delete(holder);
    this.send(holder, out);
  }

  /**
   * Sends a holder's batch (one `apply`, every write of the turn) and hands
   * its answer to the writes waiting on it. Each holder's batches go out in
   * the order they were made.
   */
  private send(holder: string, out: Outgoing): void {
    const resolve = out.resolve;
    const asyncWrites = out.asyncWrites;
    // nothing queued (a write with nothing to replicate), or sent already (a batch that went out early)
    if (resolve === null && asyncWrites === 0) return;
    out.resolve = null;
    out.asyncWrites = 0;
    const view = this.c.viewId();
    const packed = out.batch.finish();
    this.c.stats.replicaBatches++;
    this.c.request(holder, { t: "apply", entries: [], packed, from: this.c.self, strict: true, view }).then(
      (res) => {
        const r: ApplyResult = res.t === "applied" ? "took" : "refused";
        if (r !== "took") this.c.stats.replicaFailures += asyncWrites;
        resolve?.(r);
      },
      () => {
        this.c.stats.replicaFailures += asyncWrites;
        if (asyncWrites > 0 && this.c.hint) this.c.hint([holder], pick(unpackEntries(packed), out.asyncRecords));
        resolve?.("unreachable");
      },
    );
  }
}

/** The entries at the [from, to) index ranges of `ranges`. */
function pick(entries: EntryState[], ranges: readonly number[]): EntryState[] {
  const out: EntryState[] = [];
  for (let i = 0; i + 1 < ranges.length; i += 2) for (let j = ranges[i]!; j < ranges[i + 1]!; j++) out.push(entries[j]!);
  return out;
}
