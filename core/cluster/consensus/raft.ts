/**
 * Raft (Ongaro & Ousterhout) for one small replicated value: the cluster's
 * {@link MemberConfig}. Every log entry carries a whole configuration, so
 * the state machine is "the configuration of the last committed entry", the
 * log compacts to one committed base entry, and a follower that is far
 * behind simply receives that base (InstallSnapshot in one message).
 *
 * What is kept from the paper, because the ownership argument rests on it:
 * terms and votes with the log up-to-date check (§5.4.1), log matching and
 * commit only of the leader's own term by counting (§5.4.2), the latest
 * configuration in the log decides who votes (§4.1 of the thesis, one voter
 * change per step), pre-vote and leader stickiness so a returning or removed
 * member cannot disrupt a working leader (§9.6, §4.2.3), and check-quorum so
 * a leader cut off from its voters steps down.
 *
 * What is different: nothing is persisted. Members are incarnations (name +
 * boot id, see member-config.ts); a restarted process is a new member that
 * must be added again, so it can never vote twice in a term it forgot.
 * Messages are one-way and addressed to an incarnation (`to`); one meant
 * for an earlier incarnation of the receiver's name is answered with a
 * `join` instead, which is how a leader learns that a member restarted.
 *
 * Runtime-neutral: time and randomness come from the injected Clock and Rng,
 * messages leave through `send`.
 */
import type { Clock, Rng, Timer } from "../../clock.ts";
import { isMember, isSafeStep, isVoter, type MemberConfig, type MemberRef, majority, normalize, participants, refId, sameConfig, sameRef } from "./member-config.ts";

/** One log entry: the whole configuration in force from it on. `noop` marks a leader's first entry of its term. */
export interface LogEntry {
  term: number;
  config: MemberConfig;
  noop?: boolean;
}

/** The compacted, committed prefix of the log: its last index and term, the configuration there and the epoch it began. */
export interface LogBase {
  index: number;
  term: number;
  config: MemberConfig;
  /** Index of the entry that introduced `config` (≤ index; 0 for the empty configuration). */
  epoch: number;
}

/** A configuration that became committed, with its epoch. */
export interface CommittedConfig {
  epoch: number;
  config: MemberConfig;
}

/**
 * Which cluster a log belongs to. A cluster is born by a bootstrap (gen 1,
 * a random id) or by a recovery after its voters were lost (gen + 1). When
 * two clusters meet, the higher generation wins, then the one with more
 * members, then the lower id; the loser's members drop their logs and join
 * the winner (see {@link RaftNode.receive}).
 */
export interface ClusterId {
  gen: number;
  id: number;
}

/**
 * What every message carries: the sender's incarnation, its cluster, that
 * cluster's committed member count, and whether the sender knows a working
 * leader (one it heard from within an election timeout).
 */
export interface RaftHeader {
  from: MemberRef;
  cid: ClusterId | null;
  size: number;
  led: boolean;
}

/** Message bodies. `to` is the boot id of the addressed incarnation. */
export type RaftBody =
  | { t: "prevote" | "vote"; term: number; to: number; lastIndex: number; lastTerm: number }
  | { t: "vote-res"; term: number; pre: boolean; granted: boolean }
  | {
      t: "append";
      term: number;
      to: number;
      prevIndex: number;
      prevTerm: number;
      entries: LogEntry[];
      commit: number;
      /** Present when the follower is behind the leader's compacted base. */
      base?: LogBase;
    }
  | { t: "append-res"; term: number; ok: boolean; match: number }
  /**
   * "Add me": a process that is not (or no longer) a member, announcing its
   * incarnation; `wants` is the cluster it dropped its log for (null after a
   * plain start), so the others follow it there instead of taking its old
   * incarnation for a restart.
   */
  | { t: "join"; wants: ClusterClaim | null }
  /** "Drop me": a member leaving gracefully asks the leader to propose the configuration without this incarnation. */
  | { t: "leave" }
  /** The sender's committed configuration and the leader it knows, for joiners and removed members. */
  | { t: "hint"; term: number; leader: string | null; base: LogBase };

/** One message between members. */
export type RaftMessage = RaftBody & RaftHeader;

/** A cluster as one of its members describes it in a message header. */
export interface ClusterClaim {
  cid: ClusterId;
  size: number;
  led: boolean;
}

/**
 * Whether cluster `a` wins over `b` when they meet: one with a working
 * leader over one without (a remnant whose voters are gone must not swallow
 * a live cluster, whatever its generation); then the later generation (a
 * recovery wins over what is left of the cluster it replaced); then more
 * members; then the lower id.
 */
export function clusterWins(a: ClusterClaim, b: ClusterClaim): boolean {
  if (a.led !== b.led) return a.led;
  if (a.cid.gen !== b.cid.gen) return a.cid.gen > b.cid.gen;
  if (a.size !== b.size) return a.size > b.size;
  return a.cid.id < b.cid.id;
}

/** Whether two cluster ids are the same cluster. */
export function sameCluster(a: ClusterId | null, b: ClusterId | null): boolean {
  return a !== null && b !== null && a.gen === b.gen && a.id === b.id;
}

/** Election and heartbeat timing, ms. */
export interface RaftTimings {
  heartbeatMs: number;
  /** Election timeouts are drawn uniformly from [electionMinMs, electionMaxMs). */
  electionMinMs: number;
  electionMaxMs: number;
}

/** Role of this member in the current term. */
export type RaftRole = "follower" | "candidate" | "leader";

/** Options for {@link RaftNode}. */
export interface RaftOptions {
  self: MemberRef;
  clock: Clock;
  rng: Rng;
  /** Sends one message to the member named `to` (best effort; may be lost, delayed, duplicated). */
  send(to: string, msg: RaftMessage): void;
  timings: RaftTimings;
  /** Called after the committed configuration, the latest configuration, the role or the leader changed. */
  onChange?(): void;
  /** Called with every join announcement this member hears (the leader's proposer uses them). */
  onJoin?(who: MemberRef, wants: ClusterClaim | null): void;
  /** Called when a member of this cluster asks to be dropped (a graceful leave; the leader's proposer uses it). */
  onLeave?(who: MemberRef): void;
  /** Called when this member dropped its log to join cluster `winner` (it met a cluster that wins over its own). */
  onYield?(winner: ClusterId | null, self: MemberRef): void;
  /**
   * Called when the commit index advances, with each configuration that
   * became committed, in order. `gap` is true when this member skipped
   * configurations it never saw (it installed a newer base from a leader or
   * a hint): what happened in between is unknown to it.
   */
  onCommitted?(changes: CommittedConfig[], gap: boolean): void;
}

/** Counters for metrics and tests. */
export interface RaftStats {
  elections: number;
  preVotesLost: number;
  becameLeader: number;
  steppedDown: number;
  proposals: number;
  commits: number;
}

const EMPTY: MemberConfig = { members: [], voters: [] };
/** Entries kept before the committed prefix is folded into the base. */
const COMPACT_AT = 32;

/** One member's Raft state machine for the member configuration. */
export class RaftNode {
  private me: MemberRef;
  readonly stats: RaftStats = { elections: 0, preVotesLost: 0, becameLeader: 0, steppedDown: 0, proposals: 0, commits: 0 };
  private termNow = 0;
  private votedFor: string | null = null;
  private roleNow: RaftRole = "follower";
  private leaderName: string | null = null;
  private base: LogBase = { index: 0, term: 0, config: EMPTY, epoch: 0 };
  private entries: LogEntry[] = [];
  private commitIndex = 0;
  /** Monotonic time a leader was last heard from (stickiness: no votes for others meanwhile). */
  private leaderContact = Number.NEGATIVE_INFINITY;
  private electionTimer: Timer | undefined;
  private heartbeatTimer: Timer | undefined;
  private stopped = false;
  // candidate
  private votes = new Set<string>();
  private preVoting = false;
  // leader
  private readonly next = new Map<string, number>();
  private readonly match = new Map<string, number>();
  private readonly heard = new Map<string, number>();
  private quorumCheckAt = 0;
  private cid: ClusterId | null = null;
  /** Leader named by the last hint heard while not a member (where to announce). */
  private hinted: string | null = null;
  /** The cluster this process dropped its log for, until it is added somewhere. */
  private wanting: ClusterClaim | null = null;
  private hintedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: RaftOptions) {
    this.me = { name: o.self.name, boot: o.self.boot >>> 0 };
  }

  // ---- what the cluster layer reads ----

  /** This process's current incarnation (a new boot id after it dropped its log; see {@link abandon}). */
  get self(): MemberRef {
    return this.me;
  }

  /** The cluster this member's log belongs to; null before it bootstrapped or was added to one. */
  get cluster(): ClusterId | null {
    return this.cid;
  }

  /** How this member describes its cluster to others (null when in none). */
  claim(): ClusterClaim | null {
    return this.cid === null ? null : { cid: this.cid, size: this.committed.members.length, led: this.leaderName !== null };
  }

  /** A leader some member named while this process was not a member (where to announce), or null. */
  get hintedLeader(): string | null {
    return this.hinted;
  }

  /** Monotonic time of the last hint about an existing cluster (−Infinity if none). */
  get lastHintAt(): number {
    return this.hintedAt;
  }

  get term(): number {
    return this.termNow;
  }

  get role(): RaftRole {
    return this.roleNow;
  }

  /** Name of the leader this member follows (itself when leading), or null. */
  get leader(): string | null {
    return this.leaderName;
  }

  /** Index of the last entry known committed. */
  get committedIndex(): number {
    return this.commitIndex;
  }

  /** Index of the last entry in the log. */
  get lastIndex(): number {
    return this.base.index + this.entries.length;
  }

  /** The configuration of the last committed entry (empty before bootstrap or join). */
  get committed(): MemberConfig {
    return this.configAt(this.commitIndex);
  }

  /**
   * Index of the committed entry that introduced the committed configuration:
   * the table epoch. Entries that repeat the configuration (a leader's no-op)
   * do not change it. 0 before any configuration is committed.
   */
  get committedEpoch(): number {
    return this.epochAt(this.commitIndex);
  }

  /** The configuration of the last entry in the log, committed or not (it decides who votes). */
  get latest(): MemberConfig {
    return this.configAt(this.lastIndex);
  }

  /** Index of the entry that introduced the latest configuration in the log. */
  get latestEpoch(): number {
    return this.epochAt(this.lastIndex);
  }

  /** The committed base plus entries, for tests and debugging. */
  logSnapshot(): { base: LogBase; entries: readonly LogEntry[]; commit: number } {
    return { base: this.base, entries: this.entries, commit: this.commitIndex };
  }

  /** Leader only: whether the member named `name` holds the log up to the commit index (may be promoted to voter). */
  caughtUp(name: string): boolean {
    if (this.roleNow !== "leader") return false;
    if (name === this.self.name) return true;
    const m = participants(this.latest).find((p) => p.name === name);
    return m !== undefined && (this.match.get(refId(m)) ?? 0) >= this.commitIndex;
  }

  /** Whether a configuration change is appended but not committed yet (one change in flight at a time). */
  get changePending(): boolean {
    return this.latestEpoch > this.commitIndex;
  }

  // ---- driving it ----

  /** Starts the election timer (a voter that hears no leader will campaign). */
  start(): void {
    this.stopped = false;
    this.resetElectionTimer();
  }

  /** Stops every timer; messages are ignored afterwards. */
  stop(): void {
    this.stopped = true;
    this.electionTimer?.cancel();
    this.heartbeatTimer?.cancel();
  }

  /**
   * Starts a new cluster with `config` (which must list this incarnation as
   * a voter) when this member has no log yet. The entry is committed once
   * this member wins an election and a majority of `config`'s voters holds
   * it. Returns false when the log is not empty.
   */
  bootstrap(config: MemberConfig, cluster: ClusterId): boolean {
    const c = normalize(config);
    if (this.cid !== null || this.lastIndex !== 0 || !isVoter(c, this.self)) return false;
    this.cid = { gen: cluster.gen, id: cluster.id >>> 0 };
    this.termNow = Math.max(this.termNow, 1);
    this.entries.push({ term: this.termNow, config: c });
    this.resetElectionTimer(true);
    this.o.onChange?.();
    return true;
  }

  /**
   * Starts a new generation of this member's cluster with `config` (listing
   * this incarnation as a voter), after the cluster layer found that a
   * majority of the current voters is gone for good (restarted under new
   * boot ids, so they can never vote again) and that every lease they
   * granted has run out. The new log continues the old indices, so epochs
   * keep growing; members still on the old generation yield to it.
   */
  recover(config: MemberConfig, id: number): boolean {
    const c = normalize(config);
    if (this.cid === null || !isVoter(c, this.self)) return false;
    const gen = this.cid.gen + 1;
    const start = this.lastIndex;
    this.heartbeatTimer?.cancel();
    this.cid = { gen, id: id >>> 0 };
    this.termNow++;
    this.votedFor = null;
    this.roleNow = "follower";
    this.leaderName = null;
    this.base = { index: start, term: this.termNow, config: EMPTY, epoch: start };
    this.commitIndex = start;
    this.entries = [{ term: this.termNow, config: c }];
    this.next.clear();
    this.match.clear();
    this.heard.clear();
    this.resetElectionTimer(true);
    this.o.onChange?.();
    return true;
  }

  /**
   * Leader only: appends `config` as the next configuration. Refused (false)
   * when not leader, when a change is still uncommitted, when it is not one
   * safe step from the latest, or when it changes nothing.
   */
  propose(config: MemberConfig): boolean {
    if (this.stopped || this.roleNow !== "leader" || this.changePending) return false;
    const c = normalize(config);
    const latest = this.latest;
    if (sameConfig(c, latest) || !isSafeStep(latest, c)) return false;
    this.stats.proposals++;
    this.entries.push({ term: this.termNow, config: c });
    for (const m of participants(c)) if (!sameRef(m, this.self) && !this.next.has(refId(m))) this.trackFollower(m);
    this.replicateAll();
    this.advanceCommit();
    this.o.onChange?.();
    return true;
  }

  /**
   * Handles one message from the member named `from`. A message from
   * another cluster is answered with a hint about ours when ours wins, and
   * makes this member yield (drop its log, become a joiner) when theirs does.
   */
  receive(from: string, msg: RaftMessage): void {
    if (this.stopped || (from !== "" && msg.from.name !== from)) return;
    if (msg.cid !== null && this.cid !== null && !sameCluster(msg.cid, this.cid)) {
      const mine: ClusterClaim = { cid: this.cid, size: this.committed.members.length, led: this.leaderName !== null };
      const theirs: ClusterClaim = { cid: msg.cid, size: msg.size, led: msg.led };
      if (!clusterWins(theirs, mine)) {
        if (msg.t !== "hint") this.post(msg.from.name, { t: "hint", term: this.termNow, leader: this.leaderName, base: this.committedBase() });
        return;
      }
      this.yieldTo(theirs);
    }
    if (this.cid === null && msg.t !== "append" && msg.t !== "hint" && msg.t !== "join") return; // not in any cluster: nothing to vote on
    if (msg.cid === null && msg.t !== "join") return;
    switch (msg.t) {
      case "prevote":
      case "vote":
        return this.onVoteRequest(msg);
      case "vote-res":
        return this.onVoteResponse(msg);
      case "append":
        return this.onAppend(msg);
      case "append-res":
        return this.onAppendResponse(msg);
      case "join":
        return this.onJoinRequest(msg.from, msg.wants);
      case "leave":
        if (sameCluster(msg.cid, this.cid)) this.o.onLeave?.(msg.from);
        return;
      case "hint":
        return this.onHint(msg);
    }
  }

  /** Asks `to` to add this incarnation (sent by the cluster layer while this process is not a member). */
  announce(to: string): void {
    if (!this.stopped) this.post(to, { t: "join", wants: this.wanting });
  }

  /** Asks `to` (the leader, when known) to drop this incarnation from the configuration: a graceful leave. */
  requestLeave(to: string): void {
    if (!this.stopped && this.cid !== null && to !== this.me.name) this.post(to, { t: "leave" });
  }

  /** Tells `to` about this member's cluster (a hint), so two clusters that meet find out which one wins. */
  advertise(to: string): void {
    if (!this.stopped && this.cid !== null) this.post(to, { t: "hint", term: this.termNow, leader: this.leaderName, base: this.committedBase() });
  }

  /** Sends `body` with this member's header (a hint only when there is a committed configuration to tell of). */
  private post(to: string, body: RaftBody): void {
    if (body.t === "hint" && (this.cid === null || this.committed.members.length === 0)) return;
    this.o.send(to, { ...body, from: this.self, cid: this.cid, size: this.committed.members.length, led: this.leaderName !== null } as RaftMessage);
  }

  /**
   * Drops the log and becomes a joiner of `winner` (or of whatever cluster
   * will have it), under a NEW boot id: a process that forgot its log must
   * never vote as the incarnation that had it, and its old incarnation then
   * counts as gone for good in every configuration that lists it.
   */
  abandon(winner: ClusterClaim | null = null): void {
    this.heartbeatTimer?.cancel();
    this.me = { name: this.me.name, boot: newBoot(this.o.rng, this.me.boot) };
    this.cid = null;
    this.termNow = 0;
    this.votedFor = null;
    this.roleNow = "follower";
    this.leaderName = null;
    this.preVoting = false;
    this.base = { index: 0, term: 0, config: EMPTY, epoch: 0 };
    this.entries = [];
    this.commitIndex = 0;
    this.next.clear();
    this.match.clear();
    this.heard.clear();
    this.hinted = null;
    this.wanting = winner;
    this.resetElectionTimer();
    this.o.onYield?.(winner?.cid ?? null, this.me);
    this.o.onChange?.();
  }

  private yieldTo(winner: ClusterClaim): void {
    this.abandon(winner);
  }


  /**
   * The failure detector declared process `name` dead (SWIM, with
   * confirmations). If it is the leader this member follows, stop holding
   * on to it: forget its last contact, so this member grants votes at once
   * (leader stickiness is for leaders that are alive) and campaigns within
   * a heartbeat instead of a whole election timeout. Only liveness changes:
   * a vote still needs an up-to-date log and a majority, and a leader that
   * is alive after all keeps or regains its followers by appending.
   */
  leaderLost(name: string): void {
    if (this.stopped || this.roleNow === "leader" || this.leaderName !== name) return;
    this.leaderContact = Number.NEGATIVE_INFINITY;
    this.leaderName = null;
    this.resetElectionTimer(true);
    this.o.onChange?.();
  }

  // ---- elections ----

  private resetElectionTimer(soon = false): void {
    this.electionTimer?.cancel();
    if (this.stopped || this.roleNow === "leader") return;
    const t = this.o.timings;
    const wait = soon ? this.o.rng.int(Math.max(1, t.heartbeatMs)) : t.electionMinMs + this.o.rng.int(Math.max(1, t.electionMaxMs - t.electionMinMs));
    this.electionTimer = this.o.clock.setTimer(wait, () => this.onElectionTimeout());
  }

  private onElectionTimeout(): void {
    if (this.stopped || this.roleNow === "leader") return;
    this.resetElectionTimer();
    if (this.o.clock.monotonic() - this.leaderContact > this.o.timings.electionMaxMs && this.leaderName !== null) {
      this.leaderName = null; // not heard from it for a whole election timeout: stop naming it in hints
      this.o.onChange?.();
    }
    if (!isVoter(this.latest, this.self)) return; // non-voters never campaign
    this.preVoting = true;
    this.votes = new Set([refId(this.self)]);
    this.roleNow = "candidate";
    if (this.tallyWon()) return this.startElection();
    this.requestVotes("prevote", this.termNow + 1);
  }

  private startElection(): void {
    this.preVoting = false;
    this.stats.elections++;
    this.termNow++;
    this.votedFor = refId(this.self);
    this.leaderName = null;
    this.votes = new Set([refId(this.self)]);
    this.roleNow = "candidate";
    this.o.onChange?.();
    if (this.tallyWon()) return this.becomeLeader();
    this.requestVotes("vote", this.termNow);
  }

  private requestVotes(t: "prevote" | "vote", term: number): void {
    const lastIndex = this.lastIndex;
    const lastTerm = this.termAt(lastIndex);
    for (const m of this.voterRefs(this.latest)) {
      if (m.name !== this.self.name) this.post(m.name, { t, term, to: m.boot, lastIndex, lastTerm });
    }
  }

  private onVoteRequest(msg: Extract<RaftMessage, { t: "prevote" | "vote" }>): void {
    if (msg.to !== this.self.boot) {
      // meant for an earlier incarnation of this name: it cannot vote any more; say who runs here now
      this.post(msg.from.name, { t: "join", wants: this.wanting });
      return;
    }
    const pre = msg.t === "prevote";
    const candidate = refId(msg.from);
    const upToDate = msg.lastTerm > this.termAt(this.lastIndex) || (msg.lastTerm === this.termAt(this.lastIndex) && msg.lastIndex >= this.lastIndex);
    // stickiness: while a leader is heard from, nobody else gets a vote (a removed or returning member cannot disrupt it)
    const leaderAlive = this.roleNow === "leader" || this.o.clock.monotonic() - this.leaderContact < this.o.timings.electionMinMs;
    if (!isMember(this.committed, msg.from) && !isMember(this.latest, msg.from) && this.commitIndex > 0) {
      // not a member any more: tell it what was decided, so it stops campaigning and asks to join
      this.post(msg.from.name, { t: "hint", term: this.termNow, leader: this.leaderName, base: this.committedBase() });
    }
    if (pre) {
      const granted = msg.term > this.termNow && upToDate && !leaderAlive;
      this.post(msg.from.name, { t: "vote-res", term: granted ? msg.term : this.termNow, pre: true, granted });
      return;
    }
    if (msg.term > this.termNow && !leaderAlive) this.stepDown(msg.term);
    const granted = msg.term === this.termNow && upToDate && (this.votedFor === null || this.votedFor === candidate) && !leaderAlive;
    if (granted) {
      this.votedFor = candidate;
      this.resetElectionTimer();
    }
    this.post(msg.from.name, { t: "vote-res", term: this.termNow, pre: false, granted });
  }

  private onVoteResponse(msg: Extract<RaftMessage, { t: "vote-res" }>): void {
    // a refusal from a member in a later term (pre-vote or not): catch up with its term, or we could never win it over
    if (msg.term > this.termNow && (!msg.pre || !msg.granted)) return this.stepDown(msg.term);
    if (this.roleNow !== "candidate" || msg.pre !== this.preVoting) return;
    if (msg.pre ? msg.term !== this.termNow + 1 : msg.term !== this.termNow) return;
    const voter = this.voterRefs(this.latest).find((v) => v.name === msg.from.name && v.boot === msg.from.boot);
    if (!voter) return;
    if (!msg.granted) {
      return;
    }
    this.votes.add(refId(voter));
    if (!this.tallyWon()) return;
    if (this.preVoting) this.startElection();
    else this.becomeLeader();
  }

  private tallyWon(): boolean {
    const voters = this.voterRefs(this.latest);
    let n = 0;
    for (const v of voters) if (this.votes.has(refId(v))) n++;
    return voters.length > 0 && n >= majority(voters.length);
  }

  private becomeLeader(): void {
    this.stats.becameLeader++;
    this.roleNow = "leader";
    this.leaderName = this.self.name;
    this.electionTimer?.cancel();
    this.next.clear();
    this.match.clear();
    this.heard.clear();
    this.quorumCheckAt = this.o.clock.monotonic() + this.o.timings.electionMaxMs;
    // a no-op of this term: entries of earlier terms commit only through one of the leader's own (§5.4.2)
    this.entries.push({ term: this.termNow, config: this.latest, noop: true });
    for (const m of participants(this.latest)) if (!sameRef(m, this.self)) this.trackFollower(m);
    this.o.onChange?.();
    this.advanceCommit();
    this.heartbeat();
  }

  private stepDown(term: number): void {
    const was = this.roleNow;
    if (term > this.termNow) {
      this.termNow = term;
      this.votedFor = null;
    }
    this.roleNow = "follower";
    this.preVoting = false;
    if (was === "leader") {
      this.stats.steppedDown++;
      this.leaderName = null;
      this.heartbeatTimer?.cancel();
    }
    this.resetElectionTimer();
    this.o.onChange?.();
  }

  // ---- replication ----

  private trackFollower(m: MemberRef): void {
    this.next.set(refId(m), this.lastIndex + 1);
    this.match.set(refId(m), 0);
  }

  private heartbeat(): void {
    if (this.stopped || this.roleNow !== "leader") return;
    const now = this.o.clock.monotonic();
    if (now >= this.quorumCheckAt) {
      // check-quorum: a leader that has not heard from a majority of its voters for an election timeout steps down
      const voters = this.voterRefs(this.latest);
      const window = this.o.timings.electionMaxMs;
      let heard = 0;
      for (const v of voters) if (sameRef(v, this.self) || now - (this.heard.get(refId(v)) ?? Number.NEGATIVE_INFINITY) <= window) heard++;
      if (voters.length > 0 && heard < majority(voters.length)) return this.stepDown(this.termNow);
      this.quorumCheckAt = now + window;
    }
    this.replicateAll();
    this.heartbeatTimer = this.o.clock.setTimer(this.o.timings.heartbeatMs, () => this.heartbeat());
  }

  private replicateAll(): void {
    for (const m of participants(this.latest)) if (!sameRef(m, this.self)) this.replicateTo(m);
  }

  private replicateTo(m: MemberRef): void {
    if (!this.next.has(refId(m))) this.trackFollower(m);
    const next = this.next.get(refId(m))!;
    const common = { term: this.termNow, to: m.boot, commit: this.commitIndex };
    if (next <= this.base.index) {
      // behind the compacted prefix: send the base and everything after it
      this.post(m.name, { t: "append", ...common, prevIndex: this.base.index, prevTerm: this.base.term, entries: this.entries.slice(), base: this.base });
      return;
    }
    const prevIndex = next - 1;
    this.post(m.name, { t: "append", ...common, prevIndex, prevTerm: this.termAt(prevIndex), entries: this.entries.slice(prevIndex - this.base.index) });
  }

  private onAppend(msg: Extract<RaftMessage, { t: "append" }>): void {
    if (this.cid === null && msg.to === this.self.boot) {
      // a joiner being added: terms of the clusters it knew before mean nothing here
      this.termNow = msg.term;
      this.votedFor = null;
    }
    if (msg.term < this.termNow) {
      this.post(msg.from.name, { t: "append-res", term: this.termNow, ok: false, match: this.lastIndex });
      return;
    }
    if (msg.to !== this.self.boot) {
      // the leader addresses an earlier incarnation of this name: tell it who runs here now
      this.post(msg.from.name, { t: "join", wants: this.wanting });
      return;
    }
    const adopting = this.cid === null;
    if (adopting) {
      // added to a cluster (its leader addresses this incarnation): its log is ours from now on, once we hold some of it
      this.cid = msg.cid;
      this.wanting = null;
    }
    const changedLeader = this.leaderName !== msg.from.name || this.roleNow !== "follower" || msg.term !== this.termNow;
    if (msg.term > this.termNow) {
      this.termNow = msg.term;
      this.votedFor = null;
    }
    if (this.roleNow === "leader") this.stats.steppedDown++;
    this.roleNow = "follower";
    this.preVoting = false;
    this.heartbeatTimer?.cancel();
    this.leaderName = msg.from.name;
    this.leaderContact = this.o.clock.monotonic();
    this.resetElectionTimer();
    const before = this.snapshotKey();
    if (msg.base) this.installBase(msg.base);
    let prevIndex = msg.prevIndex;
    let prevTerm = msg.prevTerm;
    let entries = msg.entries;
    if (prevIndex < this.base.index) {
      // the overlap with our committed prefix is known to match (committed entries are the same everywhere): skip it
      const skip = this.base.index - prevIndex;
      if (skip > entries.length) {
        this.reply(msg.from, true, Math.min(this.base.index, prevIndex + entries.length));
        this.afterChange(before, changedLeader);
        return;
      }
      prevTerm = skip > 0 ? entries[skip - 1]!.term : prevTerm;
      entries = entries.slice(skip);
      prevIndex = this.base.index;
    }
    if (prevIndex > this.lastIndex || this.termAt(prevIndex) !== prevTerm) {
      this.reply(msg.from, false, Math.min(this.lastIndex, prevIndex - 1));
      if (adopting && this.lastIndex === 0) this.cid = null; // nothing of that cluster's log yet: still a joiner
      this.afterChange(before, changedLeader);
      return;
    }
    let index = prevIndex;
    for (const e of entries) {
      index++;
      if (index <= this.lastIndex) {
        if (this.termAt(index) === e.term) continue;
        this.entries.length = index - this.base.index - 1; // conflict: drop it and everything after
      }
      this.entries.push({ term: e.term, config: normalize(e.config), ...(e.noop ? { noop: true } : {}) });
    }
    const lastNew = prevIndex + entries.length;
    if (msg.commit > this.commitIndex) this.setCommit(Math.min(msg.commit, lastNew));
    this.reply(msg.from, true, lastNew);
    this.afterChange(before, changedLeader);
  }

  private reply(leader: MemberRef, ok: boolean, match: number): void {
    this.post(leader.name, { t: "append-res", term: this.termNow, ok, match });
  }

  private onAppendResponse(msg: Extract<RaftMessage, { t: "append-res" }>): void {
    if (msg.term > this.termNow) return this.stepDown(msg.term);
    if (this.roleNow !== "leader" || msg.term !== this.termNow) return;
    const m = participants(this.latest).find((p) => sameRef(p, msg.from));
    if (!m) return; // an answer from another incarnation of that name, or from someone no longer in the log
    const id = refId(m);
    this.heard.set(id, this.o.clock.monotonic());
    if (msg.ok) {
      if (msg.match > (this.match.get(id) ?? 0)) this.match.set(id, msg.match);
      this.next.set(id, Math.max(this.next.get(id) ?? 1, msg.match + 1));
      this.advanceCommit();
      return;
    }
    const next = Math.max(1, Math.min((this.next.get(id) ?? 1) - 1, msg.match + 1));
    this.next.set(id, next);
    this.replicateTo(m);
  }

  private advanceCommit(): void {
    const voters = this.voterRefs(this.latest);
    if (voters.length === 0) return;
    for (let n = this.lastIndex; n > this.commitIndex; n--) {
      if (this.termAt(n) !== this.termNow) break; // only entries of this term commit by counting
      let count = 0;
      for (const v of voters) if (sameRef(v, this.self) || (this.match.get(refId(v)) ?? 0) >= n) count++;
      if (count >= majority(voters.length)) {
        const before = this.snapshotKey();
        this.setCommit(n);
        this.replicateAll(); // followers learn the new commit index now, not at the next heartbeat
        this.afterChange(before, false);
        if (!isVoter(this.committed, this.self)) this.stepDown(this.termNow); // no longer votes: hand over
        return;
      }
    }
  }

  private setCommit(n: number): void {
    if (n <= this.commitIndex) return;
    const removed = this.committed.members.filter((m) => !isMember(this.configAt(n), m));
    const changes: CommittedConfig[] = [];
    for (let i = this.commitIndex + 1; i <= n; i++) {
      if (this.epochAt(i) === i) changes.push({ epoch: i, config: this.configAt(i) });
    }
    this.commitIndex = n;
    this.stats.commits++;
    if (this.roleNow === "leader") {
      // members just removed get no more appends: tell them what was decided so they ask to join again
      for (const m of removed) this.post(m.name, { t: "hint", term: this.termNow, leader: this.leaderName, base: this.committedBase() });
    }
    this.compact();
    if (changes.length > 0) this.o.onCommitted?.(changes, false);
  }

  // ---- joiners and hints ----

  private onJoinRequest(who: MemberRef, wants: ClusterClaim | null): void {
    if (wants !== null && this.cid !== null && !sameCluster(wants.cid, this.cid)) {
      const mine: ClusterClaim = { cid: this.cid, size: this.committed.members.length, led: this.leaderName !== null };
      if (clusterWins(wants, mine)) {
        // it left our cluster for a better one: follow it there rather than count it as lost
        this.abandon(wants);
        return;
      }
    }
    this.o.onJoin?.(who, wants);
    if (this.cid === null) return; // no cluster to offer
    if (this.roleNow !== "leader") {
      this.post(who.name, { t: "hint", term: this.termNow, leader: this.leaderName, base: this.committedBase() });
      return;
    }
    const m = participants(this.latest).find((p) => sameRef(p, who));
    if (m) {
      // already a member: it may have missed our appends (just restarted its link); send one now
      this.replicateTo(m);
    }
  }

  private onHint(msg: Extract<RaftMessage, { t: "hint" }>): void {
    if (msg.base.config.members.length === 0) return;
    // only a cluster with a working leader counts as "a cluster exists" for a joiner (a remnant does not)
    if (msg.led) this.hintedAt = this.o.clock.monotonic();
    if (this.cid === null || !isMember(this.latest, this.self)) this.hinted = msg.leader ?? msg.from.name;
    if (this.cid === null) return; // a joiner learns where to announce, nothing more
    if (msg.base.index <= this.commitIndex) return;
    const before = this.snapshotKey();
    if (msg.term > this.termNow) this.stepDown(msg.term);
    this.installBase(msg.base);
    this.afterChange(before, false);
  }

  /** Makes `b` (a committed entry) our base: keep what follows when our log agrees at that index, else drop the log. */
  private installBase(b: LogBase): void {
    if (b.index <= this.base.index) return;
    if (b.index <= this.commitIndex) {
      // already committed that far: the base is only a compaction point for us
      return;
    }
    const config = normalize(b.config);
    if (b.index <= this.lastIndex && this.termAt(b.index) === b.term) {
      // our log agrees up to the base: the entries we have up to it become committed in order, no gap
      this.setCommit(b.index);
      return;
    }
    this.entries = [];
    this.base = { index: b.index, term: b.term, config, epoch: b.epoch };
    const had = this.commitIndex;
    this.commitIndex = b.index;
    this.stats.commits++;
    this.resetElectionTimer();
    if (had < b.index) this.o.onCommitted?.([{ epoch: b.epoch, config }], true);
  }

  private committedBase(): LogBase {
    return { index: this.commitIndex, term: this.termAt(this.commitIndex), config: this.committed, epoch: this.committedEpoch };
  }

  private compact(): void {
    const fold = this.commitIndex - this.base.index;
    if (this.entries.length < COMPACT_AT || fold <= 0) return;
    this.base = { index: this.commitIndex, term: this.termAt(this.commitIndex), config: this.configAt(this.commitIndex), epoch: this.epochAt(this.commitIndex) };
    this.entries = this.entries.slice(fold);
  }

  // ---- helpers ----

  private termAt(index: number): number {
    if (index === this.base.index) return this.base.term;
    if (index < this.base.index || index > this.lastIndex) return -1;
    return this.entries[index - this.base.index - 1]!.term;
  }

  private configAt(index: number): MemberConfig {
    if (index <= this.base.index) return this.base.config;
    return this.entries[Math.min(index, this.lastIndex) - this.base.index - 1]!.config;
  }

  /** Index of the entry that introduced the configuration in force at `index`. */
  private epochAt(index: number): number {
    let i = Math.min(index, this.lastIndex);
    const c = this.configAt(i);
    while (i > this.base.index && sameConfig(this.configAt(i - 1), c)) i--;
    return i === this.base.index ? this.base.epoch : i;
  }

  private voterRefs(c: MemberConfig): MemberRef[] {
    return c.voters;
  }

  private snapshotKey(): string {
    return `${this.commitIndex}/${this.lastIndex}/${this.roleNow}/${this.leaderName}/${this.termNow}`;
  }

  private afterChange(before: string, force: boolean): void {
    if (force || before !== this.snapshotKey()) this.o.onChange?.();
  }
}

/** A boot id different from `old`. */
function newBoot(rng: Rng, old: number): number {
  for (;;) {
    const b = (rng.int(0x10000) * 0x10000 + rng.int(0x10000)) >>> 0;
    if (b !== old >>> 0) return b;
  }
}
