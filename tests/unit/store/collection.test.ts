import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Clock, Timer } from "../../../core/clock.ts";
import { SeededRng } from "../../../core/clock.ts";
import { NodeStats } from "../../../core/stats.ts";
import * as coll from "../../../core/store/collection.ts";
import { DEFAULT_ENCODING, Kind } from "../../../core/store/collection.ts";
import { CompactBuilder, countOf, validate } from "../../../core/store/compact.ts";
import { MapStore } from "../../../core/store/map-store.ts";

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

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);

function make(encoding = { ...DEFAULT_ENCODING }, limits = {}) {
  const clock = new ManualClock();
  const limitsAll = { ttlMs: 0, maxIdleMs: 0, maxKeys: 0, maxInuse: 0, ...limits };
  const store = new MapStore("m", limitsAll, clock, new SeededRng(7), new NodeStats(0), undefined, undefined, encoding);
  return { clock, store };
}

/** The collection at `key` (created when missing). */
function open(store: MapStore, key: string, kind: number): number {
  const k = b(key);
  const idx = store.lookupKind(k, 0, k.length, kind, false);
  return idx >= 0 ? idx : store.createCollection(k, 0, k.length, kind);
}

function asObject(store: MapStore, idx: number): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  coll.forEach(store, idx, (f, v) => {
    out[dec.decode(f)] = v === null ? null : dec.decode(v);
  });
  return out;
}

describe("hashes and sets in the map store", () => {
  test("a hash matches a Map model under random HSET/HDEL, across the compact → big conversion (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 300 }), fc.string({ maxLength: 90 })), { maxLength: 600 }),
        fc.integer({ min: 1, max: 64 }),
        (ops, maxEntries) => {
          const { store } = make({ ...DEFAULT_ENCODING, hashMaxListpackEntries: maxEntries });
          const model = new Map<string, string>();
          const idx = open(store, "h", Kind.Hash);
          for (const [put, n, value] of ops) {
            const f = `f${n}`;
            if (put) {
              expect(coll.put(store, idx, b(f), b(value))).toBe(!model.has(f));
              model.set(f, value);
            } else {
              expect(coll.remove(store, idx, b(f))).toBe(model.has(f));
              model.delete(f);
            }
            expect(coll.size(store, idx)).toBe(model.size);
          }
          for (const [f, v] of model) expect(dec.decode(coll.getField(store, idx, b(f))!)).toBe(v);
          expect(asObject(store, idx)).toEqual(Object.fromEntries(model));
          // past a limit it is a FieldTable, and stays one
          if (model.size > maxEntries) expect(store.table.isBig(idx)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("a long value moves a hash to the big encoding; the set limit for integers is set-max-intset-entries", () => {
    const { store } = make();
    const h = open(store, "h", Kind.Hash);
    coll.put(store, h, b("a"), b("x".repeat(64)));
    expect(store.table.isBig(h)).toBe(false);
    coll.put(store, h, b("a"), b("x".repeat(65)));
    expect(store.table.isBig(h)).toBe(true);
    expect(dec.decode(coll.getField(store, h, b("a"))!)).toBe("x".repeat(65));

    const s = open(store, "ints", Kind.Set);
    for (let i = 0; i < 512; i++) coll.put(store, s, b(String(i)), b(String(i)));
    expect(store.table.isBig(s)).toBe(false);
    expect(coll.isIntSet(store, s)).toBe(true);
    coll.put(store, s, b("512"), b("512"));
    expect(store.table.isBig(s)).toBe(true);

    const mixed = open(store, "mixed", Kind.Set);
    for (let i = 0; i < 128; i++) coll.put(store, mixed, b(String(i)), b(""));
    coll.put(store, mixed, b("a"), b(""));
    expect(store.table.isBig(mixed)).toBe(true);
  });

  test("export → import round-trips both encodings and keeps the expiry", () => {
    const { store, clock } = make();
    const small = open(store, "small", Kind.Hash);
    coll.put(store, small, b("f"), b("v"));
    const big = open(store, "big", Kind.Set);
    for (let i = 0; i < 300; i++) coll.put(store, big, b(`m${i}`), b(""));
    const smallBlob = coll.exportBlob(store, small);
    const bigBlob = coll.exportBlob(store, big);
    expect(validate(smallBlob, 2)).toBeNull();
    expect(validate(bigBlob, 1)).toBeNull();
    expect(countOf(bigBlob)).toBe(300);

    const { store: other } = make();
    const at = clock.now() + 5000;
    const i1 = coll.importBlob(other, b("small"), Kind.Hash, smallBlob, at);
    const i2 = coll.importBlob(other, b("big"), Kind.Set, bigBlob, 0);
    expect(asObject(other, i1)).toEqual({ f: "v" });
    expect(other.table.expireAt[i1]).toBe(at);
    expect(other.table.isBig(i2)).toBe(true);
    expect(coll.size(other, i2)).toBe(300);
    expect(coll.has(other, i2, b("m299"))).toBe(true);
  });

  test("a malformed blob from a peer is refused, not stored", () => {
    const { store } = make();
    const bad = new CompactBuilder().reset().elem(b("f"), 0, 1).finish(2); // claims 2 fields, holds half of one
    expect(() => coll.importBlob(store, b("k"), Kind.Hash, bad, 0)).toThrow(/malformed hash/);
    expect(() => coll.importBlob(store, b("k"), 7, bad, 0)).toThrow(/unknown value kind/);
    expect(store.size()).toBe(0);
  });

  test("WRONGTYPE: string API on a hash, hash lookup on a string; SET replaces a big set and frees its fields", () => {
    const { store } = make();
    const s = open(store, "k", Kind.Set);
    for (let i = 0; i < 1000; i++) coll.put(store, s, b(`member-${i}`), b(""));
    const used = store.inuseBytes();
    expect(() => store.get("k")).toThrow(/WRONGTYPE|wrong kind/);
    expect(() => store.incrBy("k", 1)).toThrow(/wrong kind/);
    store.put("k", "plain");
    expect(dec.decode(store.get("k")!)).toBe("plain");
    expect(store.big.size).toBe(0);
    expect(store.inuseBytes()).toBeLessThan(used / 4);
    expect(() => store.lookupKind(b("k"), 0, 1, Kind.Hash)).toThrow(/wrong kind/);
  });

  test("removing and evicting big collections returns their arena chunks", () => {
    const { store } = make();
    const before = store.table.arena.usedBytes;
    for (let k = 0; k < 5; k++) {
      const idx = open(store, `s${k}`, Kind.Set);
      for (let i = 0; i < 500; i++) coll.put(store, idx, b(`m${i}`), b(""));
    }
    expect(store.big.size).toBe(5);
    store.clear();
    expect(store.big.size).toBe(0);
    expect(store.bigMetaBytes).toBe(0);
    expect(store.table.arena.usedBytes).toBe(before);
  });

  test("random entries are uniform enough and scan pages visit every member once", () => {
    const { store } = make();
    const idx = open(store, "s", Kind.Set);
    for (let i = 0; i < 400; i++) coll.put(store, idx, b(`m${i}`), b(""));
    for (let i = 0; i < 200; i++) coll.remove(store, idx, b(`m${i * 2}`));
    const rng = new SeededRng(3);
    const seen = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const [f] = coll.randomEntry(store, idx, (n) => rng.int(n));
      const key = dec.decode(f);
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    expect(seen.size).toBe(200);
    for (const n of seen.values()) expect(n).toBeGreaterThan(40); // mean 100
    const got = new Set<string>();
    let cursor = 0;
    do {
      cursor = coll.scanPage(store, idx, cursor, 7, (f) => {
        const key = dec.decode(f);
        expect(got.has(key)).toBe(false);
        got.add(key);
      });
    } while (cursor !== 0);
    expect(got.size).toBe(200);
  });
});
