/**
 * Replicas that heal themselves (issue 15 parts 1–3): anti-entropy by
 * partition digest, hinted handoff, tombstones collected once confirmed on
 * every holder, orphaned copies handed to their holders. Anti-entropy runs
 * here by explicit rounds (repairNow) so each step can be checked.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { DIGEST_RANGES, digestPartitions, entriesInRanges } from "../../../core/cluster/digest.ts";
import { EntrySync } from "../../../core/cluster/entry-sync.ts";
import { partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { HybridClock } from "../../../core/cluster/hlc.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";
import { hashBytes } from "../../../core/store/hash.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const P = 31;

function call(node: ShoalNode, ...argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${argv.join(" ")}`)), 10_000);
    const s = new ClientSession(node, {
      write: (b) => {
        clearTimeout(timer);
        resolve(dec.decode(b));
        s.onClose();
      },
      close() {},
      remote: "test",
    });
    let wire = `*${argv.length}\r\n`;
    for (const a of argv) wire += `$${enc.encode(a).length}\r\n${a}\r\n`;
    s.onData(enc.encode(wire));
  });
}

const running: ClusterNode[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

interface Cluster {
  net: MemoryNetwork;
  names: string[];
  nodes: ShoalNode[];
  clusters: ClusterNode[];
}

async function startCluster(
  size: number,
  o: { replicaCount: number; writeQuorum: number; hints?: { maxEntries: number; maxBytes?: number; retryMs?: number }; confirmMinAgeMs?: number; settleMs?: number },
): Promise<Cluster> {
  const c: Cluster = { net: new MemoryNetwork({ requestTimeoutMs: 1000 }), names: [], nodes: [], clusters: [] };
  for (let i = 0; i < size; i++) {
    const name = `n${i}:3322`;
    const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(i + 1), config: { partitionCount: P } });
    node.start();
    const cl = new ClusterNode({
      node,
      transport: c.net.transport(),
      clock: systemClock,
      rng: new SeededRng(100 + i),
      self: name,
      seeds: [c.names[0] ?? name],
      // slow failure detection: a replica cut off for the test is not declared dead meanwhile
      timings: membershipTimings("lan", { probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200 }),
      replicaCount: o.replicaCount,
      writeQuorum: o.writeQuorum,
      memberCountQuorum: 1,
      partitionCount: P,
      peerTimeoutMs: 200,
      antiEntropy: { intervalMs: 0, maxKeys: 100_000, confirmMinAgeMs: o.confirmMinAgeMs ?? 0, settleMs: o.settleMs ?? 0 },
      hints: { maxEntries: 0, retryMs: 60_000, ...o.hints },
    });
    await cl.start();
    c.names.push(name);
    c.nodes.push(node);
    c.clusters.push(cl);
    running.push(cl);
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !c.clusters.every((x) => x.partitions?.members.length === size)) await Bun.sleep(10);
  for (let i = 0; i < 3; i++) for (const x of c.clusters) await x.settled();
  return c;
}

/** Partitions (of the first node's table) whose holders' digests differ. */
function divergent(c: Cluster): number[] {
  const t = c.clusters[0]!.partitions!;
  const all = Array.from({ length: P }, (_, p) => p);
  const d = c.clusters.map((x, i) => digestPartitions(c.nodes[i]!, x.sync, P, all));
  const out: number[] = [];
  for (let p = 0; p < P; p++) {
    const holders = [t.owner(p), ...t.replicas(p)].map((h) => c.names.indexOf(h));
    for (const h of holders.slice(1)) {
      if (Array.from({ length: DIGEST_RANGES }, (_, r) => r).some((r) => !d[holders[0]!]!.sameAs(d[h]!, p, r))) {
        out.push(p);
        break;
      }
    }
  }
  return out;
}

/** `n` keys `prefix:i…` whose partition member `i` does not own (writes to them need no answer from it). */
function notOwnedBy(c: Cluster, i: number, prefix: string, n: number): string[] {
  const t = c.clusters[0]!.partitions!;
  const out: string[] = [];
  for (let k = 0; out.length < n; k++) if (t.owner(partitionOf(utf8(`${prefix}:${k}`), P)) !== c.names[i]) out.push(`${prefix}:${k}`);
  return out;
}

const repairAll = async (c: Cluster): Promise<void> => {
  for (const x of c.clusters) await x.repairNow();
};

/** Cuts member `i` off from every other (both ways) or heals (undefined). */
const cut = (c: Cluster, i: number | undefined): void =>
  c.net.setFilter(i === undefined ? undefined : (from, to) => from !== c.names[i] && to !== c.names[i]);

describe("partition digests", () => {
  test("the store hash is the digest's key hash, and digests do not depend on insertion order", () => {
    const mk = (order: number[]) => {
      const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(1), config: { partitionCount: P } });
      const sync = new EntrySync(node, new HybridClock(systemClock), systemClock);
      for (const i of order) sync.apply({ map: i % 2 ? "m" : "default", key: utf8(`k${i}`), value: utf8(`v${i}`), expireAt: 0, version: 1000 + i });
      sync.apply({ map: "default", key: utf8("gone"), value: null, expireAt: 0, version: 5000 });
      return { node, sync };
    };
    const a = mk([1, 2, 3, 4, 5, 6, 7, 8]);
    const b = mk([8, 7, 6, 5, 4, 3, 2, 1]);
    const t = a.node.db.table;
    for (let i = 0; i < t.hiWater; i++) if (t.isLive(i)) expect(t.hash[i]).toBe(hashBytes(t.keyView(i), 0, t.keyView(i).length));
    const all = Array.from({ length: P }, (_, p) => p);
    const da = digestPartitions(a.node, a.sync, P, all);
    const db = digestPartitions(b.node, b.sync, P, all);
    expect(Array.from(da.words)).toEqual(Array.from(db.words));
    // one different version shows in exactly one range of one partition
    b.sync.apply({ map: "m", key: utf8("k3"), value: utf8("new"), expireAt: 0, version: 9000 });
    const db2 = digestPartitions(b.node, b.sync, P, all);
    const p3 = partitionOf(utf8("k3"), P);
    const differing = all.flatMap((p) => Array.from({ length: DIGEST_RANGES }, (_, r) => (da.sameAs(db2, p, r) ? [] : [[p, r]])).flat());
    expect(differing).toEqual([[p3, (hashBytes(utf8("k3"), 0, 2) >>> 28) as number]]);
    // the entries of that range: the key and the other keys that share it, tombstones included
    const inRange = entriesInRanges(b.node, b.sync, P, [{ partition: p3, range: differing[0]![1]! }]);
    expect(inRange.some((e) => dec.decode(e.key) === "k3" && e.version === 9000)).toBe(true);
  });
});

describe("anti-entropy", () => {
  test("a replica that missed writes and deletes is repaired by one round with no client read; a second round finds nothing", async () => {
    const c = await startCluster(3, { replicaCount: 3, writeQuorum: 2 });
    const dels = notOwnedBy(c, 2, "del", 50);
    const keys = notOwnedBy(c, 2, "k", 200);
    for (const k of dels) expect(await call(c.nodes[0]!, "SET", k, "x")).toBe("+OK\r\n");
    cut(c, 2);
    for (let i = 0; i < keys.length; i++) expect(await call(c.nodes[i % 2]!, "SET", keys[i]!, `v${i}`)).toBe("+OK\r\n");
    for (const k of dels) expect(await call(c.nodes[0]!, "DEL", k)).toBe(":1\r\n");
    cut(c, undefined);
    expect(divergent(c).length).toBeGreaterThan(0);
    expect(c.nodes[2]!.db.get(keys[7]!)).toBeNull();
    await repairAll(c);
    expect(divergent(c)).toEqual([]);
    for (let i = 0; i < keys.length; i++) expect(dec.decode(c.nodes[2]!.db.get(keys[i]!)!)).toBe(`v${i}`);
    for (const k of dels) expect(c.nodes[2]!.db.get(k)).toBeNull();
    const stats = c.clusters.map((x) => x.repairs);
    expect(stats.reduce((n, s) => n + s.keysRepaired, 0)).toBeGreaterThanOrEqual(250);
    expect(stats.reduce((n, s) => n + s.divergentRanges, 0)).toBeGreaterThan(0);
    const before = stats.map((s) => s.divergentRanges);
    await repairAll(c);
    expect(c.clusters.map((x) => x.repairs.divergentRanges)).toEqual(before);
    // the view and /metrics carry the counters
    const view = c.nodes[0]!.clusterView()!;
    expect(view.antiEntropy.rounds).toBeGreaterThanOrEqual(2);
  });

  test("a round leaves writes younger than settleMs to replication (no divergence found, nothing re-sent), then repairs them", async () => {
    const c = await startCluster(3, { replicaCount: 3, writeQuorum: 2, settleMs: 400 });
    const keys = notOwnedBy(c, 2, "young", 100);
    cut(c, 2);
    for (let i = 0; i < keys.length; i++) expect(await call(c.nodes[i % 2]!, "SET", keys[i]!, `v${i}`)).toBe("+OK\r\n");
    cut(c, undefined);
    expect(divergent(c).length).toBeGreaterThan(0);
    await repairAll(c); // the writes are younger than 400 ms: as if still on their way
    const found = () => c.clusters.reduce((n, x) => n + x.repairs.divergentRanges, 0);
    const repaired = () => c.clusters.reduce((n, x) => n + x.repairs.keysRepaired, 0);
    expect([found(), repaired()]).toEqual([0, 0]);
    expect(c.nodes[2]!.db.get(keys[0]!)).toBeNull();
    await Bun.sleep(450);
    await repairAll(c);
    expect(found()).toBeGreaterThan(0);
    expect(repaired()).toBe(keys.length);
    expect(divergent(c)).toEqual([]);
    for (let i = 0; i < keys.length; i++) expect(dec.decode(c.nodes[2]!.db.get(keys[i]!)!)).toBe(`v${i}`);
  });

  test("a newer copy on a replica wins over the owner's, and reaches the other replica", async () => {
    const c = await startCluster(3, { replicaCount: 3, writeQuorum: 3 });
    const t = c.clusters[0]!.partitions!;
    let key = "x";
    for (let i = 0; t.owner(partitionOf(utf8(key), P)) !== c.names[0]; i++) key = `x${i}`;
    expect(await call(c.nodes[0]!, "SET", key, "old")).toBe("+OK\r\n");
    const replica = c.names.indexOf(t.replicas(partitionOf(utf8(key), P))[0]!);
    c.clusters[replica]!.sync.apply({ map: "default", key: utf8(key), value: utf8("newer"), expireAt: 0, version: c.clusters[replica]!.hlc.now() });
    await Bun.sleep(5); // a round compares versions up to its owner's clock: this one is stamped "now" on another node
    await c.clusters[0]!.repairNow();
    for (const n of c.nodes) expect(dec.decode(n.db.get(key)!)).toBe("newer");
  });

  test("tombstones seen on every holder are dropped everywhere; a grace period bounds the rest; no count cap", async () => {
    const c = await startCluster(3, { replicaCount: 3, writeQuorum: 3, confirmMinAgeMs: 0 });
    for (let i = 0; i < 300; i++) expect(await call(c.nodes[0]!, "SET", `t:${i}`, "x")).toBe("+OK\r\n");
    for (let i = 0; i < 300; i++) expect(await call(c.nodes[1]!, "DEL", `t:${i}`)).toBe(":1\r\n");
    expect(c.clusters.map((x) => x.sync.tombstoneCount())).toEqual([300, 300, 300]);
    await repairAll(c);
    expect(c.clusters.map((x) => x.sync.tombstoneCount())).toEqual([0, 0, 0]);
    expect(c.clusters.reduce((n, x) => n + x.repairs.tombstonesConfirmed, 0)).toBe(300);
    // a stale copy of a collected key that turns up at a holder now wins (documented: the grace period is the guard)
  });

  test("a tombstone a holder lacks is not collected; it is repaired instead", async () => {
    const c = await startCluster(3, { replicaCount: 3, writeQuorum: 2, confirmMinAgeMs: 0 });
    const keys = notOwnedBy(c, 2, "u", 20);
    for (const k of keys) expect(await call(c.nodes[0]!, "SET", k, "x")).toBe("+OK\r\n");
    cut(c, 2);
    for (const k of keys) expect(await call(c.nodes[0]!, "DEL", k)).toBe(":1\r\n");
    cut(c, undefined);
    expect(c.nodes[2]!.db.get(keys[3]!)).not.toBeNull();
    await repairAll(c); // this round repairs (n2 gets the deletes); nothing was alike yet, so nothing is collected
    for (const k of keys) expect(c.nodes[2]!.db.get(k)).toBeNull();
    await repairAll(c); // now every holder has them: collected
    expect(c.clusters.map((x) => x.sync.tombstoneCount())).toEqual([0, 0, 0]);
    for (const n of c.nodes) for (const k of keys) expect(n.db.get(k)).toBeNull();
  });

  test("a copy of a partition this node does not hold is handed to its holders, then dropped here", async () => {
    const c = await startCluster(3, { replicaCount: 2, writeQuorum: 2 });
    const t = c.clusters[0]!.partitions!;
    let key = "o";
    for (let i = 0; [t.owner(partitionOf(utf8(key), P)), ...t.replicas(partitionOf(utf8(key), P))].includes(c.names[0]!); i++) key = `o${i}`;
    // an orphan on n0, newer than anything the holders have
    c.clusters[0]!.sync.apply({ map: "default", key: utf8(key), value: utf8("orphan"), expireAt: 0, version: c.clusters[0]!.hlc.now() });
    await c.clusters[0]!.repairNow();
    expect(c.nodes[0]!.db.get(key)).toBeNull();
    expect(c.clusters[0]!.repairs.orphansMoved).toBe(1);
    const holders = [t.owner(partitionOf(utf8(key), P)), ...t.replicas(partitionOf(utf8(key), P))].map((h) => c.nodes[c.names.indexOf(h)]!);
    for (const n of holders) expect(dec.decode(n.db.get(key)!)).toBe("orphan");
  });
});

describe("hinted handoff", () => {
  test("writes a cut-off replica missed are kept as hints and delivered when it answers again", async () => {
    const c = await startCluster(3, { replicaCount: 3, writeQuorum: 2, hints: { maxEntries: 10_000, retryMs: 50 } });
    const keys = notOwnedBy(c, 2, "h", 100);
    cut(c, 2);
    for (let i = 0; i < keys.length; i++) expect(await call(c.nodes[0]!, "SET", keys[i]!, `v${i}`)).toBe("+OK\r\n");
    // a hint is kept once the unreachable replica's request has failed (its timeout), after the client got its answer
    const pending = () => c.clusters.reduce((n, x) => n + x.handoff.pending, 0);
    for (let i = 0; i < 100 && pending() < 100; i++) await Bun.sleep(20);
    expect(pending()).toBe(100);
    expect(c.nodes[2]!.db.get(keys[1]!)).toBeNull();
    cut(c, undefined);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && c.clusters.some((x) => x.handoff.pending > 0)) await Bun.sleep(20);
    expect(c.clusters.map((x) => x.handoff.pending)).toEqual([0, 0, 0]);
    for (let i = 0; i < keys.length; i++) expect(dec.decode(c.nodes[2]!.db.get(keys[i]!)!)).toBe(`v${i}`);
    expect(c.clusters.reduce((n, x) => n + x.handoff.delivered, 0)).toBe(100);
    expect(divergent(c)).toEqual([]);
  });

  test("hints are bounded by count and bytes; the oldest go (anti-entropy covers them)", async () => {
    const c = await startCluster(3, { replicaCount: 3, writeQuorum: 2, hints: { maxEntries: 30, maxBytes: 1 << 20, retryMs: 60_000 } });
    cut(c, 2);
    for (const k of notOwnedBy(c, 2, "b", 100)) expect(await call(c.nodes[0]!, "SET", k, "v")).toBe("+OK\r\n");
    await Bun.sleep(400); // the unreachable replica's requests time out: the hints are kept
    for (const x of c.clusters) expect(x.handoff.pending).toBeLessThanOrEqual(30);
    expect(c.clusters.reduce((n, x) => n + x.handoff.dropped, 0)).toBeGreaterThan(0);
    // the same key written again replaces its hint instead of adding one
    const stored = c.clusters.map((x) => x.handoff.pending);
    cut(c, undefined);
    await repairAll(c);
    expect(divergent(c)).toEqual([]);
    expect(stored.every((n) => n <= 30)).toBe(true);
  });
});
