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

/** A holder's answer to a fetch. */
export interface FetchAnswer {
  peer: string;
  entries: EntryState[];
}

/** Replication and fetches from one owner to the other holders. */
export class ReplicaChannel {
  /** Replica → entries of this turn's writes not sent yet (see applyBatched). */
  private readonly outbox = new Map<string, { entries: EntryState[]; waiters: ((ok: boolean) => void)[] }>();

  constructor(private readonly c: ReplicaChannelContext) {}

  /** Sends `entries` to every holder; resolves with the acks once `need` arrived or all settled. */
  replicate(holders: readonly string[], entries: EntryState[], need: number): Promise<number> {
    this.c.stats.replicated += holders.length;
    return new Promise((resolve) => {
      let acks = 0;
      let settled = 0;
      if (need <= 0) resolve(0);
      if (holders.length === 0) resolve(0);
      for (const h of holders) {
        this.applyBatched(h, entries).then((ok) => {
          if (ok) acks++;
          else this.c.stats.replicaFailures++;
          settled++;
          if (acks >= need || settled === holders.length) resolve(acks);
        });
      }
    });
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
  private applyBatched(holder: string, entries: EntryState[]): Promise<boolean> {
    let batch = this.outbox.get(holder);
    if (!batch) {
      const created = { entries: [] as EntryState[], waiters: [] as ((ok: boolean) => void)[] };
      this.outbox.set(holder, created);
      batch = created;
      queueMicrotask(() => {
        this.outbox.delete(holder);
        const view = this.c.viewId();
        this.c.request(holder, { t: "apply", entries: created.entries, from: this.c.self, strict: true, view }).then(
          (res) => {
            for (const w of created.waiters) w(res.t === "applied");
          },
          () => {
            for (const w of created.waiters) w(false);
          },
        );
      });
    }
    for (const e of entries) batch.entries.push(e);
    return new Promise((resolve) => batch.waiters.push(resolve));
  }
}
