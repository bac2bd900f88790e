import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../../core/clock.ts";
import { EntrySync } from "../../../core/cluster/entry-sync.ts";
import { utf8 } from "../../../core/cluster/hash.ts";
import { encodeVersion, HybridClock } from "../../../core/cluster/hlc.ts";
import type { EntryState } from "../../../core/cluster/peer-protocol.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { ShoalNode } from "../../../core/node.ts";

function setup(options: { horizonMs?: number } = {}) {
  const clock = new SimClock();
  const node = new ShoalNode({ clock, rng: new SeededRng(1) });
  const sync = new EntrySync(node, new HybridClock(clock), clock, options);
  const at = (ms: number) => encodeVersion(clock.now() + ms, 0);
  const put = (key: string, value: string, version: number): EntryState => ({ map: "m", key: utf8(key), value: utf8(value), expireAt: 0, version });
  const del = (key: string, version: number): EntryState => ({ map: "m", key: utf8(key), value: null, expireAt: 0, version });
  const get = (key: string) => {
    const v = node.map("m").get(key);
    return v === null ? null : new TextDecoder().decode(v);
  };
  return { clock, node, sync, at, put, del, get };
}

describe("EntrySync: last-writer-wins with tombstones", () => {
  test("the newest version wins whatever the arrival order", () => {
    const { sync, at, put, get } = setup();
    expect(sync.apply(put("k", "new", at(2)))).toBe(true);
    expect(sync.apply(put("k", "old", at(1)))).toBe(false);
    expect(get("k")).toBe("new");
    expect(sync.apply(put("k", "newer", at(3)))).toBe(true);
    expect(get("k")).toBe("newer");
  });

  test("a delete is kept as a tombstone: older copies do not resurrect the key, newer writes do", () => {
    const { sync, at, put, del, get } = setup();
    sync.apply(put("k", "v1", at(1)));
    expect(sync.apply(del("k", at(2)))).toBe(true);
    expect(get("k")).toBeNull();
    expect(sync.apply(put("k", "v1", at(1)))).toBe(false);
    expect(sync.apply(del("k", at(1)))).toBe(false);
    expect(get("k")).toBeNull();
    expect(sync.apply(put("k", "v3", at(3)))).toBe(true);
    expect(get("k")).toBe("v3");
    expect(sync.tombstoneCount()).toBe(0);
  });

  test("a delete that arrives before the value it deletes still wins", () => {
    const { sync, at, put, del, get } = setup();
    expect(sync.apply(del("k", at(5)))).toBe(true);
    expect(sync.apply(put("k", "stale", at(4)))).toBe(false);
    expect(get("k")).toBeNull();
  });

  test("tombstones are collected past the grace period (documented limit), never for their number; their bytes count in the map's memory", async () => {
    const { clock, sync, at, put, del, get, node } = setup({ horizonMs: 10_000 });
    const stale = put("k", "stale", at(0));
    sync.apply(del("k", at(1)));
    await clock.advance(5_000);
    sync.collect();
    expect(sync.apply(stale)).toBe(false);
    await clock.advance(6_000);
    sync.collect();
    expect(sync.tombstoneCount()).toBe(0);
    // past the horizon a copy that missed the delete can bring the key back: the horizon must exceed the longest partition
    expect(sync.apply(stale)).toBe(true);
    expect(get("k")).toBe("stale");
    const before = node.map("m").inuseBytes();
    for (let i = 0; i < 500; i++) sync.apply(del(`d${i}`, at(10 + i)));
    expect(sync.tombstoneCount()).toBe(500);
    expect(node.map("m").inuseBytes()).toBeGreaterThan(before + 500 * 2);
    // a confirmed tombstone goes only at its own version
    expect(sync.forget("m", utf8("d1"), at(99))).toBe(false);
    expect(sync.forget("m", utf8("d1"), at(11))).toBe(true);
    expect(sync.tombstoneCount()).toBe(499);
    await clock.advance(11_000);
    expect(sync.collect()).toBe(499);
    expect(node.map("m").inuseBytes()).toBe(before);
  });

  test("stamp gives the local state a fresh, increasing version and records deletions", () => {
    const { node, sync } = setup();
    node.map("m").put("k", "v");
    const a = sync.stamp("m", utf8("k"))!;
    const b = sync.stamp("m", utf8("k"))!;
    expect(b.version).toBeGreaterThan(a.version);
    expect(new TextDecoder().decode(b.value!)).toBe("v");
    node.map("m").delete("k");
    const gone = sync.stamp("m", utf8("k"))!;
    expect(gone.value).toBeNull();
    expect(sync.tombstoneCount()).toBe(1);
    expect(sync.apply({ ...b, version: b.version })).toBe(false);
  });

  test("expired states are not stored", async () => {
    const { clock, sync, at, get } = setup();
    expect(sync.apply({ map: "m", key: utf8("t"), value: utf8("x"), expireAt: clock.now() - 1, version: at(1) })).toBe(true);
    expect(get("t")).toBeNull();
    expect(sync.apply({ map: "m", key: utf8("t"), value: utf8("x"), expireAt: clock.now() + 1000, version: at(2) })).toBe(true);
    expect(get("t")).toBe("x");
    await clock.advance(1001);
    expect(get("t")).toBeNull();
  });
});
