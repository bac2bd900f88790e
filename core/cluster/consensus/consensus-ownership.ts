/**
 * Ownership from an agreed, numbered partition table: the
 * {@link OwnerAuthority} and {@link QuorumGate} of a node whose table is the
 * committed member configuration of a Raft log (raft.ts), not its own view
 * of who is alive.
 *
 * - The table of epoch e is built from the member names of the
 *   configuration committed at log index e, so every node that knows epoch
 *   e has the same table, and quorum traffic carries (generation, epoch):
 *   a holder refuses traffic from any other epoch.
 * - A node acts as owner of partition p only while it holds an owner lease
 *   granted by a majority of its epoch's voters (owner-lease.ts), and only
 *   from one lease length after it learned of the epoch in which it
 *   acquired p: by then the previous owner's lease has run out (the
 *   argument is in owner-lease.ts). Together with the strict catch-up of a
 *   new owner from the previous holders (catch-up.ts), no two nodes act as
 *   owner of a partition at the same time.
 * - SWIM (membership.ts) only reports who is alive; the steward
 *   (steward.ts) turns that into proposals.
 *
 * Runtime-neutral: Clock, Rng and Transport are injected.
 */
import type { Clock, Rng, Timer } from "../../clock.ts";
import type { Logger } from "../../discovery.ts";
import type { Link, Listener, Transport } from "../../transport.ts";
import type { MembershipTimings } from "../membership-config.ts";
import { notHolderOf, notOwnerOfKeys, type OwnerAuthority, type QuorumGate } from "../ownership.ts";
import { PartitionTable } from "../partition-table.ts";
import type { ConsensusSnapshot } from "../snapshot.ts";
import { isMember, isVoter, type MemberConfig, type MemberRef, memberNames, targetVoterCount } from "./member-config.ts";
import { answerLease, LeaseHolder } from "./owner-lease.ts";
import { type ClusterId, type CommittedConfig, RaftNode } from "./raft.ts";
import { ConfigSteward } from "./steward.ts";
import { type ConsensusMessage, decodeConsensus, encodeConsensus } from "./wire.ts";

/** Timing of the consensus layer, derived from the membership timings by {@link consensusTimings}. */
export interface ConsensusTimings {
  heartbeatMs: number;
  electionMinMs: number;
  electionMaxMs: number;
  /** Owner lease length. */
  leaseMs: number;
  /** How long a process in no cluster waits before it may bootstrap one. */
  bootstrapAfterMs: number;
  /** Steward decisions (proposals, announcements, recovery checks). */
  tickMs: number;
}

/** Consensus timings scaled from SWIM's probe interval (1 s on lan and local, 5 s on wan). */
export function consensusTimings(t: MembershipTimings): ConsensusTimings {
  const p = t.probeIntervalMs;
  return {
    heartbeatMs: Math.max(20, Math.round(p / 5)),
    electionMinMs: p,
    electionMaxMs: 2 * p,
    leaseMs: Math.max(100, Math.round(p / 2)),
    bootstrapAfterMs: 2 * p,
    tickMs: Math.max(20, Math.round(p / 4)),
  };
}

/** A table change as the cluster layer sees it. */
export interface ConsensusTableChange {
  old: PartitionTable | null;
  next: PartitionTable | null;
  /** Configurations were skipped (installed from a newer base, or this node changed clusters): treat as a return. */
  gap: boolean;
}

/** Options for {@link ConsensusOwnership}. */
export interface ConsensusOwnershipOptions {
  /** This node's member name (peer address). */
  self: string;
  clock: Clock;
  rng: Rng;
  /** The consensus channel of the peer transport. */
  transport: Transport;
  timings: ConsensusTimings;
  partitionCount: number;
  replicaCount: number;
  /** Names the failure detector holds alive (this node included). */
  alive(): readonly string[];
  /** Configured seed peers (the lowest-named one bootstraps a new cluster without the usual wait). */
  seeds?: readonly string[];
  /** Told after the committed table changed. */
  onTable(change: ConsensusTableChange): void;
  log?: Logger;
  maxVoters?: number;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/** Ownership backed by the consensus log. */
export class ConsensusOwnership implements OwnerAuthority, QuorumGate {
  readonly raft: RaftNode;
  readonly steward: ConfigSteward;
  readonly lease: LeaseHolder;
  private current: PartitionTable | null = null;
  /** Per partition: monotonic time from which this node may act as its owner (after acquiring it). */
  private servableAt: Float64Array;
  /** Per partition acquired and not yet servable: the member that owned it before (null: nobody did). */
  private readonly previous = new Map<number, string>();
  private readonly links = new Map<string, Link>();
  private listener: Listener | undefined;
  private renewTimer: Timer | undefined;
  private stopped = false;
  private leaving = false;
  private readonly joinWaiters: (() => void)[] = [];
  private readonly log: Logger;

  constructor(private readonly o: ConsensusOwnershipOptions) {
    this.log = o.log ?? silent;
    this.servableAt = new Float64Array(o.partitionCount).fill(Number.POSITIVE_INFINITY);
    const boot = (o.rng.int(0x10000) * 0x10000 + o.rng.int(0x10000)) >>> 0;
    const t = o.timings;
    this.raft = new RaftNode({
      self: { name: o.self, boot },
      clock: o.clock,
      rng: o.rng,
      timings: { heartbeatMs: t.heartbeatMs, electionMinMs: t.electionMinMs, electionMaxMs: t.electionMaxMs },
      send: (to, m) => this.send(to, { k: "raft", m }),
      onJoin: (who, wants) => this.steward.noteIncarnation(who, wants),
      onLeave: (who) => this.memberLeaving(who),
      onCommitted: (changes, gap) => this.committed(changes, gap),
      onYield: (winner, self) => this.yielded(winner, self),
      onChange: () => undefined,
    });
    this.steward = new ConfigSteward({
      raft: this.raft,
      clock: o.clock,
      rng: o.rng,
      alive: () => (this.leaving ? o.alive().filter((n) => n !== o.self) : o.alive()),
      leaving: () => this.leaving,
      tickMs: t.tickMs,
      leaseMs: t.leaseMs,
      bootstrapAfterMs: t.bootstrapAfterMs,
      seeds: o.seeds,
      maxVoters: o.maxVoters,
    });
    this.lease = new LeaseHolder({
      self: this.raft.self,
      clock: o.clock,
      leaseMs: t.leaseMs,
      marginMs: Math.round(t.leaseMs / 10),
      send: (to, m) => this.send(to, { k: "lease", m }),
    });
  }

  // ---- lifecycle ----

  /** Listens on the consensus channel and starts the log, the steward and lease renewal. */
  async start(): Promise<void> {
    this.listener = await this.o.transport.listen(this.o.self, {
      onRequest: () => new Uint8Array(0),
      onMessage: (_from, bytes) => this.receive(bytes),
    });
    this.raft.start();
    this.steward.start();
    const renew = (): void => {
      if (this.stopped) return;
      this.renewLease();
      this.renewTimer = this.o.clock.setTimer(Math.max(10, Math.round(this.o.timings.leaseMs / 3)), renew);
    };
    renew();
  }

  /**
   * Resolves once this node is a member of a committed configuration that
   * has its full voter count (or lists this node as a voter), so a cluster
   * whose nodes all finished starting tolerates what its size promises
   * (or when stopped).
   */
  joined(): Promise<void> {
    if (this.stopped || this.settledMember()) return Promise.resolve();
    return new Promise((resolve) => this.joinWaiters.push(resolve));
  }

  private settledMember(): boolean {
    const c = this.raft.committed;
    return isMember(c, this.raft.self) && (isVoter(c, this.raft.self) || c.voters.length >= targetVoterCount(c.members.length, this.o.maxVoters));
  }

  /** Stops everything; messages are ignored afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.renewTimer?.cancel();
    this.raft.stop();
    this.steward.stop();
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.listener?.close();
    for (const w of this.joinWaiters.splice(0)) w();
  }

  /**
   * Graceful leave, first step: stop acting as owner at once and have the
   * leader remove this node (the steward stops reporting it alive; if it
   * leads, it proposes that itself). Resolves when a committed configuration
   * no longer lists it, or after `timeoutMs`.
   */
  async leave(timeoutMs: number): Promise<void> {
    this.leaving = true;
    const end = this.o.clock.monotonic() + timeoutMs;
    while (!this.stopped && this.o.clock.monotonic() < end && isMember(this.raft.committed, this.raft.self)) {
      if (this.raft.role === "leader") this.steward.tick();
      else if (this.raft.leader !== null) this.raft.requestLeave(this.raft.leader);
      await new Promise<void>((resolve) => this.o.clock.setTimer(Math.max(10, this.o.timings.heartbeatMs), resolve));
    }
  }

  /** A member asked to be dropped (its graceful leave): the leader proposes the configuration without it on the next turn. */
  private memberLeaving(who: MemberRef): void {
    if (this.stopped) return;
    this.steward.noteLeaving(who);
    if (this.raft.role === "leader") {
      this.o.clock.setTimer(0, () => {
        if (!this.stopped && this.raft.role === "leader") this.steward.tick();
      });
    }
  }

  /**
   * The failure detector declared `name` dead (or it left): if it led the
   * log, campaign now rather than after an election timeout; if this node
   * leads, propose the configuration without it on the next turn rather
   * than at the next steward tick.
   */
  memberDown(name: string): void {
    if (this.stopped || name === this.o.self) return;
    this.raft.leaderLost(name);
    if (this.raft.role === "leader") {
      this.o.clock.setTimer(0, () => {
        if (!this.stopped && this.raft.role === "leader") this.steward.tick();
      });
    }
  }

  // ---- OwnerAuthority ----

  table(): PartitionTable | null {
    return this.current;
  }

  /** The table's epoch (index of the committed entry that introduced its configuration). */
  get tableEpoch(): number {
    return this.current?.epoch ?? 0;
  }

  /** The table for `members` with this cluster's settings (a what-if; view id of the current epoch). */
  tableOf(members: readonly string[], epoch = 0): PartitionTable {
    return PartitionTable.build(members, epoch, { partitionCount: this.o.partitionCount, replicaCount: this.o.replicaCount });
  }

  /** Graceful leave: this node stops acting as owner; returns the table without it (for the hand-off push). */
  replace(members: readonly string[]): PartitionTable {
    this.leaving = true;
    return this.tableOf(members, this.tableEpoch);
  }

  /**
   * Why this node must not act as owner now — of partition `p` when given —
   * or null when it may: it holds no owner lease, or it acquired `p` less
   * than a lease length ago.
   */
  contactShortfall(p?: number): string | null {
    if (this.leaving) return "this node is leaving the cluster";
    const t = this.current;
    if (t === null || !isMember(this.raft.committed, this.raft.self)) return "not a member of the committed configuration yet";
    const now = this.o.clock.monotonic();
    const until = this.lease.validUntil();
    if (now >= until) return `no owner lease for epoch ${t.epoch} (a majority of its ${this.raft.committed.voters.length} voters must grant one)`;
    if (p !== undefined && now < this.servableAt[p]!) {
      return `partition ${p} was acquired in epoch ${t.epoch}: the previous owner's lease may still run for ${Math.ceil(this.servableAt[p]! - now)} ms`;
    }
    return null;
  }

  /** Asks the voters for a lease now; resolves once this node may act as owner (of `p`), or false after a lease length. */
  async renewContact(p?: number): Promise<boolean> {
    this.renewLease();
    const end = this.o.clock.monotonic() + this.o.timings.leaseMs + this.o.timings.heartbeatMs;
    for (let i = 0; i < 10_000 && !this.stopped; i++) {
      if (this.contactShortfall(p) === null) return true;
      if (this.o.clock.monotonic() >= end) return false;
      await new Promise<void>((resolve) => this.o.clock.setTimer(Math.max(5, Math.round(this.o.timings.heartbeatMs / 4)), resolve));
    }
    return false;
  }

  // ---- QuorumGate ----

  /** Quorum traffic only from the owner in this node's table, with the same (generation, epoch). */
  refuseQuorum(from: string | undefined, keys: readonly { key: Uint8Array }[], view: number | undefined): string | null {
    const t = this.current;
    if (t === null) return "no partition table yet";
    if (view !== undefined && view !== t.viewId) return `epoch differs (here: ${t.epoch}): tables not converged yet`;
    return notOwnerOfKeys(t, from, keys);
  }

  /** A pull only by a member this node's table names as a holder of every partition asked for. */
  refusePull(from: string | undefined, partitions: readonly number[], asOwner: boolean): string | null {
    return notHolderOf(this.current, from, partitions, asOwner);
  }

  /** State for views and metrics (GET /v1/cluster `consensus`). */
  snapshot(): ConsensusSnapshot {
    const r = this.raft;
    const now = this.o.clock.monotonic();
    let acquiring = 0;
    for (let p = 0; p < this.o.partitionCount; p++) if (this.servableAt[p]! > now && this.servableAt[p] !== Number.POSITIVE_INFINITY) acquiring++;
    return {
      role: r.role,
      term: r.term,
      leader: r.leader,
      cluster: r.cluster ? `${r.cluster.gen}.${r.cluster.id}` : null,
      epoch: r.committedEpoch,
      voters: r.committed.voters.map((v) => v.name),
      leaseValidMs: Math.max(0, Math.round(this.lease.validUntil() - now)),
      acquiring,
      elections: r.stats.elections,
      commits: r.stats.commits,
      bootstraps: this.steward.stats.bootstraps,
      recoveries: this.steward.stats.recoveries,
    };
  }

  // ---- internals ----

  private isMember(): boolean {
    return isMember(this.raft.committed, this.raft.self);
  }

  private renewLease(): void {
    const r = this.raft;
    if (r.cluster === null || !this.isMember() || this.leaving) return;
    this.lease.renew(r.cluster, r.committedEpoch, r.committed);
    this.lease.grantSelf(r);
  }

  private send(to: string, msg: ConsensusMessage): void {
    if (this.stopped) return;
    if (to === this.o.self) {
      // to itself (a lease request to its own vote is counted by grantSelf): nothing to send
      return;
    }
    let l = this.links.get(to);
    if (!l) {
      l = this.o.transport.connect(to, this.o.self);
      this.links.set(to, l);
    }
    try {
      l.send(encodeConsensus(msg));
    } catch {
      // best effort: Raft and leases retry
    }
  }

  private receive(bytes: Uint8Array): void {
    if (this.stopped) return;
    let msg: ConsensusMessage;
    try {
      msg = decodeConsensus(bytes);
    } catch (e) {
      this.log.warn("consensus message refused", { error: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (msg.k === "raft") {
      this.raft.receive("", msg.m);
      return;
    }
    const m = msg.m;
    if (m.t === "lease-req") this.send(m.from.name, { k: "lease", m: answerLease(this.raft, m) });
    else this.lease.onResponse(m);
  }

  /** Newly committed configurations: rebuild the table, note what this node acquired, tell the cluster layer. */
  private committed(changes: CommittedConfig[], gap: boolean): void {
    const last = changes.at(-1);
    if (!last) return;
    for (const c of changes) this.steward.noteCommitted(c.config);
    const self = this.o.self;
    const wasMember = this.current?.members.includes(self) === true;
    let old = this.current;
    let through = this.current;
    // walk every configuration in order: a partition is "kept" only if this node owned it in each of them
    const now = this.o.clock.monotonic();
    // a cluster this node just started (bootstrap or recovery: the configuration is itself alone) had no owners
    // before, so nothing it owns needs waiting out; every other first table does
    const founded = this.current === null && changes[0]!.config.members.length === 1 && changes[0]!.config.members[0]!.name === self;
    for (const c of changes) {
      const next = this.tableFor(c.config, c.epoch);
      if (founded && through === null) this.noteFounded(next);
      else this.noteAcquired(through, next, gap || !wasMember, now);
      through = next;
    }
    this.current = through;
    if (old !== null && old.epoch === this.current?.epoch) old = null;
    this.log.info("partition table committed", { epoch: last.epoch, members: last.config.members.length, voters: last.config.voters.length, gap });
    if (this.settledMember()) for (const w of this.joinWaiters.splice(0)) w();
    this.o.onTable({ old, next: this.current, gap });
  }

  /** The first table of a cluster this node founded: it owns every partition, and nobody did before. */
  private noteFounded(next: PartitionTable | null): void {
    this.previous.clear();
    for (let p = 0; p < this.o.partitionCount; p++) this.servableAt[p] = next !== null && next.owner(p) === this.o.self ? 0 : Number.POSITIVE_INFINITY;
  }

  /**
   * Marks partitions this node owns in `next` and did not own in `prev` (or
   * all, after a gap or as a new member) as acquired now: servable a lease
   * length from now, or sooner once the previous owner served this node a
   * strict pull of it ({@link servedBy}).
   */
  private noteAcquired(prev: PartitionTable | null, next: PartitionTable | null, all: boolean, now: number): void {
    const self = this.o.self;
    const wait = now + this.o.timings.leaseMs;
    // without a usable previous table, the owner it would have had without this node is the best guess of who held it
    const before = all || prev === null ? (next !== null && next.members.length > 1 ? this.tableOf(next.members.filter((m) => m !== self)) : null) : prev;
    for (let p = 0; p < this.o.partitionCount; p++) {
      const owns = next !== null && next.owner(p) === self;
      if (!owns) {
        this.servableAt[p] = Number.POSITIVE_INFINITY;
        this.previous.delete(p);
        continue;
      }
      const kept = !all && prev !== null && prev.owner(p) === self && this.servableAt[p] !== Number.POSITIVE_INFINITY;
      if (kept) continue;
      this.servableAt[p] = wait;
      const was = before?.owner(p);
      if (was !== undefined && was !== self) this.previous.set(p, was);
      else this.previous.delete(p);
    }
  }

  /**
   * `peer` served this node a strict pull of partition `p` (catch-up.ts): its
   * table names this node a holder, so it no longer acts as owner under an
   * older table. When it is the previous owner, `p` is servable now.
   */
  servedBy(p: number, peer: string): void {
    if (this.previous.get(p) !== peer) return;
    this.previous.delete(p);
    const now = this.o.clock.monotonic();
    if (this.servableAt[p]! > now && this.servableAt[p] !== Number.POSITIVE_INFINITY) this.servableAt[p] = now;
  }

  /** This node dropped its log (its cluster lost to another, or it was a remnant): it owns nothing until added. */
  private yielded(winner: ClusterId | null, self: MemberRef): void {
    this.lease.clear();
    this.lease.retarget(self);
    this.servableAt.fill(Number.POSITIVE_INFINITY);
    const old = this.current;
    this.current = null;
    this.log.warn("left its cluster for another one", { winner: winner ? `${winner.gen}.${winner.id}` : "none", boot: self.boot });
    this.o.onTable({ old, next: null, gap: true });
  }

  private tableFor(c: MemberConfig, epoch: number): PartitionTable | null {
    const names = memberNames(c);
    if (names.length === 0) return null;
    const cid = this.raft.cluster;
    return PartitionTable.build(names, epoch, {
      partitionCount: this.o.partitionCount,
      replicaCount: this.o.replicaCount,
      viewId: viewIdOf(cid, epoch),
    });
  }
}

/** A 32-bit id of (cluster, epoch) for quorum traffic (FNV-1a). */
export function viewIdOf(cid: ClusterId | null, epoch: number): number {
  let h = 0x811c9dc5;
  for (const x of [cid?.gen ?? 0, cid?.id ?? 0, epoch]) {
    for (let i = 0; i < 4; i++) h = Math.imul(h ^ ((x >>> (8 * i)) & 0xff), 0x01000193) >>> 0;
    h = Math.imul(h ^ Math.floor(x / 2 ** 32), 0x01000193) >>> 0;
  }
  return h;
}
