/**
 * What one member believes about the cluster: the member table, the queue
 * of updates to disseminate, running Lifeguard suspicions, the local
 * incarnation (and refutation of rumours about this member), and the
 * events that changes produce. No networking: {@link Membership} feeds it
 * updates and carries its piggyback queue.
 */
import type { Clock } from "../clock.ts";
import { BroadcastQueue } from "./broadcast-queue.ts";
import { type MemberInfo, MemberTable } from "./member-table.ts";
import {
  expectedConfirmations,
  type MembershipTimings,
  retransmitLimit,
  suspicionMinTimeout,
} from "./membership-config.ts";
import type { MemberUpdate } from "./membership-wire.ts";
import { Suspicion } from "./suspicion.ts";

/** Kinds of membership events. */
export type MembershipEventType = "join" | "suspect" | "alive" | "dead" | "leave";

/** A change in the local view, with a human-readable reason for logs. */
export interface MembershipEvent {
  type: MembershipEventType;
  member: MemberInfo;
  reason: string;
}

/** Options for {@link MembershipView}. */
export interface MembershipViewOptions {
  self: string;
  clock: Clock;
  timings: MembershipTimings;
  /** Called when another member reports a new suspicion, so we can check the suspect ourselves. */
  onSuspicionReported?: (name: string) => void;
  /** Called after refuting our own death: we were cut off, so our view of the others is stale. */
  onRefutedDeath?: () => void;
}

/** The local membership view and SWIM's state rules. */
export class MembershipView {
  readonly self: string;
  /** Whether updates are applied (false once stopped). */
  active = true;
  private readonly table = new MemberTable();
  private readonly queue = new BroadcastQueue();
  private readonly suspicions = new Map<string, Suspicion>();
  /** Set while {@link suspect} reports a refusal: the suspicion it starts uses this timeout, ms. */
  private readonly refusals = new Map<string, number>();
  private readonly listeners: Array<(e: MembershipEvent) => void> = [];
  private incarnation = 0;
  private leaving = false;

  constructor(private readonly o: MembershipViewOptions) {
    this.self = o.self;
    this.table.set({ name: o.self, status: "alive", incarnation: 0, since: o.clock.monotonic() });
    // announce ourselves: members that did not serve our join learn of us by gossip, not only by push-pull
    this.queue.enqueue({ name: o.self, status: "alive", incarnation: 0, from: o.self });
  }

  /** Subscribes to events; returns an unsubscribe function. */
  onEvent(fn: (e: MembershipEvent) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Every known member, sorted by name. */
  members(): MemberInfo[] {
    return this.table.all();
  }

  /** Alive or suspect members including this one, sorted. */
  live(): string[] {
    return this.table.live();
  }

  /** How many members are alive or suspect, this one included (no list built). */
  liveCount(): number {
    return this.table.liveCount();
  }

  /** Alive or suspect members other than this one. */
  others(): string[] {
    return this.table.live().filter((n) => n !== this.self);
  }

  /** The member named `name`, if known. */
  member(name: string): MemberInfo | undefined {
    return this.table.get(name);
  }

  /** Checksum of the view. */
  checksum(): number {
    return this.table.checksum();
  }

  /** The whole view as updates reported by this member (push-pull payload). */
  fullState(): MemberUpdate[] {
    return this.table.all().map((m) => ({ name: m.name, status: m.status, incarnation: m.incarnation, from: this.self }));
  }

  /** Number of updates waiting for dissemination. */
  get pendingUpdates(): number {
    return this.queue.size;
  }

  /** Up to `max` updates to piggyback on one message. */
  piggyback(max: number): MemberUpdate[] {
    return this.queue.take(max, retransmitLimit(this.o.timings, this.table.liveCount()));
  }

  /**
   * Reports `name` suspect on our own evidence (a failed probe). With
   * `refusedMs`, the evidence is a refused connection confirmed by other
   * members (every helper's probe was refused too, none answered): the
   * process is gone, not slow, so the suspicion ends after `refusedMs`
   * instead of Lifeguard's timeout — shortened at once if it was already
   * running. Members that hear only of the suspicion still run their own
   * timers; our "dead" reaches them sooner.
   */
  suspect(name: string, why: string, refusedMs?: number): void {
    const cur = this.table.get(name);
    if (!cur || (cur.status !== "alive" && cur.status !== "suspect")) return;
    if (refusedMs !== undefined && cur.status === "suspect") {
      const running = this.suspicions.get(name);
      if (running?.refused) return; // already on the short timer: later refusals must not push its end back
      const u: MemberUpdate = { name, status: "suspect", incarnation: cur.incarnation, from: this.self };
      running?.cancel();
      this.arm(u, why, refusedMs, refusedMs, 0).refused = true;
      return;
    }
    if (refusedMs !== undefined) this.refusals.set(name, refusedMs);
    try {
      this.apply({ name, status: "suspect", incarnation: cur.incarnation, from: this.self }, why);
    } finally {
      this.refusals.delete(name);
    }
  }

  /** Marks this member as leaving and returns the update announcing it. */
  leave(): MemberUpdate {
    this.leaving = true;
    this.incarnation++;
    const left: MemberUpdate = { name: this.self, status: "left", incarnation: this.incarnation, from: this.self };
    this.table.set({ ...left, since: this.o.clock.monotonic() });
    return left;
  }

  /**
   * Applies updates received via `via`. With `fullState` (a push-pull
   * payload, i.e. somebody's possibly stale view rather than fresh news),
   * "dead" is taken as "suspect", as memberlist does: we check for
   * ourselves, and the member gets the chance to refute.
   */
  merge(updates: readonly MemberUpdate[], via: string, fullState = false): void {
    if (!fullState) {
      for (const u of updates) this.apply(u, via);
      return;
    }
    // The sender's own entry first: if it proves the sender alive again, its other claims become credible.
    const own = updates.filter((u) => u.name === u.from);
    for (const u of [...own, ...updates.filter((u) => u.name !== u.from)]) {
      const demoted = u.status === "dead" && u.name !== this.self;
      this.apply(demoted ? { ...u, status: "suspect" } : u, via, true);
    }
  }

  /**
   * Applies one update with SWIM's rules, refuting rumours about this
   * member. `fromView` marks an entry of a push-pull payload: a view may
   * echo our own suspicion back, so it never counts as a Lifeguard
   * confirmation.
   */
  apply(u: MemberUpdate, why: string, fromView = false): void {
    if (!this.active) return;
    if (u.name === this.self) return this.refute(u);
    if ((u.status === "suspect" || u.status === "dead") && u.from !== this.self) {
      // A member we believe dead (say, the isolated side of a partition) is no credible witness.
      const reporter = this.table.get(u.from)?.status;
      if (reporter === "dead" || reporter === "left") return;
    }
    const cur = this.table.get(u.name);
    if (u.status === "suspect" && cur?.status === "suspect" && u.incarnation === cur.incarnation) {
      if (!fromView && this.suspicions.get(u.name)?.confirm(u.from)) this.queue.enqueue(u);
      return;
    }
    const change = this.table.apply(u, this.o.clock.monotonic());
    if (!change) return;
    this.queue.enqueue(u);
    this.suspicions.get(u.name)?.cancel();
    this.suspicions.delete(u.name);
    const info = change.current;
    const prev = change.previous;
    switch (info.status) {
      case "alive":
        if (prev === undefined || prev === "dead" || prev === "left") this.emit("join", info, `learned via ${why}`);
        else if (prev === "suspect") this.emit("alive", info, `refuted at incarnation ${info.incarnation} (${why})`);
        return;
      case "suspect":
        this.startSuspicion(u, why);
        return;
      case "dead":
        this.emit("dead", info, u.from === this.self ? why : `declared dead by ${u.from} (learned via ${why})`);
        return;
      case "left":
        this.emit("leave", info, `left gracefully (${why})`);
    }
  }

  /** Forgets members dead or departed for longer than gossipToTheDead; returns their names. */
  reap(): string[] {
    const now = this.o.clock.monotonic();
    const gone = this.table
      .all()
      .filter((m) => (m.status === "dead" || m.status === "left") && m.name !== this.self)
      .filter((m) => now - m.since >= this.o.timings.gossipToTheDeadMs)
      .map((m) => m.name);
    for (const name of gone) this.table.remove(name);
    return gone;
  }

  /** Stops applying updates and cancels every suspicion timer. */
  stop(): void {
    this.active = false;
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
  }

  private startSuspicion(u: MemberUpdate, why: string): void {
    const n = this.table.liveCount();
    const t = this.o.timings;
    const min = suspicionMinTimeout(t, n);
    const k = expectedConfirmations(t, n);
    const origin = u.from === this.self ? why : `suspected by ${u.from} (learned via ${why})`;
    const refused = u.from === this.self ? this.refusals.get(u.name) : undefined;
    if (refused !== undefined) this.arm(u, origin, refused, refused, 0).refused = true;
    else this.arm(u, origin, min, min * t.suspicionMaxTimeoutMult, k);
    this.emit("suspect", this.table.get(u.name)!, origin);
    if (u.from !== this.self) this.o.onSuspicionReported?.(u.name);
  }

  /** Runs the suspicion timer of `u` (Lifeguard's timeout between `min` and `max`, shrinking with `k` confirmations); the member is declared dead when it expires unrefuted. */
  private arm(u: MemberUpdate, origin: string, min: number, max: number, k: number): Suspicion {
    const s = new Suspicion(this.o.clock, u.from, k, min, max, (confirmations) => {
      this.suspicions.delete(u.name);
      const cur = this.table.get(u.name);
      if (cur?.status !== "suspect" || cur.incarnation !== u.incarnation) return;
      const ms = this.o.clock.monotonic() - cur.since;
      const timeout = `${(ms / 1000).toFixed(1)}s`;
      const reason = `suspicion timeout ${timeout} expired with no refutation (${confirmations}/${k} confirmations); ${origin}`;
      this.apply({ name: u.name, status: "dead", incarnation: u.incarnation, from: this.self }, reason);
    });
    this.suspicions.set(u.name, s);
    return s;
  }

  /** Somebody reports this member suspect, dead or with a newer incarnation: out-bid it. */
  private refute(u: MemberUpdate): void {
    if (this.leaving || u.incarnation < this.incarnation) return;
    if (u.status === "alive" && u.incarnation === this.incarnation) return;
    this.incarnation = u.incarnation + 1;
    const alive: MemberUpdate = { name: this.self, status: "alive", incarnation: this.incarnation, from: this.self };
    const info = { ...alive, since: this.o.clock.monotonic() };
    this.table.set(info);
    this.queue.enqueue(alive);
    this.emit("alive", info, `refuted "${u.status}" from ${u.from} with incarnation ${this.incarnation}`);
    if (u.status === "dead") this.o.onRefutedDeath?.();
  }

  private emit(type: MembershipEventType, member: MemberInfo, reason: string): void {
    const e: MembershipEvent = { type, member: { ...member }, reason };
    for (const fn of [...this.listeners]) fn(e);
  }
}
