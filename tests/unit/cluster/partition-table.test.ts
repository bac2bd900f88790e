import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { partitionOf } from "../../../core/cluster/hash.ts";
import { PartitionTable } from "../../../core/cluster/partition-table.ts";

const names = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
const memberSets: Array<(i: number) => string> = [
  (i) => `127.0.0.1:${3322 + i}`,
  (i) => `node-${i + 1}`,
  (i) => `10.0.0.${i + 11}:3322`,
  (i) => `shoal-${i}.shoal.svc:3322`,
  (i) => `127.0.0.1:${20000 + i * 7}`,
];

describe("PartitionTable", () => {
  test("is deterministic and independent of member order and duplicates", () => {
    const a = PartitionTable.build(["c:1", "a:1", "b:1", "a:1"], 3, { replicaCount: 2 });
    const b = PartitionTable.build(["b:1", "c:1", "a:1"], 3, { replicaCount: 2 });
    expect(a.members).toEqual(["a:1", "b:1", "c:1"]);
    for (let p = 0; p < 271; p++) {
      expect(a.owner(p)).toBe(b.owner(p));
      expect(a.replicas(p)).toEqual(b.replicas(p));
    }
    expect(a.epoch).toBe(3);
  });

  test("viewId: the same for the same members whatever the order or epoch, different for other members", () => {
    const a = PartitionTable.build(["n3:7000", "n1:7000", "n2:7000"], 1, { replicaCount: 2 });
    const b = PartitionTable.build(["n1:7000", "n2:7000", "n3:7000"], 42, { replicaCount: 2 });
    expect(a.viewId).toBe(b.viewId);
    expect(Number.isInteger(a.viewId) && a.viewId >= 0 && a.viewId < 2 ** 32).toBe(true);
    const others = [["n1:7000", "n2:7000"], ["n1:7000", "n2:7000", "n4:7000"], ["n1:7000", "n2:7000", "n3:7000", "n4:7000"], ["n1:7000n2:7000", "n3:7000"]];
    for (const m of others) expect(PartitionTable.build(m, 1).viewId).not.toBe(a.viewId);
  });

  test("checksum matches for equal assignments and differs otherwise; keys map through partitionOf", () => {
    const a = PartitionTable.build(["x", "y", "z"], 1, { replicaCount: 2 });
    const b = PartitionTable.build(["z", "y", "x"], 9, { replicaCount: 2 });
    const c = PartitionTable.build(["x", "y"], 1, { replicaCount: 2 });
    expect(a.checksum()).toBe(b.checksum());
    expect(a.checksum()).not.toBe(c.checksum());
    expect(a.partitionOfKey(new TextEncoder().encode("foo"))).toBe(partitionOf(new TextEncoder().encode("foo"), 271));
  });

  test("golden assignment: changing it breaks mixed-version clusters", () => {
    const t = PartitionTable.build(names(3, memberSets[0]!), 1);
    expect([0, 1, 2, 3, 4, 100, 270].map((p) => t.owner(p).slice(-4))).toEqual([
      "3324",
      "3324",
      "3323",
      "3322",
      "3322",
      "3324",
      "3324",
    ]);
  });

  test("5 members: owned partitions max/mean ≤ 1.10 for several naming schemes", () => {
    for (const f of memberSets) {
      const bal = PartitionTable.build(names(5, f), 1).balance();
      expect(bal.maxOverMean).toBeLessThanOrEqual(1.1);
    }
  });

  test("joining a 5th member moves about 1/N of the partitions and stays balanced", () => {
    for (const f of memberSets) {
      const four = PartitionTable.build(names(4, f), 1);
      const five = PartitionTable.build(names(5, f), 2);
      const moved = five.movedOwners(four);
      expect(five.balance().maxOverMean).toBeLessThanOrEqual(1.1);
      // ideal is 271/5 ≈ 54; allow the bounded-load spill-over
      expect(moved.length).toBeLessThanOrEqual(Math.ceil((271 / 5) * 1.5));
      // everything that moved went to the new member or was displaced by the load bound
      const toNew = moved.filter((p) => five.owner(p) === f(4)).length;
      expect(toNew / moved.length).toBeGreaterThan(0.8);
    }
  });

  test("replicas are distinct, exclude the owner, and shrink to the member count", () => {
    const t = PartitionTable.build(["a", "b", "c"], 1, { replicaCount: 5 });
    for (let p = 0; p < t.partitionCount; p++) {
      const all = [t.owner(p), ...t.replicas(p)];
      expect(new Set(all).size).toBe(3);
    }
    const solo = PartitionTable.build(["a"], 1, { replicaCount: 3 });
    expect(solo.replicas(0)).toEqual([]);
    expect(solo.ownedBy("a").length).toBe(271);
  });

  test("rejects bad input", () => {
    expect(() => PartitionTable.build([], 1)).toThrow(RangeError);
    expect(() => PartitionTable.build(["a"], 1, { partitionCount: 0 })).toThrow(RangeError);
    expect(() => PartitionTable.build(["a"], 1, { replicaCount: 0 })).toThrow(RangeError);
    expect(() => PartitionTable.build(["a"], 1, { loadFactor: 0.5 })).toThrow(RangeError);
  });

  test("property: owners respect the bound and replica lists are valid for random member sets", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 300 }),
        (members, replicaCount, partitionCount) => {
          const t = PartitionTable.build(members, 1, { replicaCount, partitionCount, virtualNodes: 32 });
          const n = t.members.length;
          const ownerCap = Math.ceil(partitionCount / n);
          const copies = Math.min(replicaCount, n) - 1;
          const owned = new Map<string, number>();
          for (let p = 0; p < partitionCount; p++) {
            owned.set(t.owner(p), (owned.get(t.owner(p)) ?? 0) + 1);
            const reps = t.replicas(p);
            if (reps.length !== copies || reps.includes(t.owner(p)) || new Set(reps).size !== reps.length) return false;
          }
          return [...owned.values()].every((c) => c <= ownerCap);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("replica slots stay within the 1.25 load bound for 2–16 members and 2–3 copies", () => {
    for (const f of memberSets) {
      for (let n = 2; n <= 16; n++) {
        for (const replicaCount of [2, 3]) {
          const t = PartitionTable.build(names(n, f), 1, { replicaCount });
          const copies = Math.min(replicaCount, n) - 1;
          const cap = Math.ceil(((271 * copies) / n) * 1.25);
          const slots = new Map<string, number>();
          for (let p = 0; p < 271; p++) for (const r of t.replicas(p)) slots.set(r, (slots.get(r) ?? 0) + 1);
          expect(Math.max(...slots.values())).toBeLessThanOrEqual(cap);
        }
      }
    }
  });

  test("property: adding one member to N moves at most 2.5x the ideal 271/(N+1) owners", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9.:-]{1,16}$/), { minLength: 3, maxLength: 9 }),
        (members) => {
          const [joiner, ...rest] = members;
          const before = PartitionTable.build(rest, 1);
          const after = PartitionTable.build(members, 2);
          const moved = after.movedOwners(before).length;
          // typical: ~1.05x the ideal 271/N; worst seen in 3000 random runs: 1.83x
          return joiner !== undefined && moved <= Math.ceil((271 / members.length) * 2.5);
        },
      ),
      { numRuns: 60 },
    );
  });
});
