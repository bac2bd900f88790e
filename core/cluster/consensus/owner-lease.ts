/**
 * Owner leases: how a member knows it may still act as the owner of its
 * partitions without asking anyone per command, and how a new owner knows
 * the previous one has stopped.
 *
 * A member X asks every voter of its committed configuration (epoch e) for
 * a grant, remembering when it sent each request. A voter grants only while
 * the latest configuration in its own log is still e: once it has appended
 * anything newer it refuses, and says which epoch it has. X's lease for e
 * runs until (the send time of the grant a majority of e's voters have
 * matched or beaten) + leaseMs, measured on X's own monotonic clock.
 *
 * Why a new owner that waits leaseMs after it learns the commit of the
 * epoch `a` in which it acquired a partition cannot overlap the old owner:
 * the old owner's last lease came from a majority M of the voters of some
 * epoch e < a. The commit of e+1 needed a majority of e+1's voters, which
 * meets M (voters change one at a time), so some v in M appended e+1 before
 * that commit — and v granted X only before appending it. X's lease ends
 * at most leaseMs after the request v granted was sent, so before
 * commit(e+1) + leaseMs ≤ commit(a) + leaseMs ≤ when the new owner starts.
 * The argument needs only that monotonic clocks run at about the same rate
 * (a pause or a slow timer makes a lease end early, never late); `marginMs`
 * covers rate differences.
 *
 * Pure and runtime-neutral: messages leave through `send`, time comes from
 * the Clock.
 */
import type { Clock } from "../../clock.ts";
import { isMember, isVoter, type MemberConfig, type MemberRef, majority } from "./member-config.ts";
import { type ClusterId, sameCluster } from "./raft.ts";

/** Lease messages. `epoch` counts within the cluster `cid`. */
export type LeaseMessage =
  | { t: "lease-req"; from: MemberRef; cid: ClusterId | null; epoch: number; seq: number }
  /** `epoch` is the grantor's latest epoch; `granted` only when it equals the requested one. */
  | { t: "lease-res"; from: MemberRef; cid: ClusterId | null; epoch: number; seq: number; granted: boolean };

/** What the grantor side needs from the consensus log. */
export interface GrantorLog {
  readonly self: MemberRef;
  readonly cluster: ClusterId | null;
  /** Epoch of the latest configuration in the log (committed or not). */
  readonly latestEpoch: number;
  readonly latest: MemberConfig;
}

/** Answers lease requests (every member runs one; only voters grant). */
export function answerLease(log: GrantorLog, req: Extract<LeaseMessage, { t: "lease-req" }>): Extract<LeaseMessage, { t: "lease-res" }> {
  const epoch = log.latestEpoch;
  const granted =
    sameCluster(req.cid, log.cluster) && req.epoch === epoch && epoch > 0 && isVoter(log.latest, log.self) && isMember(log.latest, req.from);
  return { t: "lease-res", from: log.self, cid: log.cluster, epoch, seq: req.seq, granted };
}

/** Options for {@link LeaseHolder}. */
export interface LeaseHolderOptions {
  self: MemberRef;
  clock: Clock;
  /** How long a grant protects, from the moment its request was sent. */
  leaseMs: number;
  /** Subtracted from every lease end (clock-rate differences, timer slack). */
  marginMs?: number;
  send(to: string, msg: LeaseMessage): void;
}

interface EpochGrants {
  cid: ClusterId;
  epoch: number;
  voters: MemberRef[];
  /** Per voter name: send time of the newest request it granted. */
  granted: Map<string, number>;
}

/** Counters for metrics. */
export interface LeaseStats {
  requests: number;
  grants: number;
  refusals: number;
}

/** The requesting side: keeps this member's lease for its committed epoch. */
export class LeaseHolder {
  readonly stats: LeaseStats = { requests: 0, grants: 0, refusals: 0 };
  private seq = 0;
  private readonly sent = new Map<number, { at: number; cid: ClusterId; epoch: number }>();
  /** Grants for the current and the previous epoch (either protects; see the module comment). */
  private grants: EpochGrants[] = [];
  /** Newest epoch a voter told us about (when it refused ours). */
  private newestSeen = 0;

  private self: MemberRef;
  /** validUntil() since the grants last changed, or null. */
  private cached: number | null = null;

  constructor(private readonly o: LeaseHolderOptions) {
    this.self = o.self;
  }

  /** This process took a new incarnation (it left its cluster): requests go out under it from now on. */
  retarget(self: MemberRef): void {
    this.self = self;
  }

  /** Sends a lease request for `epoch` of cluster `cid` to every voter of `config` (call every leaseMs / 3). */
  renew(cid: ClusterId | null, epoch: number, config: MemberConfig): void {
    if (cid === null || epoch <= 0 || !isMember(config, this.self)) return;
    const head = this.grants[0];
    if (!head || head.epoch !== epoch || !sameCluster(head.cid, cid)) {
      const voters = config.voters;
      // keep the previous epoch's grants of the same cluster: either protects (see the module comment)
      const prev = this.grants.filter((g) => sameCluster(g.cid, cid) && g.epoch < epoch).slice(0, 1);
      this.grants = [{ cid, epoch, voters, granted: new Map() }, ...prev];
      this.cached = null;
    }
    const seq = ++this.seq;
    const at = this.o.clock.monotonic();
    this.sent.set(seq, { at, cid, epoch });
    if (this.sent.size > 256) this.sent.delete(this.sent.keys().next().value!);
    this.stats.requests++;
    for (const v of this.grants[0]!.voters) {
      if (v.name === this.self.name && v.boot === this.self.boot) continue; // our own grant is taken by the caller (see grantSelf)
      this.o.send(v.name, { t: "lease-req", from: this.self, cid, epoch, seq });
    }
  }

  /** Counts this member's own grant (a voter grants itself by the same rule as the others). */
  grantSelf(log: GrantorLog): void {
    const g = this.grants[0];
    if (!g || !sameCluster(g.cid, log.cluster) || !isVoter(log.latest, log.self) || log.latestEpoch !== g.epoch) return;
    if (!g.voters.some((v) => v.name === log.self.name && v.boot === log.self.boot)) return;
    g.granted.set(this.self.name, this.o.clock.monotonic());
    this.cached = null;
  }

  /** Forgets every grant (this process left its cluster: nothing it was granted may protect it any more). */
  clear(): void {
    this.grants = [];
    this.sent.clear();
    this.cached = null;
  }

  /** Handles a grantor's answer. */
  onResponse(msg: Extract<LeaseMessage, { t: "lease-res" }>): void {
    const req = this.sent.get(msg.seq);
    if (!req) return;
    if (!msg.granted) {
      this.stats.refusals++;
      if (msg.epoch > this.newestSeen) this.newestSeen = msg.epoch;
      return;
    }
    if (msg.epoch !== req.epoch || !sameCluster(msg.cid, req.cid)) return;
    const g = this.grants.find((x) => x.epoch === req.epoch && sameCluster(x.cid, req.cid));
    if (!g) return;
    const voter = g.voters.find((v) => v.name === msg.from.name && v.boot === msg.from.boot);
    if (!voter) return;
    this.stats.grants++;
    const prev = g.granted.get(voter.name) ?? Number.NEGATIVE_INFINITY;
    if (req.at > prev) {
      g.granted.set(voter.name, req.at);
      this.cached = null;
    }
  }

  /** Monotonic time until which this member holds a lease (−Infinity when it holds none). Cached: cheap per command. */
  validUntil(): number {
    if (this.cached !== null) return this.cached;
    let best = Number.NEGATIVE_INFINITY;
    for (const g of this.grants) {
      const need = majority(g.voters.length);
      const times = [...g.granted.values()].sort((a, b) => b - a);
      if (g.voters.length === 0 || times.length < need) continue;
      best = Math.max(best, times[need - 1]! + this.o.leaseMs - (this.o.marginMs ?? 0));
    }
    this.cached = best;
    return best;
  }

  /** Whether the lease covers now. */
  holds(): boolean {
    return this.o.clock.monotonic() < this.validUntil();
  }

  /** The newest epoch a voter reported while refusing (hint that this member's committed table is behind). */
  get newestEpochSeen(): number {
    return this.newestSeen;
  }
}
