/**
 * Regression seeds: each found a real bug in the cluster code (CHAOS.md
 * "Findings") and must stay clean. The same command line reproduces each one:
 * `shoal chaos --sim --seed N --faults KINDS [--link-faults S] [--workload W]`.
 */
import { describe, expect, test } from "bun:test";
import { parseFaults, runSimSeed } from "../../../chaos/sim/mod.ts";

const cases: Array<{ finding: string; seed: number; faults: string; linkFaults?: "mild" | "harsh"; workload?: "mixed" | "registers" }> = [
  { finding: "F1 exec on a handed-off copy", seed: 3, faults: "crash" },
  { finding: "F1 after join/leave", seed: 3, faults: "join-leave" },
  { finding: "F3 takeover owner with a stale counter", seed: 2, faults: "partition" },
  { finding: "F4 halves never merge again", seed: 10, faults: "failover", workload: "registers" },
  { finding: "F5 paused owner writes with its old view", seed: 1, faults: "pause" },
  { finding: "two disjoint quorums while a node is removed", seed: 29, faults: "all" },
  { finding: "takeover pull served by an old owner that still owned the partition", seed: 115, faults: "failover" },
  { finding: "TTL expiry without a tombstone, an older copy came back", seed: 105, faults: "failover" },
  { finding: "F7 writes accepted by a leaving owner after its hand-off push", seed: 108, faults: "mild-no-pause" },
  { finding: "F7 a rejoining node ran a forwarded INCR before its join catch-up was armed", seed: 550, faults: "mild-no-pause" },
  {
    finding: "F8 dirty read of a DEL that failed its quorum and was rolled back",
    seed: 395,
    faults: "drop,delay,reorder,corrupt,duplicate,skew,jump,stall,one-way,crash",
    linkFaults: "mild",
  },
  { finding: "F8 a write that started during a quorum read's gather was read before it settled", seed: 649, faults: "default" },
  { finding: "F9 non-transitive views: two owners with disjoint quorums", seed: 83, faults: "failover" },
  { finding: "F9 a node removed by the others serves with one that shares its stale view", seed: 281, faults: "failover" },
  { finding: "F9 owner lease counted an answer from a replica that suspected it", seed: 116, faults: "failover" },
  {
    finding: "F6 one-way block, removed node keeps serving",
    seed: 88,
    faults: "drop,delay,reorder,corrupt,one-way,duplicate,skew,jump,stall",
    linkFaults: "mild",
  },
];

describe("chaos --sim regression seeds (CHAOS.md findings)", () => {
  for (const c of cases) {
    test(`${c.finding}: seed ${c.seed} --faults ${c.faults}`, async () => {
      const profile = parseFaults(c.faults);
      const report = await runSimSeed({
        seed: c.seed,
        kinds: profile.kinds,
        linkSeverity: c.linkFaults ?? profile.linkSeverity,
        workload: c.workload ?? "mixed",
      });
      expect(report.violations.map((v) => `${v.checker}: ${v.message}`)).toEqual([]);
    }, 120_000);
  }
});
