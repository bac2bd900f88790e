/**
 * The cluster as one node sees it, as plain JSON-ready data: every known
 * member with its status, incarnation and partition counts, the table
 * epoch, the replication and quorum settings, migration progress and the
 * protocol counters. GET /v1/cluster serves it, /metrics renders it, and
 * `shoal stats` prints it; CLUSTER NODES can format the same members.
 * Runtime-neutral: times come from the node's Clock.
 */
import type { Clock } from "../clock.ts";
import type { AntiEntropyStats } from "./anti-entropy.ts";
import type { HintStats } from "./hints.ts";
import type { Membership, MembershipEventType } from "./membership.ts";
import type { PartitionTable } from "./partition-table.ts";
import { nodeIdOf } from "./redis-cluster.ts";
import type { RouterStats } from "./router-stats.ts";
import type { ClusterSettings, ClusterSnapshot, ConsensusSnapshot, MemberSnapshot } from "./snapshot.ts";
import type { WarmCatchUpStats } from "./warm-catch-up.ts";

export type { ClusterSettings, ClusterSnapshot, ConsensusSnapshot, MemberSnapshot } from "./snapshot.ts";

/** What a snapshot is taken from (a ClusterNode). */
export interface SnapshotSource {
  node: { clock: Clock; ready: boolean; keyCount(): number };
  membership: Membership;
  partitions: PartitionTable | null;
  settings: ClusterSettings;
  isSyncing: boolean;
  rebalanced: number;
  rebalancing: boolean;
  pulled: number;
  pulledBytes: number;
  warm: WarmCatchUpStats | null;
  sync: { tombstoneCount(): number; driftRefused: number };
  repairs: AntiEntropyStats;
  handoff: HintStats;
  memberEvents: Record<MembershipEventType, number>;
  router: { stats: RouterStats };
  /** The consensus side of ownership, in consensus mode. */
  consensus: { snapshot(): ConsensusSnapshot } | null;
}

/**
 * A stable 40-hex-digit id for a member name, as Redis Cluster node ids
 * look; every node derives the same id for the same member, and it is the
 * id CLUSTER NODES shows.
 */
export const memberId: (name: string) => string = nodeIdOf;

/** Snapshot of the cluster as `cluster` sees it now. */
export function clusterSnapshot(cluster: SnapshotSource): ClusterSnapshot {
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
    migration: {
      rebalanced: cluster.rebalanced,
      rebalancing: cluster.rebalancing,
      pulled: cluster.pulled,
      pulledBytes: cluster.pulledBytes,
      syncing: cluster.isSyncing,
      warm: cluster.warm ? { ...cluster.warm } : null,
    },
    tombstones: cluster.sync.tombstoneCount(),
    membership: { ...cluster.membership.stats },
    events: { ...cluster.memberEvents },
    router: { ...cluster.router.stats },
    antiEntropy: { ...cluster.repairs },
    hints: { ...cluster.handoff },
    driftRefused: cluster.sync.driftRefused,
    ...(cluster.consensus ? { consensus: cluster.consensus.snapshot() } : {}),
  };
}
