/**
 * SWIM membership with Lifeguard suspicion (see hashicorp/memberlist): the
 * networking half. Each probe interval a member pings the next member of a
 * shuffled round-robin list; if no ack arrives within the probe timeout it
 * asks `indirectChecks` others to ping on its behalf; if none succeed the
 * target becomes suspect (see {@link MembershipView} for the state rules and
 * suspicion timers). Updates ride on every message (piggyback) and on
 * periodic gossip rounds; a periodic push-pull of the full state, skipped
 * when checksums match, repairs what gossip lost.
 *
 * Beyond memberlist, in Lifeguard's spirit: a member that learns of a new
 * suspicion probes the suspect at once (confirmations arrive within one
 * probe, not one round-robin cycle); a probe of a suspect carries the
 * suspicion so it can refute at once (Lifeguard's "buddy system"); a probe
 * refused outright (nothing listening) does not wait out the interval; and
 * {@link Membership.probeNow} lets the node report a dropped connection.
 *
 * Everything runs on the injected Clock, Rng and Transport.
 */
import type { Clock, Rng, Timer } from "../clock.ts";
import type { Link, Listener, Transport } from "../transport.ts";
import type { MemberInfo } from "./member-table.ts";
import type { MembershipTimings } from "./membership-config.ts";
import { type MembershipEvent, MembershipView } from "./membership-view.ts";
import { decodeMessage, encodeMessage, type MembershipMessage, type MemberUpdate } from "./membership-wire.ts";

export type { MemberInfo } from "./member-table.ts";
export type { MembershipEvent, MembershipEventType } from "./membership-view.ts";

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
  /** Most updates piggybacked on one message (default 8; 0 disables gossip, leaving push-pull). */
  maxPiggyback?: number;
  /** Called when this member refutes its own death: the others may have acted without it meanwhile. */
  onRefutedDeath?: () => void;
  /** Planted bug (simulator only): never push-pull with dead members or non-live seeds. */
  noDeadReconnect?: boolean;
}

/** Protocol counters, for /metrics. */
export interface MembershipStats {
  probes: number;
  /** Direct probes that got no ack. */
  directFailures: number;
  /** Probes that failed directly and indirectly (the target became or stayed suspect). */
  probeFailures: number;
  /** Of those, the ones refused directly and by every helper (suspicion shortened to one probe timeout). */
  refusedSuspicions: number;
  gossipMessages: number;
  /** Push-pull exchanges initiated, and how many of them found equal checksums. */
  syncs: number;
  syncsSkipped: number;
}

/** One member's SWIM protocol endpoint. */
export class Membership {
  readonly self: string;
  readonly stats: MembershipStats = {
    probes: 0,
    directFailures: 0,
    probeFailures: 0,
    refusedSuspicions: 0,
    gossipMessages: 0,
    syncs: 0,
    syncsSkipped: 0,
  };
  private readonly view: MembershipView;
  private readonly links = new Map<string, Link>();
  private readonly probing = new Set<string>();
  private readonly timers = new Set<Timer>();
  private listener: Listener | undefined;
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private seedIndex = 0;
  private running = false;
  /** Per member, when the newest request of ours it answered was sent (monotonic ms). */
  private readonly answered = new Map<string, number>();

  constructor(private readonly o: MembershipOptions) {
    this.self = o.self;
    this.view = new MembershipView({
      self: o.self,
      clock: o.clock,
      timings: o.timings,
      onSuspicionReported: (name) => this.after(0, () => void this.probe(name)),
      onRefutedDeath: () => {
        this.after(0, () => this.pushPullTick());
        o.onRefutedDeath?.();
      },
    });
  }

  /** Subscribes to join/suspect/alive/dead/leave events; returns an unsubscribe function. */
  onEvent(fn: (e: MembershipEvent) => void): () => void {
    return this.view.onEvent(fn);
  }

  /** Listens, announces itself to the seeds, and starts probing, gossip and push-pull. */
  async start(): Promise<void> {
    this.listener = await this.o.transport.listen(this.self, {
      onRequest: (from, bytes) => this.onRequest(from, bytes),
      onMessage: (_from, bytes) => this.onMessage(bytes),
    });
    this.running = true;
    const t = this.o.timings;
    this.every(t.probeIntervalMs, this.o.rng.int(t.probeIntervalMs), () => this.probeTick());
    this.every(t.gossipIntervalMs, this.o.rng.int(t.gossipIntervalMs), () => this.gossipTick());
    if (t.pushPullIntervalMs > 0) {
      // one early anti-entropy round: members that joined before us learn of later joiners even if gossip missed them
      const first = t.probeIntervalMs + this.o.rng.int(t.probeIntervalMs);
      this.every(t.pushPullIntervalMs, first, () => this.pushPullTick());
    }
    await this.join(this.seeds());
  }

  /**
   * Push-pulls with each of `peers` (e.g. when discovery reports new
   * addresses, or to merge two clusters after a split); resolves with the
   * number that answered.
   */
  async join(peers: readonly string[]): Promise<number> {
    const targets = [...new Set(peers)].filter((p) => p !== this.self);
    const results = await Promise.all(targets.map((p) => this.sync(p).then(() => 1, () => 0)));
    return results.reduce<number>((a, b) => a + b, 0);
  }

  /** Announces a graceful leave to every live member, waits one gossip interval, then stops. */
  async leave(): Promise<void> {
    if (!this.running) return;
    const bytes = encodeMessage({ t: "gossip", gossip: [this.view.leave()] });
    for (const name of this.view.others()) this.link(name).send(bytes);
    await new Promise<void>((resolve) => this.o.clock.setTimer(this.o.timings.gossipIntervalMs, resolve));
    await this.stop();
  }

  /** Stops all activity at once, as a crash would (no announcement). */
  async stop(): Promise<void> {
    this.running = false;
    this.view.stop();
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.listener?.close();
    this.listener = undefined;
  }

  /** Every known member including this one, sorted by name. */
  members(): MemberInfo[] {
    return this.view.members();
  }

  /**
   * Notes that `member` answered a request this node sent at `sentAt`
   * (monotonic ms): the two-way path worked at least since then. Probes note
   * themselves; the data protocol notes its answers too.
   */
  noteAnswer(member: string, sentAt: number): void {
    if ((this.answered.get(member) ?? Number.NEGATIVE_INFINITY) < sentAt) this.answered.set(member, sentAt);
  }

  /** Live members other than this one that answered a request sent in the last `ms`. */
  answeredWithin(ms: number): number {
    const since = this.o.clock.monotonic() - ms;
    let n = 0;
    for (const m of this.view.live()) if (m !== this.self && (this.answered.get(m) ?? Number.NEGATIVE_INFINITY) >= since) n++;
    return n;
  }

  /** Alive or suspect members including this one, sorted (the input of the partition table). */
  liveMembers(): string[] {
    return this.view.live();
  }

  /** How many members are alive or suspect, this one included (asked on every write: no list built). */
  liveCount(): number {
    return this.view.liveCount();
  }

  /** The member named `name`, if known. */
  member(name: string): MemberInfo | undefined {
    return this.view.member(name);
  }

  /** Checksum of the local view; equal on members that agree. */
  checksum(): number {
    return this.view.checksum();
  }

  /**
   * Probes `name` now instead of at its round-robin turn. Call it when the
   * transport sees the peer's connection drop or a peer request fail as
   * unreachable (a crashed process resets its TCP connections at once).
   * No-op for unknown, dead or departed members.
   */
  probeNow(name: string): void {
    const m = this.view.member(name);
    if (name !== this.self && (m?.status === "alive" || m?.status === "suspect")) void this.probe(name);
  }

  // ---- probing ------------------------------------------------------------

  private probeTick(): void {
    for (const gone of this.view.reap()) {
      this.links.get(gone)?.close();
      this.links.delete(gone);
    }
    if (this.view.others().length === 0) {
      const seeds = this.seeds();
      if (seeds.length > 0) void this.sync(seeds[this.seedIndex++ % seeds.length]!).catch(() => undefined);
      return;
    }
    const target = this.nextProbeTarget();
    if (target) void this.probe(target);
  }

  private nextProbeTarget(): string | undefined {
    for (let round = 0; round < 2; round++) {
      while (this.probeIndex < this.probeOrder.length) {
        const name = this.probeOrder[this.probeIndex++]!;
        const status = this.view.member(name)?.status;
        if (status === "alive" || status === "suspect") return name;
      }
      this.probeOrder = shuffle(this.view.others(), this.o.rng);
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
      this.stats.probes++;
      const direct = await this.ping(target, t.probeTimeoutMs);
      if (direct === "ack" || !this.running) return;
      this.stats.directFailures++;
      const candidates = this.view.others().filter((n) => n !== target && this.view.member(n)?.status === "alive");
      const helpers = shuffle(candidates, this.o.rng).slice(0, t.indirectChecks);
      const wait = Math.max(t.probeTimeoutMs, t.probeIntervalMs - (this.o.clock.monotonic() - started));
      const indirect = await Promise.all(
        helpers.map((h) =>
          this.request(h, { t: "ping-req", target, gossip: this.piggyback() }, wait).then(
            (m): "ack" | "refused" | "nack" => (m.t === "ack" ? "ack" : m.t === "nack" && m.refused === true ? "refused" : "nack"),
            () => "nack" as const,
          ),
        ),
      );
      if (indirect.includes("ack") || !this.running) return;
      this.stats.probeFailures++;
      const first =
        direct === "timeout"
          ? `no ack to direct probe within ${t.probeTimeoutMs}ms`
          : direct === "unreachable"
            ? "direct probe failed: peer unreachable (connection refused or closed)"
            : "direct probe failed";
      // Refused here and by every helper (Lifeguard's independent confirmation, with the strongest evidence there is:
      // nothing listens where the member was): the process is gone, not slow, and cannot refute. Its suspicion ends
      // after one probe timeout instead of Lifeguard's seconds. A timeout anywhere keeps the usual path.
      const refused = direct === "unreachable" && helpers.length > 0 && indirect.every((r) => r === "refused");
      if (refused) this.stats.refusedSuspicions++;
      const second =
        helpers.length === 0
          ? "no other alive member to probe it indirectly"
          : refused
            ? `refused to all ${helpers.length} helpers too (${helpers.join(", ")})`
            : `no indirect ack within ${Math.round(wait)}ms via ${helpers.length} of ${t.indirectChecks} helpers (${helpers.join(", ")})`;
      this.view.suspect(target, `${first} and ${second}`, refused ? t.probeTimeoutMs : undefined);
    } finally {
      this.probing.delete(target);
    }
  }

  /**
   * Pings `target`, carrying its suspicion if we hold one; never rejects.
   * `unreachable`: the transport could not connect or the connection dropped
   * (nothing listens there: a crashed process); `failed`: any other error.
   */
  private async ping(target: string, timeoutMs: number): Promise<"ack" | "timeout" | "unreachable" | "failed"> {
    const gossip = this.piggyback();
    const cur = this.view.member(target);
    if (cur?.status === "suspect") {
      gossip.push({ name: target, status: "suspect", incarnation: cur.incarnation, from: this.self });
    }
    const sentAt = this.o.clock.monotonic();
    try {
      const reply = await this.request(target, { t: "ping", target, gossip }, timeoutMs);
      if (reply.t !== "ack") return "unreachable";
      // an answer counts as contact only from a member that still holds this one alive (its verdict rides on the ack)
      if (!reply.gossip?.some((u) => u.name === this.self && u.status !== "alive")) this.noteAnswer(target, sentAt);
      return "ack";
    } catch (e) {
      const code = (e as { code?: string }).code;
      return code === "timeout" ? "timeout" : code === "unreachable" || code === "closed" ? "unreachable" : "failed";
    }
  }

  // ---- dissemination ------------------------------------------------------

  private piggyback(): MemberUpdate[] {
    return this.view.piggyback(this.o.maxPiggyback ?? 8);
  }

  private gossipTick(): void {
    if (this.view.pendingUpdates === 0) return;
    const now = this.o.clock.monotonic();
    const targets = this.view
      .members()
      .filter((m) => m.name !== this.self)
      .filter(
        (m) =>
          m.status === "alive" ||
          m.status === "suspect" ||
          (m.status === "dead" && now - m.since < this.o.timings.gossipToTheDeadMs),
      )
      .map((m) => m.name);
    for (const name of shuffle(targets, this.o.rng).slice(0, this.o.timings.gossipNodes)) {
      const gossip = this.piggyback();
      if (gossip.length === 0) break;
      this.link(name).send(encodeMessage({ t: "gossip", gossip }));
      this.stats.gossipMessages++;
    }
  }

  private pushPullTick(): void {
    const others = this.view.others();
    if (others.length > 0) void this.sync(others[this.o.rng.int(others.length)]!).catch(() => undefined);
    // Reconnect (as Serf does, memberlist does not): after a partition both sides hold the other dead and SWIM
    // never probes the dead, so the halves would stay apart. One push-pull with a dead member or a seed that is
    // not live makes the side that is still running refute its death and the views merge.
    const live = new Set(this.view.live());
    const lost = [
      ...new Set([
        ...this.view
          .members()
          .filter((m) => m.status === "dead")
          .map((m) => m.name),
        ...this.seeds().filter((s) => !live.has(s)),
      ]),
    ].filter((n) => n !== this.self);
    if (lost.length > 0 && !this.o.noDeadReconnect) void this.sync(lost[this.o.rng.int(lost.length)]!).catch(() => undefined);
  }

  /** Full-state exchange with `peer`; merges what comes back. */
  private async sync(peer: string): Promise<void> {
    const msg: MembershipMessage = { t: "sync", checksum: this.view.checksum(), states: this.view.fullState() };
    this.stats.syncs++;
    const sentAt = this.o.clock.monotonic();
    const reply = await this.request(peer, msg, this.o.timings.syncTimeoutMs);
    const verdict = reply.t === "sync-reply" ? reply.states.find((u) => u.name === this.self) : undefined;
    if (verdict === undefined || verdict.status === "alive") this.noteAnswer(peer, sentAt);
    if (reply.t === "sync-reply" && reply.same) this.stats.syncsSkipped++;
    if (reply.t === "sync-reply" && !reply.same) this.view.merge(reply.states, `push-pull with ${peer}`, true);
  }

  // ---- inbound ------------------------------------------------------------

  private async onRequest(from: string, bytes: Uint8Array): Promise<Uint8Array> {
    if (!this.running) throw new Error(`membership: ${this.self} is stopped`);
    const m = decodeMessage(bytes);
    switch (m.t) {
      case "ping":
        this.view.merge(m.gossip, `ping from ${from}`);
        if (m.target !== this.self) throw new Error(`membership: ping for ${m.target} reached ${this.self}`);
        return encodeMessage({ t: "ack", gossip: this.withVerdictOn(from, this.piggyback()) });
      case "ping-req": {
        this.view.merge(m.gossip, `ping-req from ${from}`);
        const result = await this.ping(m.target, this.o.timings.probeTimeoutMs);
        if (result === "ack") return encodeMessage({ t: "ack", gossip: this.piggyback() });
        return encodeMessage(result === "unreachable" ? { t: "nack", gossip: this.piggyback(), refused: true } : { t: "nack", gossip: this.piggyback() });
      }
      case "sync": {
        const same = m.checksum === this.view.checksum();
        if (!same) this.view.merge(m.states, `push-pull from ${from}`, true);
        return encodeMessage({ t: "sync-reply", same, states: same ? [] : this.view.fullState() });
      }
      default:
        throw new Error(`membership: unexpected request ${m.t}`);
    }
  }

  /**
   * Adds what we believe about `peer` if it is suspect or dead, so a member
   * that was cut off learns it and refutes at once (the reverse of the
   * buddy system).
   */
  private withVerdictOn(peer: string, gossip: MemberUpdate[]): MemberUpdate[] {
    const m = this.view.member(peer);
    if (m && (m.status === "suspect" || m.status === "dead")) {
      gossip.push({ name: peer, status: m.status, incarnation: m.incarnation, from: this.self });
    }
    return gossip;
  }

  private onMessage(bytes: Uint8Array): void {
    if (!this.running) return;
    const m = decodeMessage(bytes);
    if (m.t === "gossip") this.view.merge(m.gossip, "gossip");
  }

  private async request(peer: string, msg: MembershipMessage, timeoutMs: number): Promise<MembershipMessage> {
    const reply = decodeMessage(await this.link(peer).request(encodeMessage(msg), timeoutMs));
    if ("gossip" in reply) this.view.merge(reply.gossip, `reply from ${peer}`);
    return reply;
  }

  // ---- helpers ------------------------------------------------------------

  private seeds(): string[] {
    return [...new Set(this.o.seeds)].filter((s) => s !== this.self);
  }

  private link(peer: string): Link {
    let l = this.links.get(peer);
    if (!l) {
      l = this.o.transport.connect(peer, this.self);
      this.links.set(peer, l);
      // a connection to it dropped (a killed process's kernel closes its sockets at once): check on it now
      l.onDown?.(() => this.probeNow(peer));
    }
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
