import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { loadSnapshot } from "../../../core/snapshot/load.ts";
import { SnapshotWriter } from "../../../core/snapshot/writer.ts";
import { addToCollection, concat, contents, ManualClock, makeNode, removeFromCollection } from "./helpers.ts";

const MAPS = ["default", "a", "b"];
const key = fc.integer({ min: 0, max: 60 }).map((i) => `k${i}`);
const value = fc.string({ maxLength: 40 });

/** What a client (or the node's housekeeping) may do while a snapshot is being written. */
const opArb = fc.oneof(
  fc.record({ op: fc.constant("walk" as const), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ op: fc.constant("put" as const), map: fc.constantFrom(...MAPS), key, value, ttl: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 })) }),
  fc.record({ op: fc.constant("del" as const), map: fc.constantFrom(...MAPS), key }),
  fc.record({ op: fc.constant("expire" as const), map: fc.constantFrom(...MAPS), key, ttl: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ op: fc.constant("persist" as const), map: fc.constantFrom(...MAPS), key }),
  fc.record({ op: fc.constant("version" as const), map: fc.constantFrom(...MAPS), key, v: fc.integer({ min: 1, max: 2 ** 40 }) }),
  fc.record({ op: fc.constant("incr" as const), map: fc.constantFrom(...MAPS), key }),
  fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ op: fc.constant("clear" as const) }),
  fc.record({ op: fc.constant("hset" as const), map: fc.constantFrom(...MAPS), key, field: fc.integer({ min: 0, max: 12 }).map((i) => `f${i}`), value }),
  fc.record({ op: fc.constant("sadd" as const), map: fc.constantFrom(...MAPS), key, field: fc.integer({ min: 0, max: 12 }).map((i) => `m${i}`) }),
  fc.record({ op: fc.constant("hdel" as const), map: fc.constantFrom(...MAPS), key, field: fc.integer({ min: 0, max: 12 }).map((i) => `f${i}`) }),
  fc.record({ op: fc.constant("srem" as const), map: fc.constantFrom(...MAPS), key, field: fc.integer({ min: 0, max: 12 }).map((i) => `m${i}`) }),
  fc.record({ op: fc.constant("destroy" as const), map: fc.constantFrom("a", "b") }),
);

describe("snapshot cut: point-in-time under concurrent writes", () => {
  test("the snapshot holds exactly what was live at the cut, whatever happens during the walk (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...MAPS), key, value, fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4000 }))), { maxLength: 150 }),
        fc.array(fc.tuple(fc.constantFrom(...MAPS), key), { maxLength: 40 }),
        fc.array(opArb, { maxLength: 120 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 40 }),
        (initial, deleted, ops, maxKeysB, initialCollections) => {
          const clock = new ManualClock();
          const node = makeNode(clock);
          for (const m of MAPS) node.map(m);
          // hashes and sets past 4 fields move from the compact blob to a FieldTable
          node.encoding.hashMaxListpackEntries = 4;
          node.encoding.setMaxListpackEntries = 4;
          node.encoding.setMaxIntsetEntries = 4;
          for (let i = 0; i < initialCollections; i++) {
            addToCollection(node, MAPS[i % 3]!, 1, `h${i % 7}`, `f${i % 9}`, `v${i}`);
            addToCollection(node, MAPS[(i + 1) % 3]!, 2, `s${i % 5}`, `m${i % 11}`);
          }
          // map b evicts (LRU) past maxKeys: evictions during the walk are removals too
          if (maxKeysB > 0) node.map("b").limits = { ...node.map("b").limits, maxKeys: maxKeysB };
          for (const [m, k, v, ttl] of initial) node.map(m).put(k, v, ttl ? { ttlMs: ttl } : {});
          // free indices below the cut's high-water mark, which inserts during the walk may reuse
          for (const [m, k] of deleted) node.map(m).delete(k);
          const atCut = contents(node);
          const parts: Uint8Array[] = [];
          const w = new SnapshotWriter({
            maps: node.mapNames().map((n) => [n, node.map(n)] as const),
            nodeName: "t",
            partitionCount: 271,
            now: clock.now(),
            blockBytes: 64,
            sink: (b) => parts.push(b.slice()),
          });
          let done = false;
          for (const o of ops) {
            if (o.op === "walk") done = w.step(o.n) || done;
            else if (o.op === "put") node.map(o.map).put(o.key, o.value, o.ttl ? { ttlMs: o.ttl } : {});
            else if (o.op === "hset") addToCollection(node, o.map, 1, `h${o.key.length % 7}`, o.field, o.value);
            else if (o.op === "sadd") addToCollection(node, o.map, 2, `s${o.key.length % 5}`, o.field);
            else if (o.op === "hdel") removeFromCollection(node, o.map, `h${o.key.length % 7}`, o.field);
            else if (o.op === "srem") removeFromCollection(node, o.map, `s${o.key.length % 5}`, o.field);
            else if (o.op === "del") node.map(o.map).delete(o.key);
            else if (o.op === "expire") node.map(o.map).expire(o.key, o.ttl);
            else if (o.op === "persist") node.map(o.map).persist(o.key);
            else if (o.op === "incr") {
              try {
                node.map(o.map).incrBy(o.key, 1);
              } catch {
                // not an integer: nothing changed
              }
            } else if (o.op === "version") {
              const m = node.map(o.map);
              const idx = m.lookup(new TextEncoder().encode(o.key), 0, o.key.length, false);
              if (idx >= 0) m.setVersion(idx, o.v);
            } else if (o.op === "tick") {
              clock.advance(o.ms);
              for (const m of node.mapNames()) node.map(m).activeExpire(1000);
            } else if (o.op === "clear") node.db.clear();
            else node.destroyMap(o.map);
          }
          while (!done) done = w.step(13);
          const back = makeNode(new ManualClock());
          const res = loadSnapshot(back, [concat(parts)], 0);
          expect(contents(back)).toEqual(atCut);
          expect(res.keys).toBe(atCut.size);
          // the writer let go of the maps
          for (const m of node.mapNames()) expect(node.map(m).watcher).toBeNull();
        },
      ),
      { numRuns: 200 },
    );
  });

  test("entries changed ahead of the walk are copied once, and counted", () => {
    const clock = new ManualClock();
    const node = makeNode(clock);
    for (let i = 0; i < 1000; i++) node.db.put(`k${i}`, "old");
    const parts: Uint8Array[] = [];
    const w = new SnapshotWriter({ maps: [["default", node.db]], nodeName: "t", partitionCount: 1, now: clock.now(), sink: (b) => parts.push(b.slice()) });
    w.step(100);
    for (let i = 0; i < 1000; i++) node.db.put(`k${i}`, "new"); // 900 not walked yet: copied on write
    for (let i = 0; i < 1000; i++) node.db.put(`k${i}`, "newer"); // already copied: not again
    while (!w.step(100));
    expect(w.progress.copied).toBe(900);
    expect(w.progress.entries).toBe(1000);
    const back = makeNode(new ManualClock());
    loadSnapshot(back, [concat(parts)], 0);
    expect(new TextDecoder().decode(back.db.get("k999")!)).toBe("old");
  });

  test("a second writer on the same maps is refused while one runs; abort lets go", () => {
    const node = makeNode();
    node.db.put("k", "v");
    const opts = { maps: [["default", node.db]] as const, nodeName: "t", partitionCount: 1, now: 0, sink: () => undefined };
    const w = new SnapshotWriter(opts);
    expect(() => new SnapshotWriter(opts)).toThrow(/already being written/);
    w.abort();
    expect(node.db.watcher).toBeNull();
    expect(new SnapshotWriter(opts).step(10)).toBe(true);
  });
});
