/**
 * The owner's traffic to the other holders of a partition: pushing written
 * entry states to replicas (`apply`, batched per event-loop turn) and
 * fetching their copies of some keys (`fetch`). Both are strict by default:
 * a holder takes part only while its own table names this node the owner
 * and has the same member list (view).
 */
import type { EntryState, PeerRequest, PeerResponse } from "./peer-protocol.ts";
import type { RouterStats } from "./router-stats.ts";

/** What the channel needs from the cluster layer. */
export interface ReplicaChannelContext {
  self: string;
  /** The view id of the current table (undefined before the first). */
  viewId(): number | undefined;
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  stats: RouterStats;
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
  /** Resolves once every holder answered or failed. */
  all: Promise<ReplicaAnswers>;
}

/** A holder's answer to a fetch. */
export interface FetchAnswer {
  peer: string;
  entries: EntryState[];
}

/** Replication and fetches from one owner to the other holders. */
export class ReplicaChannel {
  /** Replica → entries of this turn's writes not sent yet (see applyBatched). */
  private readonly outbox = new Map<string, { entries: EntryState[]; waiters: ((r: ApplyResult) => void)[] }>();

  constructor(private readonly c: ReplicaChannelContext) {}

  /** Sends `entries` to every holder; {@link Replication.acks} resolves once `need` acks arrived or all settled. */
  replicate(holders: readonly string[], entries: EntryState[], need: number): Replication {
    this.c.stats.replicated += holders.length;
    const answers: ReplicaAnswers = { took: [], refused: [], unreachable: [] };
    let resolveAll: (a: ReplicaAnswers) => void = () => undefined;
    const all = new Promise<ReplicaAnswers>((resolve) => {
      resolveAll = resolve;
    });
    const acks = new Promise<number>((resolve) => {
      let n = 0;
      let settled = 0;
      if (need <= 0) resolve(0);
      if (holders.length === 0) {
        resolve(0);
        resolveAll(answers);
      }
      for (const h of holders) {
        this.applyBatched(h, entries).then((r) => {
          answers[r].push(h);
          if (r === "took") n++;
          else this.c.stats.replicaFailures++;
          settled++;
          if (n >= need || settled === holders.length) resolve(n);
          if (settled === holders.length) resolveAll(answers);
        });
      }
    });
    return { acks, all };
  }

  /**
   * Takes back a write whose quorum failed from the holders that took it:
   * each restores `before[i]` where the key is still at `entries[i]`'s
   * version. Resolves with the holders that confirmed.
   */
  async undo(holders: readonly string[], before: EntryState[], entries: EntryState[]): Promise<string[]> {
    const versions = entries.map((e) => e.version);
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

  /**
   * Queues entries for one replica; every write of the same event-loop turn
   * (a pipelined batch, the commands of all connections read together) goes
   * out as one `apply` per replica. Resolves with whether the replica took
   * the batch (it refuses all of it when it does not see this node as the
   * owner of one of the keys).
   */
  private applyBatched(holder: string, entries: EntryState[]): Promise<ApplyResult> {
    let batch = this.outbox.get(holder);
    if (!batch) {
      const created = { entries: [] as EntryState[], waiters: [] as ((r: ApplyResult) => void)[] };
      this.outbox.set(holder, created);
      batch = created;
      queueMicrotask(() => {
        this.outbox.delete(holder);
        const view = this.c.viewId();
        this.c.request(holder, { t: "apply", entries: created.entries, from: this.c.self, strict: true, view }).then(
          (res) => {
            for (const w of created.waiters) w(res.t === "applied" ? "took" : "refused");
          },
          () => {
            for (const w of created.waiters) w("unreachable");
          },
        );
      });
    }
    for (const e of entries) batch.entries.push(e);
    return new Promise((resolve) => batch.waiters.push(resolve));
  }
}
