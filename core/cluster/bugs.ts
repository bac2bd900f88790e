/**
 * Deliberately wrong behaviours the chaos simulator can switch on
 * (`shoal chaos --sim --inject-bug <name>`) to prove its checkers can fail.
 * Never set outside the simulator: every flag breaks a guarantee.
 */

/** Names accepted by `--inject-bug`. */
export const BUG_NAMES = ["ack-before-replicate", "skip-tombstone", "no-read-repair", "keep-failed-writes", "no-anti-entropy"] as const;

/** One planted bug. */
export type BugName = (typeof BUG_NAMES)[number];

/** The planted bugs switched on for one node (all off by default). */
export interface ClusterBugs {
  /** Acknowledge a write as soon as it is applied locally, before W copies hold it. */
  ackBeforeReplicate?: boolean;
  /** Delete without recording a tombstone (and replicate deletes as nothing). */
  skipTombstone?: boolean;
  /** Quorum reads return the newest copy but never repair stale replicas (or the owner). */
  noReadRepair?: boolean;
  /** A write whose quorum failed stays on the replicas that took it (no undo). */
  keepFailedWrites?: boolean;
  /** No anti-entropy rounds: replicas that missed writes stay behind until a read or a takeover. */
  noAntiEntropy?: boolean;
}

/** The {@link ClusterBugs} flags for a list of bug names; throws on an unknown name. */
export function bugsFrom(names: readonly string[]): ClusterBugs {
  const bugs: ClusterBugs = {};
  for (const n of names) {
    if (n === "ack-before-replicate") bugs.ackBeforeReplicate = true;
    else if (n === "skip-tombstone") bugs.skipTombstone = true;
    else if (n === "no-read-repair") bugs.noReadRepair = true;
    else if (n === "keep-failed-writes") bugs.keepFailedWrites = true;
    else if (n === "no-anti-entropy") bugs.noAntiEntropy = true;
    else throw new Error(`unknown bug "${n}" (known: ${BUG_NAMES.join(", ")})`);
  }
  return bugs;
}
