/**
 * Regression seeds that keep testing: each case pins a seed on which the
 * cluster fails again when the fix of a finding (CHAOS.md "Findings") is
 * switched off with its planted bug (core/cluster/bugs.ts), and passes with
 * the fix on. Both runs happen here: a clean run with violations is a
 * regression; a bugged run without violations means the seed went stale (the
 * code around it changed, so it no longer reaches the fixed path) — the test
 * says so and how to pick a new one. The same command lines reproduce each:
 * `shoal chaos --sim --seed N --faults KINDS [--link-faults S] [--workload W] [--inject-bug B]`.
 *
 * The seeds of the original reports (CHAOS.md) stopped reaching their paths
 * as later fixes layered more defences and changed the histories; the seeds
 * here were found with `--inject-bug` on new ranges.
 */
import { describe, expect, test } from "bun:test";
import { parseFaults, runSimSeed } from "../../../chaos/sim/mod.ts";
import { BUGS, type BugName } from "../../../core/cluster/bugs.ts";

interface Finding {
  finding: string;
  seed: number;
  faults: string;
  /** The switch that turns the finding's fix off. */
  bug: BugName;
  linkFaults?: "mild" | "harsh";
  workload?: "mixed" | "registers";
  /**
   * How the nodes agree on ownership. The gossip fixes (strict replicas, the
   * view check, the owner lease) live in `--ownership gossip`, which stays
   * available; their seeds run there.
   */
  ownership: "gossip" | "consensus";
}

const cases: Finding[] = [
  { finding: "F1 exec on a handed-off copy", seed: 3003, faults: "crash", bug: "exec-on-any-copy", ownership: "gossip" },
  { finding: "F3 takeover owner with a stale counter", seed: 3029, faults: "partition", bug: "no-takeover-catch-up", ownership: "gossip" },
  { finding: "F4 halves never merge again", seed: 10, faults: "failover", workload: "registers", bug: "no-dead-reconnect", ownership: "consensus" },
  { finding: "F5/F6 a node the others replaced writes with its old view", seed: 3091, faults: "pause", bug: "lenient-replicas", ownership: "gossip" },
  { finding: "TTL expiry without a tombstone, an older copy came back", seed: 5152, faults: "failover", bug: "no-expiry-tombstone", ownership: "gossip" },
  // F10 (push-new-holders-only) is pinned by tests/unit/cluster/rebalance-drop.test.ts: its seed 41290 still passes but
  // stopped failing with the switch on once anti-entropy's cutoff moved its history, and none of 1,640 seeds searched did
];

describe("chaos --sim regression seeds (CHAOS.md findings), each with its fix switched off too", () => {
  for (const c of cases) {
    test(`${c.finding}: seed ${c.seed} --faults ${c.faults} (${c.ownership}) passes, and fails again with --inject-bug ${c.bug}`, async () => {
      const profile = parseFaults(c.faults);
      const o = { seed: c.seed, kinds: profile.kinds, linkSeverity: c.linkFaults ?? profile.linkSeverity, workload: c.workload ?? "mixed", ownership: c.ownership };
      const clean = await runSimSeed(o);
      expect(clean.violations.map((v) => `${v.checker}: ${v.message}`)).toEqual([]);
      const planted = await runSimSeed({ ...o, bugs: [c.bug] });
      if (planted.violations.length === 0) {
        throw new Error(
          `stale regression seed: seed ${c.seed} (--faults ${c.faults} --ownership ${c.ownership}) no longer fails with --inject-bug ${c.bug} ` +
            `(${BUGS[c.bug].breaks}), so it no longer tests that fix. Pick a new seed: ` +
            `shoal chaos --sim --inject-bug ${c.bug} --faults ${c.faults} --ownership ${c.ownership} --seed 1 --seeds 200 --stop-on-failure, and keep one that passes without the bug.`,
        );
      }
      expect(planted.violations.length).toBeGreaterThan(0);
    }, 180_000);
  }
});
