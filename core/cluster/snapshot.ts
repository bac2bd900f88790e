/**
 * The shape of the cluster as one node sees it (GET /v1/cluster, /metrics,
 * STATS, `shoal stats`). Types only: the node and the HTTP layer depend on
 * this shape, not on the cluster layer that fills it in (view.ts).
 */

import type { DiscoveryStatus } from "../discovery.ts";
import type { AntiEntropyStats } from "./anti-entropy.ts";
import type { HintStats } from "./hints.ts";
import type { MembershipEventType, MembershipStats } from "./membership.ts";
import type { MemberStatus } from "./membership-wire.ts";
import type { RouterStats } from "./router-stats.ts";
import type { WarmCatchUpStats } from "./warm-catch-up.ts";

/** The settings of a cluster node that views and metrics show. */
export interface ClusterSettings {
  partitionCount: number;
  /** Copies per partition, owner included. */
  replicaCount: number;
  writeQuorum: number;
  readQuorum: number;
  /** Live members needed to accept writes. */
  memberCountQuorum: number;
  replicationMode: "sync" | "async";
}

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
    /** Entries pushed to new holders by rebalancing since start (counted when a pass ends). */
    rebalanced: number;
    /** A rebalance pass is running (its pushes are not in `rebalanced` yet). */
    rebalancing: boolean;
    /** Entries received by the initial pull after joining. */
    pulled: number;
    /** Bytes (keys, values, 16 per entry) the initial pull received. */
    pulledBytes: number;
    syncing: boolean;
    /** What the catch-up of a node restarted from its snapshot did (null: it joined with a full pull). */
    warm: WarmCatchUpStats | null;
  };
  /** What discovery last saw and when, and its last error (on nodes that run discovery). */
  discovery?: DiscoveryStatus;
  /** Deletion tombstones held (kept past the GC horizon). */
  tombstones: number;
  /** SWIM protocol counters. */
  membership: MembershipStats;
  /** Membership events seen since start, by type. */
  events: Record<MembershipEventType, number>;
  /** Routing and replication counters (forwarded, quorum failures…). */
  router: RouterStats;
  /** Anti-entropy counters (rounds, divergence found, keys repaired, tombstones and orphans collected). */
  antiEntropy: AntiEntropyStats;
  /** Hinted handoff: hints stored, delivered, dropped; pending now (count and bytes). */
  hints: HintStats;
  /** Entry states refused because their version was too far ahead of this node's clock. */
  driftRefused: number;
  /** The consensus log that agrees on the table (consensus ownership only; absent in gossip mode). */
  consensus?: ConsensusSnapshot;
}

/** How the partition table is agreed, as this node sees it (consensus ownership). */
export interface ConsensusSnapshot {
  /** follower, candidate or leader. */
  role: string;
  term: number;
  /** The leader this node follows (itself when leading), or null. */
  leader: string | null;
  /** The cluster's generation and id ("gen.id"), or null before it is in one. */
  cluster: string | null;
  /** Epoch of the committed table (index of the entry that introduced its configuration). */
  epoch: number;
  /** Members that vote. */
  voters: string[];
  /** This node's owner lease: ms left (0 when it holds none). */
  leaseValidMs: number;
  /** Partitions this node acquired and may not serve yet (waiting out the previous owner's lease). */
  acquiring: number;
  elections: number;
  commits: number;
  bootstraps: number;
  recoveries: number;
}
