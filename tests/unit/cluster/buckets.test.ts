import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { type Bucket, bucketSet, childDigests, differingLeaves, entriesInBuckets, inBuckets } from "../../../core/cluster/buckets.ts";
import { EntrySync } from "../../../core/cluster/entry-sync.ts";
import { partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { HybridClock } from "../../../core/cluster/hlc.ts";
import { ShoalNode } from "../../../core/node.ts";

const P = 7;

function nodeWith(entries: [string, number][]) {
  const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(1), config: { partitionCount: P } });
  const sync = new EntrySync(node, new HybridClock(systemClock), systemClock);
  for (const [k, v] of entries) sync.apply({ map: "default", key: utf8(k), value: utf8(`v${v}`), expireAt: 0, version: 1000 + v });
  return { node, sync };
}

const turn = (): Promise<void> => Promise.resolve();
const ranges = (): Bucket[] => Array.from({ length: P * 16 }, (_, i) => ({ partition: Math.floor(i / 16), depth: 0, prefix: i % 16 }));

describe("key-hash buckets", () => {
  test("the walk down from differing ranges finds buckets holding exactly the keys that differ (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 5 })), { maxLength: 600 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 5 })), { maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        async (base, changes, leafKeys) => {
          const entries = base.map(([k, v]) => [`k${k}`, v] as [string, number]);
          const a = nodeWith(entries);
          const b = nodeWith([...entries, ...changes.map(([k, v]) => [`k${k}`, v + 10] as [string, number])]);
          const leaves = await differingLeaves(a.node, a.sync, P, ranges(), async (bs) => childDigests(b.node, b.sync, P, bs, turn), turn, leafKeys);
          expect(leaves).not.toBeNull();
          const set = bucketSet(leaves!);
          // every changed key lies in a differing leaf, and the leaves' entries are few
          for (const [k] of changes) {
            const key = utf8(`k${k}`);
            expect(inBuckets(set, partitionOf(key, P), b.node.db.table.hash[b.node.db.lookup(key, 0, key.length, false)]!)).toBe(true);
          }
          const got = await entriesInBuckets(b.node, b.sync, P, leaves!, turn);
          expect(got.length).toBeLessThanOrEqual(Math.max(1, new Set(changes.map(([k]) => k)).size) * Math.max(leafKeys, 16) + leafKeys);
          // equal nodes: nothing differs
          const same = await differingLeaves(a.node, a.sync, P, ranges(), async (bs) => childDigests(a.node, a.sync, P, bs, turn), turn, leafKeys);
          expect(same).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("a side that stops answering ends the walk with null", async () => {
    const a = nodeWith([["x", 1]]);
    expect(await differingLeaves(a.node, a.sync, P, ranges(), async () => null, turn)).toBeNull();
  });
});
