import { describe, expect, test } from "bun:test";
import {
  isSafeStep,
  type MemberConfig,
  type MemberRef,
  nextStep,
  normalize,
  targetVoterCount,
} from "../../../core/cluster/consensus/member-config.ts";
import { RaftWorld, TIMINGS } from "./consensus-sim.ts";

const ref = (name: string, boot = 1): MemberRef => ({ name, boot });

describe("member configuration steps", () => {
  test("voter count: the largest odd number up to five", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => targetVoterCount(n))).toEqual([1, 1, 3, 3, 5, 5, 5, 5]);
  });

  test("stepping from one member to five live ones takes safe single-voter steps and ends with five voters", () => {
    const wanted = ["a", "b", "c", "d", "e"].map((n) => ref(n));
    let c: MemberConfig = normalize({ members: [ref("a")], voters: [ref("a")] });
    const seen: MemberConfig[] = [c];
    for (let step = 0; step < 10; step++) {
      const next = nextStep(c, wanted);
      if (!next) break;
      expect(isSafeStep(c, next)).toBe(true);
      c = next;
      seen.push(c);
    }
    expect(c.members.map((m) => m.name)).toEqual(["a", "b", "c", "d", "e"]);
    expect(c.voters.map((v) => v.name)).toEqual(["a", "b", "c", "d", "e"]);
    expect(nextStep(c, wanted)).toBeNull();
    // members join in the first step (as non-voters), voters one per step after that
    expect(seen[1]!.members.length).toBe(5);
    expect(seen.slice(1).map((x) => x.voters.length)).toEqual([1, 2, 3, 4, 5]);
  });

  test("two voters gone at once are removed one per step; a restarted voter comes back as a new incarnation", () => {
    const c = normalize({ members: ["a", "b", "c", "d", "e"].map((n) => ref(n)), voters: ["a", "b", "c", "d", "e"].map((n) => ref(n)) });
    // d and e died; c restarted (boot 2)
    const wanted = [ref("a"), ref("b"), ref("c", 2)];
    const s1 = nextStep(c, wanted)!;
    expect(isSafeStep(c, s1)).toBe(true);
    let cur = s1;
    for (let i = 0; i < 10; i++) {
      const n = nextStep(cur, wanted);
      if (!n) break;
      expect(isSafeStep(cur, n)).toBe(true);
      cur = n;
    }
    expect(cur.members).toEqual([ref("a"), ref("b"), ref("c", 2)]);
    expect(cur.voters).toEqual([ref("a"), ref("b"), ref("c", 2)]);
  });

  test("the last voter is never removed", () => {
    const c = normalize({ members: [ref("a"), ref("b")], voters: [ref("a")] });
    const n = nextStep(c, [ref("b")]);
    expect(n === null || n.voters.some((v) => v.name === "a")).toBe(true);
  });
});

describe("Raft for the member configuration (simulated network)", () => {
  test("five processes form one configuration with five voters from a single bootstrap", async () => {
    const w = new RaftWorld({ size: 5, seed: 1 });
    w.startAll();
    await w.run(10_000);
    expect(w.violations).toEqual([]);
    expect(w.converged()).toBe(true);
    const c = w.live()[0]!.committed;
    expect(c.voters.length).toBe(5);
    expect(w.live().filter((n) => n.role === "leader").length).toBe(1);
    w.stop();
  });

  test("a crashed leader is replaced, removed, and its restarted process joins again as a new incarnation", async () => {
    const w = new RaftWorld({ size: 5, seed: 2 });
    w.startAll();
    await w.run(10_000);
    const leader = w.slots.findIndex((s) => s.node?.role === "leader");
    const oldBoot = w.slots[leader]!.boot;
    w.crash(leader);
    await w.run(10_000);
    expect(w.converged()).toBe(true);
    expect(w.live()[0]!.committed.members.some((m) => m.boot === oldBoot)).toBe(false);
    w.start(leader);
    await w.run(10_000);
    expect(w.violations).toEqual([]);
    expect(w.converged()).toBe(true);
    expect(w.live()[0]!.committed.members.length).toBe(5);
    w.stop();
  });

  test("told the leader is dead (the failure detector's verdict), followers elect a new one within heartbeats, not an election timeout", async () => {
    for (const seed of [4, 5, 6]) {
      const w = new RaftWorld({ size: 5, seed });
      w.startAll();
      await w.run(10_000);
      const leader = w.slots.findIndex((s) => s.node?.role === "leader");
      const name = w.slots[leader]!.name;
      w.crash(leader);
      const t0 = w.clock.monotonic();
      for (const n of w.live()) n.leaderLost(name);
      let elected = -1;
      for (let t = 0; t < 3000 && elected < 0; t += 10) {
        await w.run(10);
        if (w.live().some((n) => n.role === "leader")) elected = w.clock.monotonic() - t0;
      }
      // without the hint nobody would even campaign before electionMinMs (400 ms here) has passed since the last heartbeat
      expect(elected).toBeGreaterThanOrEqual(0);
      expect(elected).toBeLessThan(TIMINGS.electionMinMs);
      await w.run(5000);
      expect(w.violations).toEqual([]);
      w.stop();
    }
  });

  test("a leaderLost verdict about a leader that is alive changes nothing for safety: it keeps or regains its followers", async () => {
    const w = new RaftWorld({ size: 5, seed: 7 });
    w.startAll();
    await w.run(10_000);
    const leader = w.slots.findIndex((s) => s.node?.role === "leader");
    for (const n of w.live()) n.leaderLost(w.slots[leader]!.name); // a false verdict
    await w.run(5000);
    expect(w.violations).toEqual([]);
    expect(w.converged()).toBe(true);
    expect(w.live().filter((n) => n.role === "leader").length).toBe(1);
    w.stop();
  });

  test("a minority cut off commits nothing; the majority goes on; after healing everyone agrees", async () => {
    const w = new RaftWorld({ size: 5, seed: 3 });
    w.startAll();
    await w.run(10_000);
    w.isolate(0, true);
    w.isolate(1, true);
    w.setCut(0, 1, false); // 0 and 1 still talk to each other
    const minorityBefore = [w.slots[0]!.node!.committedIndex, w.slots[1]!.node!.committedIndex];
    await w.run(15_000);
    // whatever the minority did, it committed nothing new on its own side...
    const majorityConfig = w.slots[2]!.node!.committed;
    expect(majorityConfig.members.map((m) => m.name)).toEqual(["n3", "n4", "n5"]);
    for (const i of [0, 1]) {
      const n = w.slots[i]!.node!;
      // ...unless it learned it from the majority (it cannot: it is cut off)
      expect(n.committedIndex).toBe(minorityBefore[i]!);
    }
    w.healAll();
    await w.run(15_000);
    expect(w.violations).toEqual([]);
    expect(w.converged()).toBe(true);
    expect(w.live()[0]!.committed.members.length).toBe(5);
    w.stop();
  });

  test("safety under loss, duplication, delay, partitions and crashes (60 seeds), and convergence once calm", async () => {
    const failed: unknown[] = [];
    for (let seed = 10; seed < 70; seed++) {
      const w = new RaftWorld({ size: 5, seed, drop: 0.2, duplicate: 0.1, minDelayMs: 1, maxDelayMs: 300 });
      w.startAll();
      for (let round = 0; round < 12; round++) {
        await w.run(1500);
        const r = w.rng.next();
        const i = w.rng.int(5);
        if (r < 0.25) {
          if (w.slots[i]!.node) w.crash(i);
          else w.start(i);
        } else if (r < 0.5) {
          w.isolate(i, w.rng.next() < 0.6);
        } else if (r < 0.65) {
          w.setCut(i, (i + 1 + w.rng.int(4)) % 5, true);
        } else if (r < 0.75) {
          w.healAll();
        }
      }
      if (w.violations.length > 0) failed.push({ seed, violations: w.violations });
      // calm: everything back, no faults; it must converge
      w.healAll();
      w.calm();
      for (let i = 0; i < 5; i++) if (!w.slots[i]!.node) w.start(i);
      let ok = false;
      for (let t = 0; t < 30 && !ok; t++) {
        await w.run(1000);
        ok = w.converged();
      }
      if (!ok) failed.push({ seed, converged: false });
      w.stop();
    }
    expect(failed).toEqual([]);
  }, 120_000);
});
