/**
 * The cluster as one node sees it, as plain JSON-ready data: every known
 * member with its status, incarnation and partition counts, the table
 * epoch, the replication and quorum settings, migration progress and the
 * protocol counters. GET /v1/cluster serves it, /metrics renders it, and
 * `shoal stats` prints it; CLUSTER NODES can format the same members.
 * Runtime-neutral: times come from the node's Clock.
 */
import type { ClusterNode, ClusterSettings } from "./cluster-node.ts";
import type { MembershipEventType, MembershipStats } from "./membership.ts";
import type { MemberStatus } from "./membership-wire.ts";
import { nodeIdOf } from "./redis-cluster.ts";
import type { RouterStats } from "./router.ts";

/** One member as this node sees it. */
export interface MemberSnapshot {
  /** 40 hex digits derived from the name: the same on every node (Redis node id). */
  id: string;
  /** The member's peer address, also its name. */
  name: string;
  address: string;
  self: boolean;
  status: MemberStatus;
  incarnation: number;
  /** Wall-clock ms (Unix epoch) when this node saw the status change. */
  since: number;
  /** Partitions this member owns in the current table. */
  ownedPartitions: number;
  /** Partitions this member holds a replica of. */
  replicaPartitions: number;
  /** Live keys (this node only: other members' counts are not known here). */
  keys?: number;
}

/** The JSON body of GET /v1/cluster on a clustered node. */
export interface ClusterSnapshot extends ClusterSettings {
  /** This node's member name and id. */
  self: string;
  id: string;
  /** /readyz: joined and synced. */
  ready: boolean;
  /** Still pulling the partitions it holds after joining. */
  syncing: boolean;
  /** Version of the partition table (0 before the first one). */
  epoch: number;
  /** Alive + suspect members, this one included. */
  liveMembers: number;
  /** Whether liveMembers ≥ memberCountQuorum (writes are accepted). */
  quorumMet: boolean;
  /** Membership checksum; equal on nodes whose views agree. */
  membershipChecksum: number;
  members: MemberSnapshot[];
  migration: {
    /** Entries pushed to new holders by rebalancing since start. */
    rebalanced: number;
    /** Entries received by the initial pull after joining. */
    pulled: number;
    syncing: boolean;
  };
  /** Deletion tombstones held (kept past the GC horizon). */
  tombstones: number;
  /** SWIM protocol counters. */
  membership: MembershipStats;
  /** Membership events seen since start, by type. */
  events: Record<MembershipEventType, number>;
  /** Routing and replication counters (forwarded, quorum failures…). */
  router: RouterStats;
}

/**
 * A stable 40-hex-digit id for a member name, as Redis Cluster node ids
 * look; every node derives the same id for the same member, and it is the
 * id CLUSTER NODES shows.
 */
export const memberId: (name: string) => string = nodeIdOf;

/** Snapshot of the cluster as `cluster` sees it now. */
export function clusterSnapshot(cluster: ClusterNode): ClusterSnapshot {
  const node = cluster.node;
  const self = cluster.membership.self;
  const table = cluster.partitions;
  const settings = cluster.settings;
  const owned = new Map<string, number>();
  const replica = new Map<string, number>();
  if (table) {
    for (let p = 0; p < table.partitionCount; p++) {
      const o = table.owner(p);
      owned.set(o, (owned.get(o) ?? 0) + 1);
      for (const r of table.replicas(p)) replica.set(r, (replica.get(r) ?? 0) + 1);
    }
  }
  const wallOffset = node.clock.now() - node.clock.monotonic();
  const members = cluster.membership.members().map((m): MemberSnapshot => {
    const view: MemberSnapshot = {
      id: memberId(m.name),
      name: m.name,
      address: m.name,
      self: m.name === self,
      status: m.status,
      incarnation: m.incarnation,
      since: Math.round(m.since + wallOffset),
      ownedPartitions: owned.get(m.name) ?? 0,
      replicaPartitions: replica.get(m.name) ?? 0,
    };
    if (view.self) view.keys = node.keyCount();
    return view;
  });
  const live = cluster.membership.liveMembers().length;
  return {
    self,
    id: memberId(self),
    ready: node.ready,
    syncing: cluster.isSyncing,
    epoch: table?.epoch ?? 0,
    ...settings,
    liveMembers: live,
    quorumMet: live >= settings.memberCountQuorum,
    membershipChecksum: cluster.membership.checksum(),
    members,
    migration: { rebalanced: cluster.rebalanced, pulled: cluster.pulled, syncing: cluster.isSyncing },
    tombstones: cluster.sync.tombstoneCount(),
    membership: { ...cluster.membership.stats },
    events: { ...cluster.memberEvents },
    router: { ...cluster.router.stats },
  };
}
