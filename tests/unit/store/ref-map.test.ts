/**
 * The by-reference map (storage "reference") against the arena map: the
 * same DMap answers for any sequence of operations and clock moves (a
 * differential property test), values kept and returned by reference, LRU
 * eviction under MaxKeys and MaxInuse (exact in a small map, sampled in a
 * large one), max-idle, active expiry, scan
 * cursors, byte keys and the embedded API's choice of storage.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Clock, Timer } from "../../../core/clock.ts";
import { SeededRng } from "../../../core/clock.ts";
import { Shoal } from "../../../core/mod.ts";
import { NodeStats } from "../../../core/stats.ts";
import { MapStore } from "../../../core/store/map-store.ts";
import { EXACT_LRU_SLOTS, REF_ENTRY_OVERHEAD, RefMap } from "../../../core/store/ref-map.ts";

class ManualClock implements Clock {
  t = 1_700_000_000_000;
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  setTimer(_ms: number, _fn: () => void): Timer {
    return { cancel() {} };
  }
}

const dec = new TextDecoder();
const enc = new TextEncoder();
const NO_LIMITS = { ttlMs: 0, maxIdleMs: 0, maxKeys: 0, maxInuse: 0 };

function pair(limits = {}) {
  const clock = new ManualClock();
  const l = { ...NO_LIMITS, ...limits };
  return {
    clock,
    arena: new MapStore("m", l, clock, new SeededRng(1), new NodeStats(0)),
    ref: new RefMap("m", l, clock, new SeededRng(1)),
  };
}

const text = (v: Uint8Array | null): string | null => (v === null ? null : dec.decode(v));

describe("RefMap", () => {
  test("answers like the arena map for any operations and clock moves (property)", () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant("put"), k: fc.integer({ min: 0, max: 15 }), v: fc.string({ maxLength: 20 }), ttl: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }), nx: fc.boolean(), xx: fc.boolean(), keepTtl: fc.boolean() }),
      fc.record({ op: fc.constantFrom("get", "del", "ttl", "persist", "getPut"), k: fc.integer({ min: 0, max: 15 }), v: fc.string({ maxLength: 5 }) }),
      fc.record({ op: fc.constant("expire"), k: fc.integer({ min: 0, max: 15 }), ms: fc.integer({ min: -5, max: 50 }) }),
      fc.record({ op: fc.constant("incr"), k: fc.integer({ min: 0, max: 15 }), by: fc.integer({ min: -1000, max: 1000 }) }),
      fc.record({ op: fc.constant("tick"), ms: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.constantFrom(0, 20), (ops, defaultTtl) => {
        const { clock, arena, ref } = pair({ ttlMs: defaultTtl });
        for (const o of ops) {
          const key = "k" in o ? `key${o.k}` : "";
          switch (o.op) {
            case "put": {
              const opts = { ttlMs: o.ttl, nx: o.nx, xx: o.xx, keepTtl: o.keepTtl };
              expect(ref.put(key, o.v, opts)).toBe(arena.put(key, o.v, opts));
              break;
            }
            case "get":
              expect(text(ref.get(key))).toBe(text(arena.get(key)));
              break;
            case "getPut":
              expect(text(ref.getPut(key, o.v))).toBe(text(arena.getPut(key, o.v)));
              break;
            case "del":
              expect(ref.delete(key)).toBe(arena.delete(key));
              break;
            case "ttl":
              expect(ref.ttl(key)).toBe(arena.ttl(key));
              break;
            case "persist":
              expect(ref.persist(key)).toBe(arena.persist(key));
              break;
            case "expire":
              expect(ref.expire(key, o.ms)).toBe(arena.expire(key, o.ms));
              break;
            case "incr": {
              const a = (() => {
                try {
                  return String(arena.incrBy(key, o.by));
                } catch (e) {
                  return (e as Error).message;
                }
              })();
              const r = (() => {
                try {
                  return String(ref.incrBy(key, o.by));
                } catch (e) {
                  return (e as Error).message;
                }
              })();
              expect(r).toBe(a);
              break;
            }
            case "tick":
              clock.t += o.ms;
              break;
          }
        }
        const live = (m: MapStore | RefMap): string[] => {
          const keys: string[] = [];
          let cursor = 0;
          do {
            const page = m.scan(cursor, 3);
            for (const k of page.keys) keys.push(dec.decode(k));
            cursor = page.cursor;
          } while (cursor !== 0);
          return keys.sort();
        };
        expect(live(ref)).toEqual(live(arena));
        expect(ref.size()).toBe(arena.size());
      }),
      { numRuns: 150 },
    );
  });

  test("keeps and returns the caller's array (no copies); string values are encoded once", () => {
    const { ref } = pair();
    const v = new Uint8Array([1, 2, 3]);
    ref.put("a", v);
    expect(ref.get("a")).toBe(v);
    expect(ref.get(enc.encode("a"))).toBe(v); // a byte key is the same key as its UTF-8 string
    ref.put("b", "héllo");
    expect(text(ref.get("b"))).toBe("héllo");
    const invalid = new Uint8Array([0xff, 0xfe]);
    ref.put(invalid, "raw");
    expect(text(ref.get(invalid))).toBe("raw");
    expect(ref.get("\u00ff\u00fe")).toBeNull(); // invalid UTF-8 bytes never collide with a string key
    expect(ref.scan(0, 10).keys.map((k) => Array.from(k))).toContainEqual([0xff, 0xfe]);
  });

  test("MaxKeys evicts the least recently used entry, reads count as use", () => {
    const { ref } = pair({ maxKeys: 3 });
    for (const k of ["a", "b", "c"]) ref.put(k, k);
    expect(text(ref.get("a"))).toBe("a"); // a is now the most recent
    ref.put("d", "d");
    expect([ref.get("b"), ref.size()]).toEqual([null, 3]);
    ref.put("b", "b");
    expect(ref.get("c")).toBeNull();
    expect(["a", "d", "b"].map((k) => text(ref.get(k)))).toEqual(["a", "d", "b"]);
  });

  test("in a large map eviction samples: what goes was almost always not used since the recent half was read", () => {
    const n = 10_000;
    expect(n).toBeGreaterThan(EXACT_LRU_SLOTS);
    const { ref } = pair({ maxKeys: n });
    for (let i = 0; i < n; i++) ref.put(`k${i}`, "v");
    for (let i = n / 2; i < n; i++) ref.get(`k${i}`); // the second half is now the most recently used
    for (let i = 0; i < 1000; i++) ref.put(`new${i}`, "v");
    expect(ref.size()).toBe(n);
    let oldGone = 0;
    let recentGone = 0;
    for (let i = 0; i < n; i++) {
      if (ref.get(`k${i}`) !== null) continue;
      if (i < n / 2) oldGone++;
      else recentGone++;
    }
    expect(oldGone + recentGone).toBe(1000);
    // 5 samples all from the recent half happen 1 time in 32: allow twice that
    expect(recentGone).toBeLessThan(1000 / 16);
    for (let i = 0; i < 1000; i++) expect(ref.get(`new${i}`)).not.toBeNull(); // a new entry goes only if all five samples are new ones
  });

  test("MaxInuse counts keys, values and the per-entry overhead; the entry just written stays", () => {
    const entry = 2 + 100 + REF_ENTRY_OVERHEAD; // a one-character key, a 100-byte value
    const { ref } = pair({ maxInuse: entry * 4 });
    for (let i = 0; i < 10; i++) ref.put(String(i), new Uint8Array(100));
    expect(ref.size()).toBe(4);
    expect(ref.inuseBytes()).toBe(entry * 4);
    expect(ref.get("9")).not.toBeNull();
    ref.put("big", new Uint8Array(entry * 10)); // larger than the limit alone: kept, everything else goes
    expect([ref.size(), ref.get("9")]).toEqual([1, null]);
  });

  test("max-idle: an entry not read or written for the idle time is gone; active expiry sweeps TTL'd entries", () => {
    const { clock, ref } = pair({ maxIdleMs: 100 });
    ref.put("a", "1");
    ref.put("b", "2");
    clock.t += 60;
    ref.get("a");
    clock.t += 60;
    expect([text(ref.get("a")), ref.get("b")]).toEqual(["1", null]);
    const t = pair();
    for (let i = 0; i < 200; i++) t.ref.put(`k${i}`, "v", { ttlMs: 10 });
    t.clock.t += 20;
    let removed = 0;
    for (let i = 0; i < 50 && t.ref.size() > 0; i++) removed += t.ref.activeExpire(10);
    expect(removed).toBe(200);
    expect(t.ref.size()).toBe(0);
  });

  test("the embedded API picks the storage at a map's first use and refuses to switch", async () => {
    const shoal = await Shoal.start();
    try {
      const m = shoal.map("sessions", { storage: "reference" });
      const v = enc.encode("x");
      m.put("k", v);
      expect(shoal.map("sessions").get("k")).toBe(v);
      expect(await shoal.dmap("sessions").get("k")).toBe(v);
      expect(() => shoal.map("sessions", { storage: "arena" })).toThrow(/by reference/);
      shoal.map("plain").put("k", "v");
      expect(() => shoal.map("plain", { storage: "reference" })).toThrow(/already keeps its values in the arena/);
      expect(shoal.node.hasMap("sessions")).toBe(false); // RESP and HTTP never see it
    } finally {
      await shoal.stop();
    }
  });
});
