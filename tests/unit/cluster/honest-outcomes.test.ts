/**
 * Honest outcomes (issue 15 part 5): a failed quorum write leaves no trace
 * where it can be undone, and says "outcome unknown" where it cannot; a
 * write a replica refuses for clock drift is neither applied there nor
 * acknowledged; a cluster SCAN survives membership changes.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type Clock, SeededRng, systemClock } from "../../../core/clock.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { decodeCursor, encodeCursor, parseScanReply } from "../../../core/cluster/cluster-scan.ts";
import { partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

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

interface Started {
  net: MemoryNetwork;
  names: string[];
  nodes: ShoalNode[];
  clusters: ClusterNode[];
}

/** Wall clock `offsetMs` away from the system's. */
const shifted = (offsetMs: number): Clock => ({
  now: () => Date.now() + offsetMs,
  monotonic: () => systemClock.monotonic(),
  setTimer: (ms, fn) => systemClock.setTimer(ms, fn),
});

async function addNode(s: Started, i: number, o: { replicaCount: number; writeQuorum: number; clock?: Clock }): Promise<void> {
  const name = `n${i}:3322`;
  const node = new ShoalNode({ clock: o.clock ?? systemClock, rng: new SeededRng(i + 1), config: { partitionCount: 31 } });
  node.start();
  const c = new ClusterNode({
    node,
    transport: s.net.transport(),
    clock: o.clock ?? systemClock,
    rng: new SeededRng(100 + i),
    self: name,
    seeds: [s.names[0] ?? name],
    timings: membershipTimings("lan", { probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200 }),
    replicaCount: o.replicaCount,
    writeQuorum: o.writeQuorum,
    memberCountQuorum: 1,
    partitionCount: 31,
    peerTimeoutMs: 300,
  });
  await c.start();
  s.names.push(name);
  s.nodes.push(node);
  s.clusters.push(c);
  running.push(c);
}

async function converged(s: Started): Promise<void> {
  const deadline = Date.now() + 10_000;
  const size = s.clusters.filter((c) => c.partitions !== null).length;
  while (Date.now() < deadline && !s.clusters.every((c) => c.partitions?.members.length === size)) await Bun.sleep(10);
  expect(s.clusters.map((c) => c.partitions?.members.length)).toEqual(s.clusters.map(() => size));
  for (let i = 0; i < 3; i++) for (const c of s.clusters) await c.settled();
}

async function startCluster(size: number, o: { replicaCount: number; writeQuorum: number; clocks?: (Clock | undefined)[] }): Promise<Started> {
  const s: Started = { net: new MemoryNetwork({ requestTimeoutMs: 1000 }), names: [], nodes: [], clusters: [] };
  for (let i = 0; i < size; i++) await addNode(s, i, { ...o, clock: o.clocks?.[i] });
  await converged(s);
  return s;
}

/** A key whose owner and replicas (in order) are the given member indexes. */
function keyHeldBy(s: Started, holders: number[], prefix = "k"): string {
  const table = s.clusters[0]!.partitions!;
  for (let i = 0; i < 100_000; i++) {
    const k = `${prefix}${i}`;
    const p = partitionOf(utf8(k), table.partitionCount);
    const got = [table.owner(p), ...table.replicas(p)];
    if (holders.every((h, j) => got[j] === s.names[h])) return k;
  }
  throw new Error("no such key");
}

const valueOn = (n: ShoalNode, key: string): string | null => {
  const v = n.db.get(key);
  return v === null ? null : dec.decode(v);
};

describe("a failed quorum write", () => {
  test("is undone on the replica that took it; a replica that did not answer makes the outcome unknown", async () => {
    const s = await startCluster(3, { replicaCount: 3, writeQuorum: 3 });
    const key = keyHeldBy(s, [0, 1, 2]);
    expect(await call(s.nodes[0]!, "SET", key, "before")).toBe("+OK\r\n");
    const cut = s.names[2]!;
    s.net.setFilter((from, to) => from !== cut && to !== cut);
    const reply = await call(s.nodes[0]!, "SET", key, "failed");
    expect(reply).toStartWith("-WRITEQUORUM 2 of 3 copies acknowledged the write");
    expect(reply).toContain(`outcome unknown: ${cut} did not confirm`);
    // the owner rolled back, and the replica that took the write was told to undo it: no read anywhere sees it
    expect(valueOn(s.nodes[0]!, key)).toBe("before");
    expect(valueOn(s.nodes[1]!, key)).toBe("before");
    expect(s.clusters[0]!.router.stats.unknownOutcomes).toBe(1);
    s.net.setFilter(undefined);
  });

  test("refused by a replica whose clock is far behind: not applied there, not acknowledged, undone everywhere (no trace)", async () => {
    // n2's wall clock is 2 minutes behind: the owner's versions are further ahead of it than the 60 s drift guard
    const s = await startCluster(3, { replicaCount: 3, writeQuorum: 3, clocks: [undefined, undefined, shifted(-120_000)] });
    const key = keyHeldBy(s, [0, 1, 2], "d");
    const reply = await call(s.nodes[0]!, "SET", key, "ahead");
    expect(reply).toStartWith("-WRITEQUORUM 2 of 3 copies acknowledged the write");
    expect(reply).toContain("nothing was applied: undone on every copy");
    for (const n of s.nodes) expect(valueOn(n, key)).toBeNull();
    expect(s.clusters[0]!.router.stats.unknownOutcomes).toBe(0);
    // the same replica refuses non-quorum copies from the future too (rebalance, repair): it keeps nothing it cannot order
    const stale = s.clusters[2]!.sync;
    const before = stale.driftRefused;
    expect(stale.apply({ map: "default", key: utf8(key), value: utf8("x"), expireAt: 0, version: (Date.now() + 1000) * 4096 })).toBe(false);
    expect(stale.driftRefused).toBe(before + 1);
    expect(valueOn(s.nodes[2]!, key)).toBeNull();
  });

  test("W=2 of RF=2 with only a drifted replica: WRITEQUORUM, and the replica never holds the value", async () => {
    const s = await startCluster(2, { replicaCount: 2, writeQuorum: 2, clocks: [undefined, shifted(-120_000)] });
    const key = keyHeldBy(s, [0, 1], "w");
    expect(await call(s.nodes[1]!, "SET", key, "v")).toStartWith("-WRITEQUORUM 1 of 2");
    expect(valueOn(s.nodes[1]!, key)).toBeNull();
    expect(valueOn(s.nodes[0]!, key)).toBeNull();
  });
});

describe("cluster SCAN", () => {
  test("cursors encode partition, position and owner; a bad cursor is refused like Redis", async () => {
    const c = { partition: 17, position: 123_456, tag: 0xabcd };
    expect(decodeCursor(encodeCursor(c, 31), 31)).toEqual(c);
    expect(Number.isSafeInteger(Number(encodeCursor({ partition: 270, position: 2 ** 28 - 1, tag: 0xffff }, 271)))).toBe(true);
    expect(() => encodeCursor({ partition: 0, position: 2 ** 40, tag: 0 }, 271)).toThrow(RangeError);
    expect(decodeCursor("18446744073709551616", 31)).toBeNull();
    expect(decodeCursor("abc", 31)).toBeNull();
    expect(parseScanReply(enc.encode("*2\r\n:5\r\n*2\r\n$1\r\na\r\n$2\r\nbc\r\n"))).toEqual({ cursor: 5, keys: [utf8("a"), utf8("bc")] });
    expect(parseScanReply(enc.encode("-TRYAGAIN x\r\n"))).toBeNull();
    const s = await startCluster(2, { replicaCount: 2, writeQuorum: 1 });
    expect(await call(s.nodes[0]!, "SCAN", "abc")).toStartWith("-ERR invalid cursor");
    expect(await call(s.nodes[0]!, "SCAN", "0", "COUNT", "0")).toStartWith("-ERR");
  });

  test("a scan across a join and a leave returns every key present throughout, through any node", async () => {
    const s = await startCluster(3, { replicaCount: 2, writeQuorum: 1 });
    const keys = Array.from({ length: 400 }, (_, i) => `scan:${i}`);
    for (const k of keys) expect(await call(s.nodes[i0(k)]!, "SET", k, "v")).toBe("+OK\r\n");
    const seen = new Set<string>();
    let cursor = "0";
    let calls = 0;
    const step = async (via: ShoalNode): Promise<void> => {
      let r = await call(via, "SCAN", cursor, "COUNT", "25");
      // while the table changes a call may get a retryable error (TRYAGAIN, a forward that timed out): a client retries
      for (let i = 0; i < 50 && r.startsWith("-"); i++) {
        await Bun.sleep(50);
        r = await call(via, "SCAN", cursor, "COUNT", "25");
      }
      const page = parseRespScan(r);
      cursor = page.cursor;
      for (const k of page.keys) seen.add(k);
      calls++;
    };
    for (let i = 0; i < 4; i++) await step(s.nodes[0]!);
    // a fourth member joins: the table changes under the running scan
    await addNode(s, 3, { replicaCount: 2, writeQuorum: 1 });
    await converged(s);
    for (let i = 0; i < 4 && cursor !== "0"; i++) await step(s.nodes[1]!);
    // and one leaves
    const gone = s.clusters.splice(2, 1)[0]!;
    s.nodes.splice(2, 1);
    s.names.splice(2, 1);
    await gone.leave();
    await converged(s);
    while (cursor !== "0" && calls < 2000) await step(s.nodes[calls % s.nodes.length]!);
    expect(cursor).toBe("0");
    expect(keys.filter((k) => !seen.has(k))).toEqual([]);
  });
});

/** The entry node for a key in the scan test (any node works: spread the writes). */
function i0(k: string): number {
  return k.length % 3;
}

/** A RESP2 SCAN reply: bulk cursor and an array of bulk keys. */
function parseRespScan(r: string): { cursor: string; keys: string[] } {
  const lines = r.split("\r\n");
  if (lines[0] !== "*2") throw new Error(`not a SCAN reply: ${r.slice(0, 200)}`);
  const cursor = lines[2]!;
  const n = Number(lines[3]!.slice(1));
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(lines[5 + 2 * i]!);
  return { cursor, keys };
}
