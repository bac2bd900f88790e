/**
 * SWIM membership with Lifeguard suspicion (see hashicorp/memberlist):
 * each probe interval a member pings the next member of a shuffled
 * round-robin list; if no ack arrives within the probe timeout it asks
 * `indirectChecks` others to ping on its behalf; if none succeed the target
 * becomes suspect. A suspicion times out into "dead" unless the target
 * refutes it with a higher incarnation; independent confirmations shrink the
 * timeout (Lifeguard). Updates ride on every message (piggyback) and on
 * periodic gossip rounds, each sent a bounded number of times; a periodic
 * push-pull of the full state, skipped when checksums match, repairs what
 * gossip lost.
 *
 * Two accelerations beyond memberlist, both from Lifeguard's spirit:
 * a member that learns of a new suspicion probes the suspect at once (so
 * confirmations arrive within one probe instead of one round-robin cycle),
 * and a probe of a suspect carries the suspicion so it can refute at once
 * (Lifeguard's "buddy system"). A direct probe refused outright (nothing
 * listening) does not wait out the interval.
 *
 * Everything runs on the injected Clock, Rng and Transport.
 */
import type { Clock, Rng, Timer } from "../clock.ts";
import type { Link, Listener, Transport } from "../transport.ts";
import { BroadcastQueue } from "./broadcast-queue.ts";
import { type MemberInfo, MemberTable } from "./member-table.ts";
import {
  expectedConfirmations,
  type MembershipTimings,
  retransmitLimit,
  suspicionMinTimeout,
} from "./membership-config.ts";
import { decodeMessage, encodeMessage, type MembershipMessage, type MemberUpdate } from "./membership-wire.ts";
import { Suspicion } from "./suspicion.ts";

export type { MemberInfo } from "./member-table.ts";

/** Kinds of membership events. */
export type MembershipEventType = "join" | "suspect" | "alive" | "dead" | "leave";

/** A change in the local view, with a human-readable reason for logs. */
export interface MembershipEvent {
  type: MembershipEventType;
  member: MemberInfo;
  reason: string;
}

/** Options for {@link Membership}. */
export interface MembershipOptions {
  /** This member's address (also its name). */
  self: string;
  clock: Clock;
  rng: Rng;
  transport: Transport;
  timings: MembershipTimings;
  /** Addresses to join through; the local address may be among them. */
  seeds: readonly string[];
  /** Most updates piggybacked on one message (default 8). */
  maxPiggyback?: number;
}

/** One member's SWIM state machine. */
export class Membership {
  readonly self: string;
  private readonly table = new MemberTable();
  private readonly queue = new BroadcastQueue();
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly links = new Map<string, Link>();
  private readonly probing = new Set<string>();
  private readonly listeners: Array<(e: MembershipEvent) => void> = [];
  private readonly timers = new Set<Timer>();
  private listener: Listener | undefined;
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private seedIndex = 0;
  private incarnation = 0;
  private running = false;
  private leaving = false;

  constructor(private readonly o: MembershipOptions) {
    this.self = o.self;
  }

  /** Subscribes to events; returns an unsubscribe function. */
  onEvent(fn: (e: MembershipEvent) => void): () => void {
    this.listeners.push(fn);
    return () => this.listeners.splice(this.listeners.indexOf(fn) >>> 0, 1);
  }

  /** Listens, announces itself to the seeds, and starts probing, gossip and push-pull. */
  async start(): Promise<void> {
    const now = this.o.clock.monotonic();
    this.table.set({ name: this.self, status: "alive", incarnation: this.incarnation, since: now });
    this.listener = await this.o.transport.listen(this.self, {
      onRequest: (from, bytes) => this.onRequest(from, bytes),
      onMessage: (_from, bytes) => this.onMessage(bytes),
    });
    this.running = true;
    const t = this.o.timings;
    this.every(t.probeIntervalMs, this.o.rng.int(t.probeIntervalMs), () => this.probeTick());
    this.every(t.gossipIntervalMs, this.o.rng.int(t.gossipIntervalMs), () => this.gossipTick());
    if (t.pushPullIntervalMs > 0) {
      this.every(t.pushPullIntervalMs, t.pushPullIntervalMs / 2 + this.o.rng.int(t.pushPullIntervalMs / 2), () =>
        this.pushPullTick(),
      );
    }
    await Promise.all(this.seeds().map((s) => this.sync(s).catch(() => undefined)));
  }

  /** Announces a graceful leave to every live member, then stops. */
  async leave(): Promise<void> {
    if (!this.running) return;
    this.leaving = true;
    this.incarnation++;
    const left: MemberUpdate = { name: this.self, status: "left", incarnation: this.incarnation, from: this.self };
    this.table.set({ ...left, since: this.o.clock.monotonic() });
    const bytes = encodeMessage({ t: "gossip", gossip: [left] });
    for (const name of this.others()) this.link(name).send(bytes);
    await new Promise<void>((resolve) => this.o.clock.setTimer(this.o.timings.gossipIntervalMs, resolve));
    await this.stop();
  }

  /** Stops all activity at once, as a crash would (no announcement). */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.listener?.close();
    this.listener = undefined;
  }

  /** Every known member including this one, sorted by name. */
  members(): MemberInfo[] {
    return this.table.all();
  }

  /** Names of alive or suspect members including this one, sorted (the input of the partition table). */
  liveMembers(): string[] {
    return this.table.live();
  }

  /** The member named `name`, if known. */
  member(name: string): MemberInfo | undefined {
    return this.table.get(name);
  }

  /** Checksum of the local view; equal on members that agree. */
  checksum(): number {
    return this.table.checksum();
  }

  /**
   * Probes `name` now instead of at its round-robin turn. Call it when the
   * transport sees the peer's connection drop (a crashed process resets its
   * TCP connections at once): detection then no longer waits for the next
   * probe to reach the peer. No-op for unknown, dead or departed members.
   */
  probeNow(name: string): void {
    const m = this.table.get(name);
    if (name !== this.self && (m?.status === "alive" || m?.status === "suspect")) void this.probe(name);
  }

  // ---- probing ------------------------------------------------------------

  private probeTick(): void {
    this.reap();
    const others = this.others();
    if (others.length === 0) {
      const seeds = this.seeds();
      if (seeds.length > 0) void this.sync(seeds[this.seedIndex++ % seeds.length]!).catch(() => undefined);
      return;
    }
    const target = this.nextProbeTarget();
    if (target) void this.probe(target);
  }

  private nextProbeTarget(): string | undefined {
    for (let tries = 0; tries < 2; tries++) {
      while (this.probeIndex < this.probeOrder.length) {
        const name = this.probeOrder[this.probeIndex++]!;
        const m = this.table.get(name);
        if (m && (m.status === "alive" || m.status === "suspect")) return name;
      }
      this.probeOrder = shuffle(this.others(), this.o.rng);
      this.probeIndex = 0;
    }
    return undefined;
  }

  /** Direct probe, then indirect probes; suspects the target if all fail. */
  private async probe(target: string): Promise<void> {
    if (this.probing.has(target) || !this.running) return;
    this.probing.add(target);
    try {
      const t = this.o.timings;
      const started = this.o.clock.monotonic();
      const direct = await this.ping(target, t.probeTimeoutMs);
      if (direct === "ack" || !this.running) return;
      const helpers = sample(
        this.others().filter((n) => n !== target && this.table.get(n)?.status === "alive"),
        t.indirectChecks,
        this.o.rng,
      );
      const wait = Math.max(t.probeTimeoutMs, t.probeIntervalMs - (this.o.clock.monotonic() - started));
      const indirect = await Promise.all(
        helpers.map((h) =>
          this.request(h, { t: "ping-req", target, gossip: this.piggyback() }, wait).then(
            (m) => m.t === "ack",
            () => false,
          ),
        ),
      );
      if (indirect.some(Boolean) || !this.running) return;
      const cur = this.table.get(target);
      if (!cur || (cur.status !== "alive" && cur.status !== "suspect")) return;
      const why = `direct probe ${direct}, ${helpers.length} indirect probe(s) failed`;
      this.apply({ name: target, status: "suspect", incarnation: cur.incarnation, from: this.self }, why);
    } finally {
      this.probing.delete(target);
    }
  }

  /** Pings `target`; resolves "ack", "timeout", or "unreachable" (never rejects). */
  private async ping(target: string, timeoutMs: number): Promise<"ack" | "timeout" | "unreachable"> {
    const gossip = this.piggyback();
    const cur = this.table.get(target);
    if (cur?.status === "suspect") {
      gossip.push({ name: target, status: "suspect", incarnation: cur.incarnation, from: this.self });
    }
    try {
      const reply = await this.request(target, { t: "ping", target, gossip }, timeoutMs);
      return reply.t === "ack" ? "ack" : "unreachable";
    } catch (e) {
      return (e as { code?: string }).code === "timeout" ? "timeout" : "unreachable";
    }
  }

  // ---- dissemination ------------------------------------------------------

  private piggyback(): MemberUpdate[] {
    const limit = retransmitLimit(this.o.timings, this.table.live().length);
    return this.queue.take(this.o.maxPiggyback ?? 8, limit);
  }

  private gossipTick(): void {
    if (this.queue.size === 0) return;
    const now = this.o.clock.monotonic();
    const targets = this.table
      .all()
      .filter(
        (m) =>
          m.name !== this.self &&
          (m.status === "alive" ||
            m.status === "suspect" ||
            (m.status === "dead" && now - m.since < this.o.timings.gossipToTheDeadMs)),
      )
      .map((m) => m.name);
    for (const name of sample(targets, this.o.timings.gossipNodes, this.o.rng)) {
      const gossip = this.piggyback();
      if (gossip.length === 0) break;
      this.link(name).send(encodeMessage({ t: "gossip", gossip }));
    }
  }

  private pushPullTick(): void {
    const others = this.others();
    if (others.length > 0) void this.sync(others[this.o.rng.int(others.length)]!).catch(() => undefined);
  }

  /** Full-state exchange with `peer`; merges what comes back. */
  private async sync(peer: string): Promise<void> {
    const msg: MembershipMessage = { t: "sync", checksum: this.checksum(), states: this.fullState() };
    const reply = await this.request(peer, msg, this.o.timings.syncTimeoutMs);
    if (reply.t === "sync-reply" && !reply.same) this.merge(reply.states, `push-pull with ${peer}`);
  }

  private fullState(): MemberUpdate[] {
    return this.table.all().map((m) => ({ name: m.name, status: m.status, incarnation: m.incarnation, from: this.self }));
  }

  // ---- inbound ------------------------------------------------------------

  private async onRequest(from: string, bytes: Uint8Array): Promise<Uint8Array> {
    if (!this.running) throw new Error(`membership: ${this.self} is stopped`);
    const m = decodeMessage(bytes);
    switch (m.t) {
      case "ping":
        this.merge(m.gossip, `ping from ${from}`);
        if (m.target !== this.self) throw new Error(`membership: ping for ${m.target} reached ${this.self}`);
        return encodeMessage({ t: "ack", gossip: this.piggyback() });
      case "ping-req": {
        this.merge(m.gossip, `ping-req from ${from}`);
        const result = await this.ping(m.target, this.o.timings.probeTimeoutMs);
        return encodeMessage({ t: result === "ack" ? "ack" : "nack", gossip: this.piggyback() });
      }
      case "sync": {
        const same = m.checksum === this.checksum();
        if (!same) this.merge(m.states, `push-pull from ${from}`);
        return encodeMessage({ t: "sync-reply", same, states: same ? [] : this.fullState() });
      }
      default:
        throw new Error(`membership: unexpected request ${m.t}`);
    }
  }

  private onMessage(bytes: Uint8Array): void {
    if (!this.running) return;
    const m = decodeMessage(bytes);
    if (m.t === "gossip") this.merge(m.gossip, "gossip");
  }

  private async request(peer: string, msg: MembershipMessage, timeoutMs: number): Promise<MembershipMessage> {
    const reply = decodeMessage(await this.link(peer).request(encodeMessage(msg), timeoutMs));
    if ("gossip" in reply) this.merge(reply.gossip, `reply from ${peer}`);
    return reply;
  }

  // ---- state changes ------------------------------------------------------

  private merge(updates: readonly MemberUpdate[], via: string): void {
    for (const u of updates) this.apply(u, via);
  }

  /** Applies one update with SWIM's rules, refuting rumours about this member. */
  private apply(u: MemberUpdate, why: string): void {
    if (!this.running) return;
    if (u.name === this.self) return this.refute(u);
    const cur = this.table.get(u.name);
    if (u.status === "suspect" && cur?.status === "suspect" && u.incarnation === cur.incarnation) {
      if (this.suspicions.get(u.name)?.confirm(u.from)) this.queue.enqueue(u);
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
        this.emit("dead", info, u.from === this.self ? why : `declared dead by ${u.from} (${why})`);
        return;
      case "left":
        this.emit("leave", info, `left gracefully (${why})`);
    }
  }

  private startSuspicion(u: MemberUpdate, why: string): void {
    const n = this.table.live().length;
    const t = this.o.timings;
    const min = suspicionMinTimeout(t, n);
    const max = min * t.suspicionMaxTimeoutMult;
    const k = expectedConfirmations(t, n);
    const s = new Suspicion(this.o.clock, u.from, k, min, max, (confirmations) => {
      this.suspicions.delete(u.name);
      const cur = this.table.get(u.name);
      if (cur?.status !== "suspect" || cur.incarnation !== u.incarnation) return;
      const ms = this.o.clock.monotonic() - cur.since;
      const reason = `suspected by ${u.from} (${why}); no refutation within ${ms} ms, ${confirmations}/${k} confirmations`;
      this.apply({ name: u.name, status: "dead", incarnation: u.incarnation, from: this.self }, reason);
    });
    this.suspicions.set(u.name, s);
    this.emit("suspect", this.table.get(u.name)!, u.from === this.self ? why : `suspected by ${u.from} (${why})`);
    // Lifeguard confirmation: check the suspect ourselves now rather than at our next round-robin turn.
    if (u.from !== this.self) this.after(0, () => void this.probe(u.name));
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
  }

  private reap(): void {
    const now = this.o.clock.monotonic();
    for (const m of this.table.all()) {
      if ((m.status === "dead" || m.status === "left") && m.name !== this.self) {
        if (now - m.since >= this.o.timings.gossipToTheDeadMs) {
          this.table.remove(m.name);
          this.links.get(m.name)?.close();
          this.links.delete(m.name);
        }
      }
    }
  }

  // ---- helpers ------------------------------------------------------------

  private emit(type: MembershipEventType, member: MemberInfo, reason: string): void {
    const e: MembershipEvent = { type, member: { ...member }, reason };
    for (const fn of [...this.listeners]) fn(e);
  }

  private others(): string[] {
    return this.table.live().filter((n) => n !== this.self);
  }

  private seeds(): string[] {
    return [...new Set(this.o.seeds)].filter((s) => s !== this.self);
  }

  private link(peer: string): Link {
    let l = this.links.get(peer);
    if (!l) this.links.set(peer, (l = this.o.transport.connect(peer, this.self)));
    return l;
  }

  private after(ms: number, fn: () => void): void {
    const timer = this.o.clock.setTimer(ms, () => {
      this.timers.delete(timer);
      if (this.running) fn();
    });
    this.timers.add(timer);
  }

  private every(intervalMs: number, firstMs: number, fn: () => void): void {
    this.after(firstMs, () => {
      fn();
      this.every(intervalMs, intervalMs, fn);
    });
  }
}

/** Fisher–Yates shuffle of a copy, driven by `rng`. */
function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Up to `k` distinct random items. */
function sample<T>(items: readonly T[], k: number, rng: Rng): T[] {
  return shuffle(items, rng).slice(0, k);
}
