/**
 * Piggyback queue for membership updates (SWIM dissemination). Each update
 * is attached to outgoing messages until it has been sent `limit` times;
 * the least-sent updates go first. A newer update about a member replaces
 * the queued ones, except that suspicions of one member reported by
 * different members coexist: each is an independent Lifeguard confirmation
 * and must reach the others.
 */
import type { MemberUpdate } from "./membership-wire.ts";

interface Queued {
  update: MemberUpdate;
  transmits: number;
  seq: number;
}

/** Updates waiting to be piggybacked. */
export class BroadcastQueue {
  private readonly byMember = new Map<string, Queued[]>();
  private seq = 0;
  private count = 0;

  /** Queues `update`, replacing superseded updates about the same member. */
  enqueue(update: MemberUpdate): void {
    const old = this.byMember.get(update.name) ?? [];
    const kept =
      update.status === "suspect" ? old.filter((q) => q.update.status === "suspect" && q.update.from !== update.from) : [];
    kept.push({ update, transmits: 0, seq: this.seq++ });
    this.count += kept.length - old.length;
    this.byMember.set(update.name, kept);
  }

  /** Number of queued updates. */
  get size(): number {
    return this.count;
  }

  /**
   * Takes up to `max` updates for one message, least-transmitted (then
   * newest) first, counting the transmission; updates that reach `limit`
   * transmissions leave the queue.
   */
  take(max: number, limit: number): MemberUpdate[] {
    if (this.count === 0 || max <= 0) return [];
    const picked = [...this.byMember.values()]
      .flat()
      .sort((a, b) => a.transmits - b.transmits || b.seq - a.seq)
      .slice(0, max);
    for (const q of picked) {
      q.transmits++;
      if (q.transmits >= limit) this.drop(q);
    }
    return picked.map((q) => q.update);
  }

  private drop(q: Queued): void {
    const list = this.byMember.get(q.update.name);
    if (!list) return;
    const rest = list.filter((x) => x !== q);
    this.count -= list.length - rest.length;
    if (rest.length === 0) this.byMember.delete(q.update.name);
    else this.byMember.set(q.update.name, rest);
  }
}
