/**
 * The policy around the consensus log: what to propose, when to bootstrap,
 * when to recover. {@link RaftNode} only agrees on what it is given; the
 * steward feeds it from the failure detector (SWIM's live members) and the
 * incarnations that announced themselves.
 *
 * Every tick (a few heartbeats):
 * - the leader proposes the next safe step towards the live incarnations
 *   (see member-config.ts `nextStep`), and advertises its cluster to live
 *   processes outside it, so two clusters that meet merge (the loser yields);
 * - a process that is not a member announces itself, to the leader a hint
 *   named or else to some live process;
 * - a process in no cluster that heard of none for `bootstrapAfterMs`, and
 *   is the lowest-named live process, bootstraps a cluster of itself;
 * - a member whose voters are lost for good — a majority of them restarted
 *   under new boot ids, so they can never vote again — starts a new
 *   generation, once every lease those voters granted has run out
 *   (`leaseMs` after the last replacement was seen). Voters that are only
 *   unreachable are not "lost": they may be alive on the other side of a
 *   partition, and only their majority may decide.
 *
 * Runtime-neutral; driven by the injected Clock.
 */
import type { Clock, Rng, Timer } from "../../clock.ts";
import { DEFAULT_MAX_VOTERS, isMember, type MemberConfig, type MemberRef, majority, memberOf, nextStep, participants } from "./member-config.ts";
import { type ClusterClaim, clusterWins, type RaftNode, sameCluster } from "./raft.ts";

/** Options for {@link ConfigSteward}. */
export interface StewardOptions {
  raft: RaftNode;
  clock: Clock;
  rng: Rng;
  /** Names of the processes the failure detector holds alive, this one included. */
  alive(): readonly string[];
  /** True once this process is leaving gracefully: it only hands over (as leader it still proposes its own removal). */
  leaving?(): boolean;
  /** How often to act, ms. */
  tickMs: number;
  /** Owner lease length: how long a lost voter's grants may still protect someone. */
  leaseMs: number;
  /** How long a process in no cluster waits to hear of one before it may bootstrap. */
  bootstrapAfterMs: number;
  /**
   * The configured seed peers. The lowest-named of them (and of the live
   * processes) bootstraps after one tick instead of `bootstrapAfterMs`: it
   * is the one the others would wait for anyway.
   */
  seeds?: readonly string[];
  maxVoters?: number;
}

/** Counters for metrics. */
export interface StewardStats {
  bootstraps: number;
  recoveries: number;
  proposals: number;
  announcements: number;
  /** Times this process dropped a remnant log to start over as a joiner. */
  abandoned: number;
}

/** Drives a {@link RaftNode} from the failure detector's view. */
export class ConfigSteward {
  readonly stats: StewardStats = { bootstraps: 0, recoveries: 0, proposals: 0, announcements: 0, abandoned: 0 };
  /** Newest announced incarnation per name, and when it was first heard (monotonic ms). */
  private readonly incarnations = new Map<string, { boot: number; since: number; wants: ClusterClaim | null }>();
  /** Members that asked to leave, name → boot of the incarnation that asked (see {@link noteLeaving}). */
  private readonly leaving = new Map<string, number>();
  private readonly startedAt: number;
  /** Since when the latest configuration's voters have been lost for good (+Infinity while they are not). */
  private lostSince = Number.POSITIVE_INFINITY;
  /** Since when this process has been a remnant (cluster id, but in no configuration and no leader). */
  private remnantSince = Number.POSITIVE_INFINITY;
  private timer: Timer | undefined;
  private stopped = false;

  constructor(private readonly o: StewardOptions) {
    this.startedAt = o.clock.monotonic();
  }

  /**
   * Records an incarnation that announced itself (RaftNode's onJoin).
   * `wants` is the cluster it dropped its log for, null after a plain
   * start. Either way its old incarnation can never vote again; but one
   * that left for a cluster that beats ours is followed there (RaftNode
   * does that), so it does not count towards a recovery.
   */
  noteIncarnation(who: MemberRef, wants: ClusterClaim | null = null): void {
    const known = this.incarnations.get(who.name);
    if (known?.boot === who.boot && known.wants === wants) return;
    this.incarnations.set(who.name, { boot: who.boot >>> 0, since: known?.boot === who.boot ? known.since : this.o.clock.monotonic(), wants });
  }

  /**
   * Records a member that asked to be dropped (a graceful leave): the
   * leader proposes configurations without that incarnation from now on,
   * although the failure detector still finds it alive while it hands its
   * keys off. A later incarnation of the same name is not affected.
   */
  noteLeaving(who: MemberRef): void {
    this.leaving.set(who.name, who.boot >>> 0);
  }

  /**
   * A configuration was committed: announcements of other incarnations of
   * its members heard before now are forgotten (they may be older than the
   * ones it lists; a process that is really a newer incarnation keeps
   * announcing itself, and is noted again).
   */
  noteCommitted(config: MemberConfig): void {
    for (const m of participants(config)) {
      const known = this.incarnations.get(m.name);
      if (known && known.boot !== m.boot) this.incarnations.delete(m.name);
    }
  }

  /** Starts ticking. */
  start(): void {
    this.stopped = false;
    const loop = (): void => {
      if (this.stopped) return;
      this.tick();
      this.timer = this.o.clock.setTimer(this.o.tickMs, loop);
    };
    this.timer = this.o.clock.setTimer(this.o.rng.int(Math.max(1, this.o.tickMs)), loop);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** One round of decisions (public for tests). */
  tick(): void {
    const raft = this.o.raft;
    const self = raft.self;
    const alive = this.o.alive();
    if (raft.cluster === null) {
      this.announce(alive);
      this.maybeBootstrap(alive);
      return;
    }
    if (raft.role === "leader") {
      this.propose(alive);
      return;
    }
    if (this.o.leaving?.() === true) return; // leaving: neither announce itself again nor start a recovery
    const inLog = participants(raft.latest).some((m) => m.name === self.name && m.boot === self.boot);
    if (!inLog && raft.leader === null) {
      // a remnant: in no configuration of its cluster and no leader heard for a while; start over as a joiner
      if (this.remnantSince === Number.POSITIVE_INFINITY) this.remnantSince = this.o.clock.monotonic();
      if (this.o.clock.monotonic() - this.remnantSince >= this.o.bootstrapAfterMs) {
        this.remnantSince = Number.POSITIVE_INFINITY;
        raft.abandon();
        this.stats.abandoned++;
        return;
      }
    } else {
      this.remnantSince = Number.POSITIVE_INFINITY;
    }
    this.maybeRecover(alive);
    if (!isMember(raft.latest, self)) this.announce(alive);
  }

  private propose(alive: readonly string[]): void {
    const raft = this.o.raft;
    for (const name of this.leaving.keys()) if (!alive.includes(name)) this.leaving.delete(name); // gone: a later start is a new incarnation
    const latest = raft.latest;
    const wanted: MemberRef[] = [];
    for (const name of new Set(alive)) {
      if (name === raft.self.name) {
        wanted.push(raft.self);
        continue;
      }
      const announced = this.incarnations.get(name);
      const member = memberOf(latest, name);
      // the incarnation that asked to leave is not wanted (while it hands its keys off); a newer one (it restarted since) is
      const left = this.leaving.get(name);
      if (left !== undefined && (announced?.boot ?? member?.boot ?? left) === left) continue;
      if (announced && (!member || announced.boot !== member.boot)) wanted.push({ name, boot: announced.boot });
      else if (member) wanted.push(member);
      else raft.advertise(name); // alive but never announced: maybe the member of another cluster; let the better one win
    }
    if (raft.changePending) return;
    const step = nextStep(latest, wanted, this.o.maxVoters ?? DEFAULT_MAX_VOTERS, (m) => raft.caughtUp(m.name));
    if (step && raft.propose(step)) this.stats.proposals++;
  }

  private announce(alive: readonly string[]): void {
    const raft = this.o.raft;
    const others = alive.filter((n) => n !== raft.self.name);
    // mostly the leader a hint named; sometimes someone else, in case that leader is gone
    const random = others.length > 0 ? others[this.o.rng.int(others.length)]! : null;
    const to = raft.hintedLeader !== null && this.o.rng.next() < 0.7 ? raft.hintedLeader : random;
    if (to === null || to === raft.self.name) return;
    this.stats.announcements++;
    raft.announce(to);
  }

  private maybeBootstrap(alive: readonly string[]): void {
    const raft = this.o.raft;
    const lowest = [...alive, raft.self.name].sort()[0];
    if (lowest !== raft.self.name) return;
    // alone for a while: nobody answered our announcements with a cluster it belongs to; the first seed waits
    // only long enough for an existing cluster to answer (a tick and a round trip)
    const first = [...(this.o.seeds ?? []), ...alive, raft.self.name].sort()[0] === raft.self.name;
    const wait = first ? Math.min(this.o.bootstrapAfterMs, 2 * this.o.tickMs) : this.o.bootstrapAfterMs;
    const lonelySince = Math.max(this.startedAt, raft.lastHintAt);
    if (this.o.clock.monotonic() - lonelySince < wait) return;
    if (raft.bootstrap({ members: [raft.self], voters: [raft.self] }, { gen: 1, id: randomId(this.o.rng) })) this.stats.bootstraps++;
  }

  private maybeRecover(alive: readonly string[]): void {
    const raft = this.o.raft;
    // the latest configuration decides who votes: if its voters cannot form a majority again, nothing ever commits
    const c = raft.latest;
    const voters = c.voters;
    const now = this.o.clock.monotonic();
    const mine = raft.claim();
    let lost = 0;
    let lastSeen = Number.NEGATIVE_INFINITY;
    for (const v of voters) {
      const announced = this.incarnations.get(v.name);
      // left for another cluster that beats ours: RaftNode follows it there; left for ours (waiting to be added): lost
      const w = announced?.wants;
      const followed = w != null && mine !== null && !sameCluster(w.cid, mine.cid) && clusterWins(w, mine);
      if (announced && announced.boot !== v.boot && !followed) {
        lost++;
        lastSeen = Math.max(lastSeen, announced.since);
      }
    }
    if (lost === 0 || voters.length - lost >= majority(voters.length)) {
      this.lostSince = Number.POSITIVE_INFINITY;
      return;
    }
    this.lostSince = Math.min(this.lostSince, now);
    // one process acts, the lowest-named live one that is not itself replaced; the next ones in name order wait one
    // more bootstrap delay each, in case the lower ones see the configuration differently (others follow by yielding)
    const candidates = participants(c)
      .filter((m) => !this.incarnations.has(m.name) || this.incarnations.get(m.name)!.boot === m.boot)
      .map((m) => m.name)
      .filter((n) => n === raft.self.name || alive.includes(n))
      .sort();
    const rank = candidates.indexOf(raft.self.name);
    if (rank < 0) return;
    // the lost voters' grants may still protect someone for a lease after the last one was replaced
    if (now - Math.max(lastSeen, this.lostSince) < this.o.leaseMs + rank * this.o.bootstrapAfterMs) return;
    if (raft.recover({ members: [raft.self], voters: [raft.self] }, randomId(this.o.rng))) this.stats.recoveries++;
  }
}

function randomId(rng: Rng): number {
  return (rng.int(0x10000) * 0x10000 + rng.int(0x10000)) >>> 0;
}
