/**
 * The dashboard's recent events of one node: membership changes with their
 * reasons (join, suspect, alive, dead, leave), partition table changes and
 * the rebalancing and catch-up they start, anti-entropy repairs, hinted
 * handoff deliveries and evictions. A bounded ring: the newest
 * {@link EventLog.capacity} are kept, each with a sequence number so a
 * reader (a peer, a browser) asks only for what it has not seen.
 */

/** What happened. */
export type DashEventKind =
  | "join"
  | "suspect"
  | "alive"
  | "dead"
  | "leave"
  | "table"
  | "rebalance"
  | "catch-up"
  | "repair"
  | "handoff"
  | "eviction"
  | "start";

/** One event as seen by one node. */
export interface DashEvent {
  /** Sequence number in the observing node's log (1, 2, …). */
  seq: number;
  /** Wall-clock ms on the observer. */
  t: number;
  /** The member that saw it (its member name). */
  node: string;
  kind: DashEventKind;
  /** The member it is about (membership events). */
  member?: string;
  /** The member's incarnation (membership events). */
  incarnation?: number;
  /** One line for people: the reason, the counts. */
  text: string;
}

/** The newest events of one node. */
export class EventLog {
  private readonly ring: (DashEvent | undefined)[];
  private seq = 0;

  /** @param capacity events kept (at least 1) */
  constructor(readonly capacity = 300) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`EventLog capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array(capacity);
  }

  /** Sequence number of the newest event (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Records an event and returns it with its sequence number. */
  add(e: Omit<DashEvent, "seq">): DashEvent {
    const ev: DashEvent = { ...e, text: e.text.length > 500 ? `${e.text.slice(0, 497)}...` : e.text, seq: ++this.seq };
    this.ring[ev.seq % this.capacity] = ev;
    return ev;
  }

  /** Keeps an event recorded elsewhere (a peer's), under its own sequence number; older ones than the newest are ignored. */
  keep(e: DashEvent): void {
    if (e.seq <= this.seq) return;
    this.seq = e.seq;
    this.ring[e.seq % this.capacity] = e;
  }

  /** Events with seq > `after`, oldest first (at most the newest `limit`). */
  since(after = 0, limit = this.capacity): DashEvent[] {
    const out: DashEvent[] = [];
    const first = Math.max(after + 1, this.seq - this.capacity + 1, this.seq - limit + 1, 1);
    for (let s = first; s <= this.seq; s++) {
      const e = this.ring[s % this.capacity];
      if (e !== undefined && e.seq === s) out.push(e);
    }
    return out;
  }
}
