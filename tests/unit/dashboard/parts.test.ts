/**
 * The dashboard's pure parts: the metric ring and the event log (bounds,
 * cursors), interval quantiles of the latency histogram, the sampler's
 * deltas, event merging across observers, the partition map and changed
 * partitions, the wire format's checks, HTML escaping of every name, and the
 * page model's delta merge and chart alignment.
 */
import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../../core/clock.ts";
import { PartitionTable } from "../../../core/cluster/partition-table.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { EventLog } from "../../../core/dashboard/event-log.ts";
import { fmtBytes, fmtMs, fmtRatio } from "../../../core/dashboard/format.ts";
import { renderPage } from "../../../core/dashboard/page.ts";
import { renderEvents, renderMembers } from "../../../core/dashboard/render.ts";
import { bucketQuantileMs, StatsSampler } from "../../../core/dashboard/sampler.ts";
import { emptyColumns, MetricRing, type Sample } from "../../../core/dashboard/series.ts";
import { changedPartitions, composeState, mergeEvents, partitionMap } from "../../../core/dashboard/state.ts";
import { decodeDashReply, decodeDashRequest, encodeDash } from "../../../core/dashboard/wire.ts";
import { ShoalNode } from "../../../core/node.ts";
import { LATENCY_BUCKETS } from "../../../core/stats.ts";
import { aligned, applyDelta, fromSnapshot } from "../../../ui/model.ts";

const sample = (t: number, ops: number): Sample => ({ t, ops, hitRatio: null, p50Ms: 1, p99Ms: 2, rssBytes: 100, storeBytes: 50, lagMs: 0.5, keys: 3 });

describe("MetricRing", () => {
  test("keeps the newest `capacity` samples in order and answers since(t)", () => {
    const r = new MetricRing(4);
    for (let i = 1; i <= 6; i++) r.push(sample(i * 1000, i));
    expect(r.size).toBe(4);
    expect(r.since().t).toEqual([3000, 4000, 5000, 6000]);
    expect(r.since(4000).ops).toEqual([5, 6]);
    expect(r.since().hitRatio).toEqual([null, null, null, null]);
    expect(r.latest()?.ops).toBe(6);
    r.push(sample(6000, 99)); // not newer: ignored
    expect(r.latest()?.ops).toBe(6);
  });
  test("pushColumns appends a peer's answer; a bad capacity is refused", () => {
    const a = new MetricRing(10);
    a.push(sample(1000, 1));
    a.push(sample(2000, 2));
    const b = new MetricRing(10);
    b.pushColumns(a.since());
    b.pushColumns(a.since(1000));
    expect(b.since().t).toEqual([1000, 2000]);
    expect(() => new MetricRing(0)).toThrow(/positive integer/);
  });
});

describe("EventLog", () => {
  test("numbers events, keeps the newest, answers since(seq)", () => {
    const log = new EventLog(3);
    for (let i = 0; i < 5; i++) log.add({ t: i, node: "a", kind: "join", text: `e${i}` });
    expect(log.lastSeq).toBe(5);
    expect(log.since(0).map((e) => e.text)).toEqual(["e2", "e3", "e4"]);
    expect(log.since(4).map((e) => e.seq)).toEqual([5]);
    expect(log.since(0, 1).map((e) => e.seq)).toEqual([5]);
  });
  test("keep() stores a peer's events under their own numbers; long texts are cut", () => {
    const log = new EventLog(10);
    log.keep({ seq: 7, t: 1, node: "b", kind: "dead", text: "x" });
    log.keep({ seq: 5, t: 1, node: "b", kind: "dead", text: "older" });
    expect(log.since(0).map((e) => e.seq)).toEqual([7]);
    expect(log.add({ t: 0, node: "a", kind: "start", text: "y".repeat(2000) }).text.length).toBe(500);
  });
});

describe("sampling", () => {
  test("interval quantiles come from the histogram's difference", () => {
    const counts = new Array(LATENCY_BUCKETS.length + 1).fill(0);
    expect(bucketQuantileMs(counts, 0.5)).toBeNull();
    counts[2] = 98; // ≤ 0.25 ms
    counts[7] = 2; // ≤ 10 ms
    expect(bucketQuantileMs(counts, 0.5)).toBe(0.25);
    expect(bucketQuantileMs(counts, 0.99)).toBe(10);
  });
  test("a sample covers the interval since the previous one", async () => {
    const clock = new SimClock();
    const node = new ShoalNode({ clock, rng: new SeededRng(1) });
    const sampler = new StatsSampler({ stats: node.stats, clock, keyCount: () => node.keyCount(), memoryBytes: () => node.memoryBytes(), rssBytes: () => 123 });
    for (let i = 0; i < 40; i++) node.stats.countCommand("get");
    node.stats.hits = 30;
    node.stats.misses = 10;
    for (let i = 0; i < 10; i++) node.stats.latency.observe(0.0002);
    await clock.advance(2000);
    const s = sampler.sample();
    expect(s.ops).toBe(20);
    expect(s.hitRatio).toBe(0.75);
    expect(s.p50Ms).toBe(0.25);
    expect(s.rssBytes).toBe(123);
    await clock.advance(2000);
    const quiet = sampler.sample();
    expect(quiet.ops).toBe(0);
    expect(quiet.hitRatio).toBeNull();
    expect(quiet.p99Ms).toBeNull();
    node.stop();
  });
});

describe("state", () => {
  test("a membership change seen by several members is one event with its observers", () => {
    const a = [{ seq: 1, t: 10, node: "A", kind: "dead" as const, member: "C", incarnation: 0, text: "suspicion timeout" }];
    const b = [
      { seq: 4, t: 12, node: "B", kind: "dead" as const, member: "C", incarnation: 0, text: "learned via gossip" },
      { seq: 5, t: 13, node: "B", kind: "repair" as const, text: "anti-entropy repaired 3 keys" },
    ];
    const merged = mergeEvents([a, b]);
    expect(merged.map((e) => e.id)).toEqual(["A#1", "B#5"]);
    expect(merged[0]!.alsoSeenBy).toEqual(["B"]);
    expect(merged[0]!.text).toBe("suspicion timeout");
  });
  test("the partition map indexes owners and replicas; changed partitions compare owners and replica sets", () => {
    const t1 = PartitionTable.build(["a:1", "b:1", "c:1"], 1, { partitionCount: 50, replicaCount: 2 });
    const t2 = PartitionTable.build(["a:1", "b:1"], 2, { partitionCount: 50, replicaCount: 2 });
    const map = partitionMap(t1, [{ member: "b:1", partitions: [3, 99] }], [1, 2], true)!;
    expect(map.count).toBe(50);
    expect(map.owner.every((o) => o >= 0 && o < 3)).toBe(true);
    expect(map.replicas.every((r) => r.length === 1 && r[0] !== undefined && r[0] >= 0)).toBe(true);
    expect(map.catching).toEqual([{ p: 3, member: "b:1" }]);
    expect(map.migrating).toEqual([1, 2]);
    expect(partitionMap(t1, [], [1], false)!.migrating).toEqual([]);
    const changed = changedPartitions(t1, t2);
    expect(changed.length).toBeGreaterThan(0);
    for (let p = 0; p < 50; p++) if (t1.owner(p) === "c:1" || t1.replicas(p).includes("c:1")) expect(changed).toContain(p);
    expect(changedPartitions(null, t2).length).toBe(50);
  });
  test("names and reasons are escaped in the rendered page", () => {
    const evil = `<img src=x onerror="alert(1)">`;
    const s = composeState({
      now: 1000,
      nodeName: evil,
      self: { name: evil, nodeName: evil, startedAt: 0, ready: true, latest: null, catching: [], rebalancing: false, epoch: 0 },
      selfEvents: [{ seq: 1, t: 5, node: evil, kind: "start", text: evil }],
      view: undefined,
      table: null,
      mirrors: new Map(),
      changed: [],
    });
    const html = renderPage(s, { css: "", version: "v1" }) + renderMembers(s) + renderEvents(s);
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(s.members).toHaveLength(1);
    expect(s.members[0]!.status).toBe("alive");
    // the embedded JSON cannot close its script element
    expect(renderPage({ ...s, events: [{ id: "a#1", t: 1, kind: "start", node: "a", text: "</script><script>x()</script>" }] }, { css: "", version: "v" })).not.toContain("</script><script>x()");
  });
  test("formatting", () => {
    expect(fmtBytes(1536)).toBe("1.50 KiB");
    expect(fmtBytes(null)).toBe("–");
    expect(fmtMs(0.25)).toBe("0.25 ms");
    expect(fmtMs(1500)).toBe("1.50 s");
    expect(fmtRatio(0.5)).toBe("50.0%");
  });
});

describe("wire", () => {
  test("requests and replies round-trip; malformed ones are errors", () => {
    expect(decodeDashRequest(encodeDash({ t: "dash", since: 5, after: 2, startedAt: 9 }))).toEqual({ t: "dash", since: 5, after: 2, startedAt: 9 });
    expect(() => decodeDashRequest(encodeDash({ t: "error", message: "x" }))).toThrow(/not a dashboard request/);
    expect(() => decodeDashReply(encodeDash({ t: "error", message: "not a member" }))).toThrow(/not a member/);
    const summary = { name: "a", nodeName: "n", startedAt: 1, ready: true, latest: null, catching: [], rebalancing: false, epoch: 1 };
    const ok = decodeDashReply(encodeDash({ t: "dash", summary, samples: emptyColumns(), events: [] }));
    expect(ok.summary.name).toBe("a");
    const bad = { ...emptyColumns(), t: [1] };
    expect(() => decodeDashReply(encodeDash({ t: "dash", summary, samples: bad, events: [] }))).toThrow(/bad samples/);
  });
});

describe("page model", () => {
  test("deltas append new points only; charts align members on 2-s slots", () => {
    const base = composeState({
      now: 0,
      nodeName: "n",
      self: { name: "a", nodeName: "n", startedAt: 0, ready: true, latest: null, catching: [], rebalancing: false, epoch: 0 },
      selfEvents: [],
      view: undefined,
      table: null,
      mirrors: new Map(),
      changed: [],
    });
    const ra = new MetricRing(10);
    ra.push(sample(2000, 1));
    const m = fromSnapshot({ ...base, series: { a: ra.since() } });
    ra.push(sample(4000, 2));
    const rb = new MetricRing(10);
    rb.push(sample(4100, 7));
    const ch = applyDelta(m, { t: 5000, series: { a: ra.since(), b: rb.since() } });
    expect(ch.series).toBe(true);
    expect(m.series.get("a")!.t).toEqual([2000, 4000]);
    const [xs, a, b] = aligned(m.series, ["a", "b"], "ops");
    expect(xs).toEqual([2, 4]);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([null, 7]);
    applyDelta(m, { t: 4000 + 15 * 60 * 1000 + 1 });
    expect(m.series.get("a")!.t).toEqual([]);
  });
});
