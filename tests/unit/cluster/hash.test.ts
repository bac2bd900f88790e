import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { crc16, fnv1a64, hash64, keySlot, mod64, partitionOf, partitionOfSlot, slotRange, utf8 } from "../../../core/cluster/hash.ts";

const asBig = (h: { hi: number; lo: number }): bigint => (BigInt(h.hi) << 32n) | BigInt(h.lo);

/** Reference FNV-1a 64 on BigInt, to check the two-halves arithmetic. */
function fnvRef(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

describe("fnv1a64", () => {
  test("matches published FNV-1a 64 vectors", () => {
    expect(asBig(fnv1a64(utf8("")))).toBe(0xcbf29ce484222325n);
    expect(asBig(fnv1a64(utf8("a")))).toBe(0xaf63dc4c8601ec8cn);
    expect(asBig(fnv1a64(utf8("foobar")))).toBe(0x85944171f73967e8n);
  });

  test("property: equals a BigInt reference on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => asBig(fnv1a64(bytes)) === fnvRef(bytes)),
      { numRuns: 500 },
    );
  });

  test("property: mod64 equals BigInt modulo", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), fc.integer({ min: 1, max: 100_000 }), (bytes, n) => {
        return BigInt(mod64(fnv1a64(bytes), n)) === fnvRef(bytes) % BigInt(n);
      }),
    );
  });
});

describe("partitionOf", () => {
  test("hash64 is a bijective finalizer over FNV-1a (distinct inputs stay distinct)", () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 5000; i++) seen.add(asBig(hash64(utf8(`k${i}`))));
    expect(seen.size).toBe(5000);
  });

  test("spreads keys evenly over 271 partitions (chi-square)", () => {
    const n = 271;
    const keys = 271 * 200;
    const counts = new Array<number>(n).fill(0);
    for (let i = 0; i < keys; i++) counts[partitionOf(utf8(`key:${i}`), n)]!++;
    const expected = keys / n;
    const chi = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 270 degrees of freedom: mean 270, sd ~23; 400 is far in the tail.
    expect(chi).toBeLessThan(400);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  test("is the key's Redis Cluster slot scaled down; partitions are contiguous slot ranges", () => {
    expect(partitionOf(utf8("foo"), 271)).toBe(Math.floor((12182 * 271) / 16384));
    expect(partitionOf(utf8("{user1000}.following"), 271)).toBe(partitionOf(utf8("{user1000}.followers"), 271));
    for (const n of [1, 3, 271, 1000, 16384]) {
      let next = 0;
      for (let p = 0; p < n; p++) {
        const [a, b] = slotRange(p, n);
        expect(a).toBe(next);
        for (const s of [a, b]) expect(partitionOfSlot(s, n)).toBe(p);
        next = b + 1;
      }
      expect(next).toBe(16384);
    }
    expect(() => partitionOf(utf8("foo"), 16385)).toThrow(RangeError);
  });

  test("is stable and validates the partition count", () => {
    expect(partitionOf(utf8("foo"), 271)).toBe(partitionOf(utf8("foo"), 271));
    expect(() => partitionOf(utf8("foo"), 0)).toThrow(RangeError);
    expect(() => partitionOf(utf8("foo"), 2.5)).toThrow(RangeError);
  });
});

describe("keySlot (values checked with redis-server 7 CLUSTER KEYSLOT)", () => {
  const known: Array<[string, number]> = [
    ["foo", 12182],
    ["bar", 5061],
    ["{user1000}.following", 3443],
    ["{user1000}.followers", 3443],
    ["a{}b", 13694],
    ["{}foo", 9500],
    ["foo{}{bar}", 8363],
    ["foo{{bar}}zap", 4015],
    ["foo{bar}{zap}", 5061],
    ["somekey", 11058],
  ];
  for (const [key, slot] of known) test(`${key} → ${slot}`, () => expect(keySlot(utf8(key))).toBe(slot));

  test("crc16 XMODEM check value", () => expect(crc16(utf8("123456789"))).toBe(0x31c3));

  test("property: a non-empty hashtag decides the slot", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !s.includes("{") && !s.includes("}")),
        fc.string(),
        fc.string(),
        (tag, before, after) => {
          const b = before.replaceAll("{", "");
          return keySlot(utf8(`${b}{${tag}}${after}`)) === keySlot(utf8(tag));
        },
      ),
    );
  });
});
