/**
 * Who owns which partition, and whether this node may act on it now. Two
 * interfaces, one per side of a quorum:
 * - {@link OwnerAuthority}, asked by the router before it runs a command as
 *   owner: the table (owner of partition p in table epoch e) and whether
 *   this node's claim is current (the owner lease);
 * - {@link QuorumGate}, asked by a holder before it takes part in another
 *   member's quorum (apply, fetch) or serves it a pull.
 * {@link GossipOwnership} implements both from the SWIM member list alone:
 * each node builds its table from the live members it sees. An agreed,
 * numbered table (consensus or compare-and-swap on a discovery backend) is
 * another implementation of the same two interfaces.
 */
import type { Clock } from "../clock.ts";
import type { ClusterBugs } from "./bugs.ts";
import { partitionOf } from "./hash.ts";
import type { Membership } from "./membership.ts";
import { type MembershipTimings, suspicionMinTimeout } from "./membership-config.ts";
import { PartitionTable } from "./partition-table.ts";

/** The router's question: who owns partition p now, and may this node act as that owner. */
export interface OwnerAuthority {
  /** The partition table commands route by (owner and replicas per partition, its epoch); null before the first. */
  table(): PartitionTable | null;
  /**
   * Why this node must not act as the owner of partition `p` now (its
   * claim may be stale: it has not heard back from enough members lately,
   * or it acquired `p` too recently), or null when it may. Checked before
   * every command it runs as owner.
   */
  contactShortfall?(p?: number): string | null;
  /** Tries to make the claim (on `p`) current again; resolves true once it is, false after a bounded wait. */
  renewContact?(p?: number): Promise<boolean>;
}

/** A holder's question: take part in `from`'s quorum, or serve it a pull? Each returns the refusal, or null. */
export interface QuorumGate {
  /** Quorum traffic (a write's replication, a quorum read) for `keys`, from a sender whose table has view id `view`. */
  refuseQuorum(from: string | undefined, keys: readonly { key: Uint8Array }[], view: number | undefined): string | null;
  /** A pull of `partitions` by `from` (`asOwner`: it pulls them as their new owner). */
  refusePull(from: string | undefined, partitions: readonly number[], asOwner: boolean): string | null;
}

/** Options for {@link GossipOwnership}. */
export interface GossipOwnershipOptions {
  self: string;
  clock: Clock;
  membership: Membership;
  timings: MembershipTimings;
  memberCountQuorum: number;
  partitionCount: number;
  replicaCount: number;
  /** True once the cluster layer stopped (renewals end). */
  stopped(): boolean;
  /** Planted bugs (simulator only). */
  bugs?: ClusterBugs;
}

/** A table change: the table before (null for the first) and after. */
export interface TableChange {
  old: PartitionTable | null;
  next: PartitionTable;
}

/** Ownership derived from each node's own live member list, with an owner lease. */
export class GossipOwnership implements OwnerAuthority, QuorumGate {
  private current: PartitionTable | null = null;
  private epoch = 0;
  private renewing: Promise<boolean> | null = null;

  constructor(private readonly o: GossipOwnershipOptions) {}

  table(): PartitionTable | null {
    return this.current;
  }

  /** This node's table version (bumped on every rebuild). */
  get tableEpoch(): number {
    return this.epoch;
  }

  /** The table for `members` with the same settings (epoch 0: a what-if, e.g. the table without this node). */
  tableOf(members: readonly string[], epoch = 0): PartitionTable {
    return PartitionTable.build(members, epoch, { partitionCount: this.o.partitionCount, replicaCount: this.o.replicaCount });
  }

  /** Builds a new table when `members` differ from the current table's; null when they do not. */
  rebuild(members: readonly string[]): TableChange | null {
    const old = this.current;
    if (old && old.members.length === members.length && old.members.every((m, i) => m === members[i])) return null;
    this.current = this.tableOf(members, ++this.epoch);
    return { old, next: this.current };
  }

  /** Replaces the table with one for `members` regardless (a graceful leave drops this node from its own table). */
  replace(members: readonly string[]): PartitionTable {
    this.current = this.tableOf(members, ++this.epoch);
    return this.current;
  }

  // Owner lease: the others remove a member they cannot reach after at least the minimum suspicion timeout,
  // and may then take its partitions over. A node that has not heard back from enough members for that long
  // must not act as an owner meanwhile (it may be the one cut off, or paused, with a view nobody else holds).
  contactShortfall(): string | null {
    const o = this.o;
    const need = o.memberCountQuorum - 1;
    if (need <= 0 || o.bugs?.noOwnerLease) return null;
    const window = suspicionMinTimeout(o.timings, o.membership.liveMembers().length);
    const got = o.membership.answeredWithin(window);
    return got >= need ? null : `${got + 1} of ${o.memberCountQuorum} members answered this node in the last ${Math.round(window)} ms`;
  }

  /**
   * Renews the owner lease on demand: probes every live member that has not
   * answered within the lease window and resolves once enough have (true) or
   * after one probe timeout (false). Concurrent callers share one renewal.
   */
  renewContact(): Promise<boolean> {
    if (this.renewing) return this.renewing;
    const o = this.o;
    const need = o.memberCountQuorum - 1;
    const window = suspicionMinTimeout(o.timings, o.membership.liveMembers().length);
    for (const m of o.membership.liveMembers()) if (m !== o.self) o.membership.probeNow(m);
    const started = o.clock.monotonic();
    const run = async (): Promise<boolean> => {
      for (let i = 0; i < 1000 && !o.stopped(); i++) {
        if (o.membership.answeredWithin(window) >= need) return true;
        if (o.clock.monotonic() - started > o.timings.probeTimeoutMs) return false;
        await new Promise<void>((resolve) => o.clock.setTimer(5, resolve));
      }
      return false;
    };
    const p = run().finally(() => {
      this.renewing = null;
    });
    this.renewing = p;
    return p;
  }

  /**
   * Quorum traffic is served only for the owner of the keys' partition in
   * this node's own table, so a node the others have replaced (paused, cut
   * off one way, or with an older view) cannot get a write acknowledged or a
   * read confirmed.
   */
  refuseQuorum(from: string | undefined, keys: readonly { key: Uint8Array }[], view: number | undefined): string | null {
    const t = this.current;
    if (t === null) return "no partition table yet";
    if (this.o.bugs?.lenientReplicas) return null;
    // Members that see different member lists may each name a different owner, and their quorums need not
    // intersect: quorum traffic counts only between members that agree on the whole list (views converge
    // within a gossip round or two after a change; until then a write or read may get TRYAGAIN-like refusals).
    if (view !== undefined && view !== t.viewId && !this.o.bugs?.ignoreViews) return `members differ (${t.members.length} here): views not converged yet`;
    return notOwnerOfKeys(t, from, keys);
  }

  /** A pull is served only to a member this node's table names as a holder of every partition asked for. */
  refusePull(from: string | undefined, partitions: readonly number[], asOwner: boolean): string | null {
    return notHolderOf(this.current, from, partitions, asOwner && !this.o.bugs?.takeoverPullAsHolder);
  }
}

/** Why `from` is not the owner of every key's partition in `t`, or null when it is. */
export function notOwnerOfKeys(t: PartitionTable, from: string | undefined, keys: readonly { key: Uint8Array }[]): string | null {
  for (const { key } of keys) {
    const p = partitionOf(key, t.partitionCount);
    if (t.owner(p) !== from) return `not the owner of partition ${p} here (owner: ${t.owner(p)})`;
  }
  return null;
}

/** Why `t` does not name `from` a holder (the owner, with `asOwner`) of every partition, or null when it does. */
export function notHolderOf(t: PartitionTable | null, from: string | undefined, partitions: readonly number[], asOwner: boolean): string | null {
  if (t === null || from === undefined) return "no partition table yet";
  for (const p of partitions) {
    if (p < 0 || p >= t.partitionCount) return `no partition ${p}`;
    if (t.owner(p) === from) continue;
    if (asOwner) return `not the owner of partition ${p} here (owner: ${t.owner(p)})`;
    if (!t.replicas(p).includes(from)) return `not a holder of partition ${p} here`;
  }
  return null;
}
