import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Clock, Timer } from "../../../core/clock.ts";
import { SeededRng } from "../../../core/clock.ts";
import { NodeStats } from "../../../core/stats.ts";
import { MapStore } from "../../../core/store/map-store.ts";

/** A manual clock for store tests. */
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
const make = (limits = {}) => {
  const clock = new ManualClock();
  const store = new MapStore("m", { ttlMs: 0, maxIdleMs: 0, maxKeys: 0, maxInuse: 0, ...limits }, clock, new SeededRng(1), new NodeStats(0));
  return { clock, store };
};

describe("MapStore", () => {
  test("matches a Map model under random put/delete/get (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom("put", "del", "get"), fc.integer({ min: 0, max: 40 }), fc.uint8Array({ maxLength: 300 })),
          { maxLength: 400 },
        ),
        (ops) => {
          const { store } = make();
          const model = new Map<string, Uint8Array>();
          for (const [op, k, v] of ops) {
            const key = `k${k}`;
            if (op === "put") {
              store.put(key, v);
              model.set(key, v);
            } else if (op === "del") expect(store.delete(key)).toBe(model.delete(key));
            else expect(store.get(key)).toEqual(model.get(key) ?? null);
          }
          expect(store.size()).toBe(model.size);
          for (const [k, v] of model) expect(store.get(k)).toEqual(v);
        },
      ),
      { numRuns: 200 },
    );
  });

  test("grows past many entries and keeps every key (rehash + page growth)", () => {
    const { store } = make();
    for (let i = 0; i < 50_000; i++) store.put(`key:${i}`, `value-${i}`);
    expect(store.size()).toBe(50_000);
    for (let i = 0; i < 50_000; i += 997) expect(dec.decode(store.get(`key:${i}`)!)).toBe(`value-${i}`);
    for (let i = 0; i < 50_000; i += 2) store.delete(`key:${i}`);
    expect(store.size()).toBe(25_000);
    for (let i = 0; i < 50_000; i += 1002) expect(store.get(`key:${i}`)).toBeNull();
    for (let i = 1; i < 50_000; i += 1002) expect(dec.decode(store.get(`key:${i}`)!)).toBe(`value-${i}`);
  });

  test("large values (> 1 MiB) round-trip", () => {
    const { store } = make();
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 255);
    store.put("big", big);
    expect(store.get("big")).toEqual(big);
    store.put("big", "small");
    expect(dec.decode(store.get("big")!)).toBe("small");
  });

  test("TTL expires lazily and actively", () => {
    const { clock, store } = make();
    store.put("a", "1", { ttlMs: 1000 });
    store.put("b", "2", { ttlMs: 1000 });
    store.put("c", "3");
    expect(store.ttl("a")).toBe(1000);
    expect(store.ttl("c")).toBe(-1);
    clock.t += 1001;
    expect(store.get("a")).toBeNull();
    expect(store.activeExpire(10)).toBe(1);
    expect(store.size()).toBe(1);
    expect(store.ttl("b")).toBe(-2);
  });

  test("max idle expires entries not touched", () => {
    const { clock, store } = make({ maxIdleMs: 500 });
    store.put("a", "1");
    store.put("b", "2");
    clock.t += 400;
    store.get("a");
    clock.t += 200;
    expect(store.get("a")).not.toBeNull();
    expect(store.get("b")).toBeNull();
  });

  test("maxKeys evicts approximately least recently used", () => {
    const { clock, store } = make({ maxKeys: 1000 });
    for (let i = 0; i < 1000; i++) {
      clock.t += 1;
      store.put(`k${i}`, "v");
    }
    clock.t += 1;
    for (let i = 900; i < 1000; i++) store.get(`k${i}`); // recent
    for (let i = 1000; i < 1500; i++) {
      clock.t += 1;
      store.put(`k${i}`, "v");
    }
    expect(store.size()).toBe(1000);
    let recentKept = 0;
    for (let i = 900; i < 1000; i++) if (store.get(`k${i}`)) recentKept++;
    expect(recentKept).toBeGreaterThan(80);
  });

  test("maxInuse bounds bytes in use", () => {
    const { store } = make({ maxInuse: 1_000_000 });
    const v = new Uint8Array(1000);
    for (let i = 0; i < 5000; i++) store.put(`key-${i}`, v);
    expect(store.inuseBytes()).toBeLessThanOrEqual(1_000_000);
    expect(store.size()).toBeGreaterThan(700);
  });

  test("incrBy is exact on int64 and rejects overflow and non-integers", () => {
    const { store } = make();
    expect(store.incrBy("n", 5)).toBe(5n);
    expect(store.incrBy("n", -7)).toBe(-2n);
    store.put("max", "9223372036854775807");
    expect(() => store.incrBy("max", 1)).toThrow("increment or decrement would overflow");
    store.put("s", "abc");
    expect(() => store.incrBy("s", 1)).toThrow("not an integer");
    expect(store.incrByFloat("f", 10.5)).toBe("10.5");
    expect(store.incrByFloat("f", 0.1)).toBe("10.6");
  });

  test("scan visits every key present for the whole scan exactly once", () => {
    const { store } = make();
    for (let i = 0; i < 1000; i++) store.put(`k${i}`, "v");
    const seen = new Set<string>();
    let cursor = 0;
    let rounds = 0;
    do {
      const page = store.scan(cursor, 37);
      for (const k of page.keys) seen.add(dec.decode(k));
      // churn during the scan must not hide stable keys
      store.put(`new${rounds}`, "x");
      cursor = page.cursor;
    } while (cursor !== 0 && ++rounds < 1000);
    for (let i = 0; i < 1000; i++) expect(seen.has(`k${i}`)).toBe(true);
    expect(store.scan(0, 10_000, "k1?").keys.length).toBe(10);
  });

  test("locks: lease, fencing tokens increase, wrong token refused, waiters get it on unlock", async () => {
    const { store } = make();
    const g1 = await store.lock("k", 10_000, 0);
    expect(g1).not.toBeNull();
    expect(await store.lock("k", 10_000, 0)).toBeNull();
    expect(store.unlock("k", "nope")).toBe(false);
    expect(store.lockLease("k", g1!.token, 20_000)).toBe(true);
    expect(store.unlock("k", g1!.token)).toBe(true);
    const g2 = await store.lock("k", 10_000, 0);
    expect(g2!.fencing).toBeGreaterThan(g1!.fencing);
  });
});
