/** The cluster router's counters (/metrics, GET /v1/cluster, tests). */

/** Counters for /metrics and tests. */
export interface RouterStats {
  forwarded: number;
  forwardFailures: number;
  replicated: number;
  quorumFailures: number;
  crossSlot: number;
  /** Reads that consulted replicas (R > 1). */
  quorumReads: number;
  /** Reads refused for lack of replica answers. */
  readQuorumFailures: number;
  /** Copies (owner or replicas) brought up to date by read-repair. */
  readRepairs: number;
  /** Writes acknowledged before replication (async mode). */
  asyncWrites: number;
  /** Forwarded commands passed on again because this node's table names another owner. */
  reforwarded: number;
  /** Commands refused with TRYAGAIN after too many hops (tables disagreeing). */
  tryAgain: number;
  /** Writes undone locally after their quorum failed. */
  rolledBack: number;
  /** Failed writes answered "outcome unknown": a replica that may hold the write did not confirm the undo. */
  unknownOutcomes: number;
  /** Commands that first fetched their keys because this node had just taken the partition over. */
  catchUps: number;
  /** Replication batches sent (one `apply` per replica per event-loop turn; `replicated` / this = writes per batch). */
  replicaBatches: number;
  /** Replica pushes (apply) that failed or timed out. */
  replicaFailures: number;
  /** Writes refused with CLUSTERQUORUM (minority side). */
  clusterQuorumRefusals: number;
  /** MOVED redirects sent to cluster-aware clients. */
  moved: number;
}

/** A fresh set of router counters, all zero. */
export function newRouterStats(): RouterStats {
  return {
    forwarded: 0,
    forwardFailures: 0,
    replicated: 0,
    quorumFailures: 0,
    crossSlot: 0,
    quorumReads: 0,
    readQuorumFailures: 0,
    readRepairs: 0,
    asyncWrites: 0,
    catchUps: 0,
    reforwarded: 0,
    tryAgain: 0,
    rolledBack: 0,
    unknownOutcomes: 0,
    replicaBatches: 0,
    replicaFailures: 0,
    clusterQuorumRefusals: 0,
    moved: 0,
  };
}
