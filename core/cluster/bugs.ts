/**
 * Deliberately wrong behaviours the chaos simulator can switch on
 * (`shoal chaos --sim --inject-bug <name>`) to prove its checkers can fail.
 * Never set outside the simulator: every flag breaks a guarantee.
 *
 * Two kinds: generic bugs (a replicated cache must not do this), and one
 * switch per fix that a regression seed in tests/unit/chaos/findings.test.ts
 * pins — with the switch on, the seed must fail again, else the seed no
 * longer tests its fix (it "went stale") and the test says so.
 */

/** Every planted bug: its `--inject-bug` name, its flag, and what it breaks. */
export const BUGS = {
  "ack-before-replicate": { flag: "ackBeforeReplicate", breaks: "acknowledge a write as soon as it is applied locally, before W copies hold it" },
  "skip-tombstone": { flag: "skipTombstone", breaks: "delete without recording a tombstone (and replicate deletes as nothing)" },
  "no-read-repair": { flag: "noReadRepair", breaks: "quorum reads return the newest copy but never repair stale replicas (or the owner)" },
  "keep-failed-writes": { flag: "keepFailedWrites", breaks: "a write whose quorum failed stays on the replicas that took it (no undo)" },
  "no-anti-entropy": { flag: "noAntiEntropy", breaks: "no anti-entropy rounds: replicas that missed writes stay behind" },
  "no-hints": { flag: "noHints", breaks: "no hinted handoff: a replica that missed a write gets it only from anti-entropy or a read" },
  "exec-on-any-copy": { flag: "execOnAnyCopy", breaks: "F1: a forwarded command runs on the receiver's copy even when its table names another owner" },
  "no-takeover-catch-up": { flag: "noTakeoverCatchUp", breaks: "F3: a node that becomes a partition's owner serves it without catching up from the previous holders" },
  "no-dead-reconnect": { flag: "noDeadReconnect", breaks: "F4: membership never contacts members it holds dead, so healed halves stay apart" },
  "lenient-replicas": { flag: "lenientReplicas", breaks: "F5/F6: replicas take a write's replication and answer quorum reads for any sender, not only their table's owner" },
  "ignore-views": { flag: "ignoreViews", breaks: "F9: quorum traffic counts between members whose member lists differ" },
  "no-owner-lease": { flag: "noOwnerLease", breaks: "F9: an owner keeps serving quorum reads and writes when it has not heard from a member quorum lately" },
  "lease-counts-suspects": { flag: "leaseCountsSuspects", breaks: "F9: an answer from a replica that suspects the owner still renews the owner's lease" },
  "takeover-pull-as-holder": { flag: "takeoverPullAsHolder", breaks: "a takeover pull is served by an old owner that still owns the partition in its own table" },
  "no-expiry-tombstone": { flag: "noExpiryTombstone", breaks: "a TTL expiry leaves no tombstone, so an older copy without the TTL can come back" },
  "leave-keeps-ownership": { flag: "leaveKeepsOwnership", breaks: "F7: a leaving node keeps acting as owner after its hand-off push" },
  "join-catch-up-once": { flag: "joinCatchUpOnce", breaks: "F7: a joining node arms its catch-up for its first table only, not for the tables it builds while syncing" },
  "dirty-reads": { flag: "dirtyReads", breaks: "F8: a read on the owner does not wait for the key's write whose quorum is still pending" },
  "read-during-gather": { flag: "readDuringGather", breaks: "F8: a quorum read does not wait for a write on its keys that started while the replicas answered" },
  "push-new-holders-only": { flag: "pushNewHoldersOnly", breaks: "F10: a node that stops holding a partition pushes its copies only to the new holders before dropping them, trusting the holders that stay to have every acknowledged write" },
} as const;

/** Names accepted by `--inject-bug`. */
export const BUG_NAMES = Object.keys(BUGS) as (keyof typeof BUGS)[];

/** One planted bug. */
export type BugName = keyof typeof BUGS;

/** The planted bugs switched on for one node (all off by default). */
export type ClusterBugs = { [K in (typeof BUGS)[BugName]["flag"]]?: boolean };

/** The {@link ClusterBugs} flags for a list of bug names; throws on an unknown name. */
export function bugsFrom(names: readonly string[]): ClusterBugs {
  const bugs: ClusterBugs = {};
  for (const n of names) {
    const b = (BUGS as Record<string, { flag: keyof ClusterBugs }>)[n];
    if (!b) throw new Error(`unknown bug "${n}" (known: ${BUG_NAMES.join(", ")})`);
    bugs[b.flag] = true;
  }
  return bugs;
}
