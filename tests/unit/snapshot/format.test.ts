import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { BlockBuilder, BlockType, MAGIC, SnapshotCorrupt, ValueType } from "../../../core/snapshot/format.ts";
import { loadSnapshot } from "../../../core/snapshot/load.ts";
import type { ClusterCut } from "../../../core/snapshot/writer.ts";
import { addToCollection, BareMaps, chunked, concat, contents, latin1, ManualClock, makeNode, snapshotBytes } from "./helpers.ts";

/** One framed block built by `fill`. */
function frame(index: number, type: BlockType, fill: (b: BlockBuilder) => void): Uint8Array {
  const b = new BlockBuilder(type);
  fill(b);
  return b.finish(index).slice();
}

const MAPS = ["default", "users", "with space", "ünïcode"];

const entryArb = fc.record({
  map: fc.constantFrom(...MAPS),
  key: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  value: fc.oneof({ weight: 9, arbitrary: fc.uint8Array({ maxLength: 300 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 3000, maxLength: 70_000 }) }),
  // ms from the cut: 0 = no TTL, negative = expired before the cut, small positive = expires while "down"
  ttl: fc.oneof(fc.constant(0), fc.integer({ min: -5000, max: -1 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 60_000, max: 10_000_000 })),
  version: fc.integer({ min: 1, max: 2 ** 50 }),
});

const tombArb = fc.record({
  map: fc.constantFrom(...MAPS),
  key: fc.uint8Array({ minLength: 1, maxLength: 30 }),
  version: fc.integer({ min: 1, max: 2 ** 50 }),
  at: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
});

type Entry = typeof entryArb extends fc.Arbitrary<infer T> ? T : never;

/** A node holding `entries` (later ones overwrite earlier ones with the same key). */
function nodeWith(entries: readonly Entry[], clock = new ManualClock()) {
  const node = makeNode(clock);
  for (const m of MAPS) node.map(m);
  for (const e of entries) {
    const store = node.map(e.map);
    const idx = store.setRange(e.key, 0, e.key.length, e.value, 0, e.value.length, e.ttl === 0 ? 0 : clock.now() + e.ttl);
    store.setVersion(idx, e.version);
  }
  return { node, clock };
}

describe("snapshot format: round trip", () => {
  test("entries, TTLs, versions, map settings and tombstones come back; expired ones are dropped (property)", () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 60 }),
        fc.array(tombArb, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 200, max: 70_000 }),
        (entries, tombs, cuts, downMs, blockBytes) => {
          const { node, clock } = nodeWith(entries);
          const cluster: ClusterCut = { hlc: 123_456_789, tombstones: tombs };
          const before = contents(node);
          const bytes = snapshotBytes(node, { cluster, slice: 7, blockBytes });
          // the node is down for downMs: entries whose TTL ran out meanwhile must not come back
          const later = new ManualClock();
          later.t = clock.t + downMs;
          const back = makeNode(later);
          const res = loadSnapshot(back, chunked(bytes, cuts), later.now());
          const expected = new Map([...before].filter(([, [, exp]]) => exp === 0 || exp > later.now()));
          expect(contents(back)).toEqual(expected);
          expect(res.keys).toBe(expected.size);
          expect(res.expired).toBe(before.size - expected.size);
          expect(res.header.hlc).toBe(123_456_789);
          expect(res.totals.bytes).toBe(bytes.length);
          expect(res.maps.map((m) => m.name).sort()).toEqual([...MAPS].sort());
          // saved tombstones, then one per entry that expired while down (at its version)
          const row = (t: { map: string; key: Uint8Array; version: number; at: number }): string => JSON.stringify([t.map, latin1(t.key), t.version, t.at]);
          const saved = res.cluster.tombstones.slice(0, tombs.length);
          expect(saved.map(row).sort()).toEqual(tombs.map(row).sort());
          expect(res.cluster.tombstones.length).toBe(tombs.length + res.expired);
        },
      ),
      { numRuns: 150 },
    );
  });

  test("hashes and sets, compact and big, come back with their fields, TTLs and versions", () => {
    const clock = new ManualClock();
    const node = makeNode(clock);
    for (let i = 0; i < 300; i++) addToCollection(node, "default", 1, "big-hash", `field-${i}`, `value-${i}`);
    for (let i = 0; i < 5; i++) addToCollection(node, "default", 1, "small-hash", `f${i}`, "x".repeat(i));
    for (let i = 0; i < 700; i++) addToCollection(node, "users", 2, "big-set", `member-${i}`);
    for (let i = 0; i < 3; i++) addToCollection(node, "users", 2, "int-set", String(i * 7));
    node.db.put("plain", "string");
    node.db.expire("big-hash", 60_000);
    const before = contents(node);
    expect(node.db.table.isBig(node.db.lookup(new TextEncoder().encode("big-hash"), 0, 8, false))).toBe(true);
    for (const cuts of [[], [100, 2000, 9000]]) {
      const back = makeNode(clock);
      const res = loadSnapshot(back, chunked(snapshotBytes(node, { blockBytes: 1024 }), cuts), clock.now());
      expect(res.keys).toBe(5);
      expect(contents(back)).toEqual(before);
      expect(back.db.table.isBig(back.db.lookup(new TextEncoder().encode("big-hash"), 0, 8, false))).toBe(true);
      expect(back.db.ttl("big-hash")).toBe(60_000);
    }
  });

  test("a malformed hash value with a good checksum is refused, naming the block", () => {
    const file = concat([
      MAGIC,
      frame(0, BlockType.Header, (b) => {
        b.u16(1);
        b.f64(0);
        b.str("t");
        b.str("n");
        b.u32(1);
        b.f64(0);
      }),
      frame(1, BlockType.Map, (b) => {
        b.u32(0);
        b.str("default");
        for (let i = 0; i < 5; i++) b.f64(0);
      }),
      frame(2, BlockType.Entries, (b) => {
        b.u32(0);
        b.u32(1);
        b.u8(ValueType.Hash);
        b.u8(0);
        b.varint(1);
        b.u8(65);
        b.varint(6);
        b.bytes(new Uint8Array([1, 0, 0, 0, 9, 1]), 0, 6); // one field claiming 9 bytes, holding 1
      }),
    ]);
    expect(refused(file, 0).message).toMatch(/^block 2 .*entry 0: malformed hash value/);
  });

  test("map settings are written as configured", () => {
    const clock = new ManualClock();
    const node = makeNode(clock);
    const m = node.map("sessions");
    m.limits = { ttlMs: 30_000, maxIdleMs: 5000, maxKeys: 100, maxInuse: 1 << 20 };
    m.put("k", "v");
    const res = loadSnapshot(makeNode(clock), [snapshotBytes(node)], clock.now());
    expect(res.maps.find((x) => x.name === "sessions")).toEqual({ name: "sessions", ttlMs: 30_000, maxIdleMs: 5000, maxKeys: 100, maxInuse: 1 << 20, entriesAtCut: 1 });
  });

  test("an empty node makes a valid snapshot", () => {
    const node = makeNode();
    const bytes = snapshotBytes(node);
    const res = loadSnapshot(makeNode(), [bytes], node.clock.now());
    expect(res.keys).toBe(0);
    expect(res.totals.maps).toBe(1);
  });
});

/** A small snapshot with every block type (header, maps, tombstones, entries, end). */
function smallSnapshot(): { bytes: Uint8Array; now: number } {
  const clock = new ManualClock();
  const node = makeNode(clock);
  for (let i = 0; i < 12; i++) node.map(i % 2 ? "a" : "b").put(`key-${i}`, `value-${i}`.repeat(i), i % 3 === 0 ? { ttlMs: 60_000 } : {});
  const cluster: ClusterCut = { hlc: 99, tombstones: [{ map: "a", key: new TextEncoder().encode("gone"), version: 5, at: clock.now() }] };
  return { bytes: snapshotBytes(node, { cluster, blockBytes: 64 }), now: clock.now() };
}

/** Loads `bytes`; returns the error (a SnapshotCorrupt is expected) and checks nothing stayed loaded. */
function refused(bytes: Uint8Array, now: number, cuts: number[] = []): SnapshotCorrupt {
  const node = new BareMaps();
  let err: unknown = null;
  try {
    loadSnapshot(node, chunked(bytes, cuts), now);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SnapshotCorrupt);
  expect(node.keyCount()).toBe(0);
  return err as SnapshotCorrupt;
}

describe("snapshot format: corruption is always detected", () => {
  test("every single flipped byte, with two different flips per byte (exhaustive)", () => {
    const { bytes, now } = smallSnapshot();
    expect(loadSnapshot(makeNode(), [bytes], now).keys).toBe(12);
    for (let at = 0; at < bytes.length; at++) {
      for (const mask of [0x01, 0xfe]) {
        const bad = bytes.slice();
        bad[at]! ^= mask;
        refused(bad, now, [at]);
      }
    }
  });

  test("every truncation (exhaustive), and bytes appended after the end block", () => {
    const { bytes, now } = smallSnapshot();
    for (let len = 0; len < bytes.length; len++) {
      const e = refused(bytes.subarray(0, len), now, [len >> 1]);
      expect(e.message).toMatch(/magic|ends|truncated/);
    }
    refused(concat([bytes, new Uint8Array([0])]), now);
    refused(concat([bytes, bytes]), now);
  });

  test("a flipped byte or a truncation in random snapshots (property)", () => {
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 30 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (entries, at, mask, truncate) => {
        const { node, clock } = nodeWith(entries);
        const bytes = snapshotBytes(node, { blockBytes: 512 });
        const pos = at % bytes.length;
        let bad: Uint8Array;
        if (truncate) bad = bytes.subarray(0, pos);
        else {
          bad = bytes.slice();
          bad[pos]! ^= mask;
        }
        refused(bad, clock.now(), [pos, pos + 1]);
      }),
      { numRuns: 200 },
    );
  });

  test("the error names the bad block and where it starts", () => {
    const { bytes, now } = smallSnapshot();
    const bad = bytes.slice();
    bad[bytes.length - 20]! ^= 0x40; // inside the end block's payload
    const e = refused(bad, now);
    expect(e.block).toBeGreaterThan(0);
    expect(e.message).toMatch(/^block \d+ \(at byte \d+\): checksum mismatch in the end block/);
    const head = bytes.slice();
    head[0] = 0x58;
    expect(refused(head, now).message).toMatch(/not a shoal snapshot/);
  });

  test("swapped blocks are detected (the CRC covers each block's position)", () => {
    const { bytes } = smallSnapshot();
    // split into frames: 8 magic bytes, then u32 len | u32 ~len | type | payload | crc
    const frames: Uint8Array[] = [];
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    for (let o = 8; o < bytes.length; ) {
      const len = v.getUint32(o, true);
      frames.push(bytes.subarray(o, o + 13 + len));
      o += 13 + len;
    }
    expect(frames.length).toBeGreaterThan(5);
    const swapped = [bytes.subarray(0, 8), frames[0]!, frames[2]!, frames[1]!, ...frames.slice(3)];
    refused(concat(swapped), 0);
  });

  test("a newer format version, an unknown value type or block type is refused, not guessed at", () => {
    const file = (blocks: ((b: BlockBuilder) => void)[][]): Uint8Array => {
      const parts: Uint8Array[] = [MAGIC];
      blocks.forEach(([make], i) => {
        const b = new BlockBuilder(BlockType.Header);
        make!(b);
        parts.push(b.finish(i).slice());
      });
      return concat(parts);
    };
    const header = (version: number) => (b: BlockBuilder) => {
      b.buf[8] = BlockType.Header;
      b.u16(version);
      b.f64(0);
      b.str("shoal test");
      b.str("n");
      b.u32(271);
      b.f64(0);
    };
    const map = (b: BlockBuilder) => {
      b.buf[8] = BlockType.Map;
      b.u32(0);
      b.str("default");
      for (let i = 0; i < 5; i++) b.f64(0);
    };
    const entry = (type: number) => (b: BlockBuilder) => {
      b.buf[8] = BlockType.Entries;
      b.u32(0);
      b.u32(1);
      b.u8(type);
      b.u8(0);
      b.varint(1);
      b.u8(65);
      b.varint(1);
      b.u8(66);
    };
    const end = (b: BlockBuilder) => {
      b.buf[8] = BlockType.End;
      b.f64(1);
      b.f64(0);
      b.u32(1);
      b.u32(3);
    };
    expect(loadSnapshot(makeNode(), [file([[header(1)], [map], [entry(ValueType.String)], [end]])], 0).keys).toBe(1);
    expect(refused(file([[header(2)], [map], [entry(0)], [end]]), 0).message).toMatch(/block 0 .*format version 2; this shoal reads up to version 1/);
    expect(refused(file([[header(1)], [map], [entry(7)], [end]]), 0).message).toMatch(/block 2 .*value type 7, which this shoal cannot read/);
    const unknown = (b: BlockBuilder) => {
      b.buf[8] = 42;
    };
    expect(refused(file([[header(1)], [unknown]]), 0).message).toMatch(/block 1 .*unknown block type 42/);
    expect(refused(file([[map]]), 0).message).toMatch(/the first block is a map block, not the header/);
  });
});
