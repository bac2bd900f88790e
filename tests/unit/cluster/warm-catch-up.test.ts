/**
 * Warm restart in a cluster (issue 14 part 3): a node killed and restarted
 * with its snapshot catches up only what changed while it was away (by
 * partition digest), drops what the cluster forgot meanwhile (deletes whose
 * tombstones were collected), and ends up holding what a fresh node's full
 * pull would give it. In-process cluster over the memory transport.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";
import { loadSnapshot } from "../../../core/snapshot/load.ts";
import type { ClusterCut } from "../../../core/snapshot/writer.ts";
import { SnapshotWriter } from "../../../core/snapshot/writer.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const P = 31;
const KEYS = 3000;

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

const net = (): MemoryNetwork => new MemoryNetwork({ requestTimeoutMs: 1000 });
const names = ["n0:3322", "n1:3322", "n2:3322"];

/** Starts member `i` (optionally from a loaded snapshot) on `network`. */
async function member(network: MemoryNetwork, i: number, restored?: { node: ShoalNode; cut: ClusterCut }): Promise<ClusterNode> {
  const node = restored?.node ?? new ShoalNode({ clock: systemClock, rng: new SeededRng(i + 1), config: { partitionCount: P } });
  node.start();
  const cl = new ClusterNode({
    node,
    transport: network.transport(),
    clock: systemClock,
    rng: new SeededRng(100 + i + (restored ? 50 : 0)),
    self: names[i]!,
    seeds: names,
    // fast failure detection: the survivors declare a killed member dead within a second or two
    timings: membershipTimings("local", { probeIntervalMs: 100, probeTimeoutMs: 50, gossipIntervalMs: 20, pushPullIntervalMs: 200, gossipToTheDeadMs: 60_000 }),
    replicaCount: 2,
    writeQuorum: 2,
    memberCountQuorum: 1,
    partitionCount: P,
    peerTimeoutMs: 300,
    antiEntropy: { intervalMs: 0 },
    hints: { maxEntries: 0 },
    restored: restored?.cut,
  });
  running.push(cl);
  await cl.start();
  return cl;
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A snapshot of member `cl`'s node, in memory. */
function snapshotOf(cl: ClusterNode): Uint8Array {
  const node = cl.node;
  const parts: Uint8Array[] = [];
  const w = new SnapshotWriter({
    maps: node.mapNames().map((n) => [n, node.map(n)] as const),
    nodeName: "n2",
    partitionCount: P,
    now: Date.now(),
    cluster: cl.snapshotState(),
    sink: (b) => parts.push(b.slice()),
  });
  while (!w.step(10_000));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Every live key → value of the default map on a node. */
function localContents(node: ShoalNode): Map<string, string> {
  const out = new Map<string, string>();
  const t = node.db.table;
  for (let i = 0; i < t.hiWater; i++) if (t.isLive(i)) out.set(dec.decode(t.key(i)), dec.decode(t.value(i)));
  return out;
}

/** What the other members hold of the partitions `cl` holds (in `cl`'s table): key → value. */
function expectedFor(cl: ClusterNode, others: ClusterNode[]): Map<string, string> {
  const t = cl.partitions!;
  const want = new Map<string, string>();
  for (const o of others) {
    for (const [k, v] of localContents(o.node)) {
      if (!holdersOf(t, k).includes(names[2]!)) continue;
      const had = want.get(k);
      if (had !== undefined && had !== v) throw new Error(`${k}: the other holders disagree (${had} vs ${v})`);
      want.set(k, v);
    }
  }
  return want;
}

function holdersOf(t: NonNullable<ClusterNode["partitions"]>, key: string): string[] {
  const p = partitionOf(utf8(key), P);
  return [t.owner(p), ...t.replicas(p)];
}

describe("warm restart in a cluster", () => {
  test("a member killed and restarted from its snapshot moves only what changed, and forgets what the cluster forgot", async () => {
    const network = net();
    const c0 = await member(network, 0);
    const c1 = await member(network, 1);
    let c2 = await member(network, 2);
    await until(() => [c0, c1, c2].every((c) => c.partitions?.members.length === 3), "a 3-member table everywhere");
    for (let i = 0; i < KEYS; i++) expect(await call(c0.node, "SET", `k${i}`, `v${i}`)).toBe("+OK\r\n");
    // deleted before the snapshot: the tombstone travels with it
    expect(await call(c0.node, "DEL", "k0")).toBe(":1\r\n");
    const bytes = snapshotOf(c2);
    const heldBefore = c2.node.db.size();
    expect(heldBefore).toBeGreaterThan(KEYS / 2);

    // kill -9: no leave; the survivors declare it dead and go on
    await c2.stop();
    running.splice(running.indexOf(c2), 1);
    await until(() => [c0, c1].every((c) => c.partitions?.members.length === 2), "the survivors' 2-member table");
    for (let i = 1; i <= 100; i++) expect(await call(c0.node, "SET", `k${i}`, `changed${i}`)).toBe("+OK\r\n");
    for (let i = 101; i <= 150; i++) expect(await call(c0.node, "DEL", `k${i}`)).toBe(":1\r\n");
    for (let i = 0; i < 80; i++) expect(await call(c0.node, "SET", `new${i}`, `n${i}`)).toBe("+OK\r\n");
    // deletes whose tombstones the cluster collected meanwhile (anti-entropy's confirmed collection, here by hand)
    for (let i = 151; i <= 170; i++) expect(await call(c0.node, "DEL", `k${i}`)).toBe(":1\r\n");
    for (const c of [c0, c1]) for (let i = 151; i <= 170; i++) c.sync.forget("default", utf8(`k${i}`), c.sync.current("default", utf8(`k${i}`)).version);

    // restart from the snapshot
    const pushedBefore = c0.rebalanced + c1.rebalanced;
    const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(9), config: { partitionCount: P } });
    const loaded = loadSnapshot(node, [bytes], Date.now());
    expect(loaded.keys).toBe(heldBefore);
    c2 = await member(network, 2, { node, cut: loaded.cluster });
    await until(() => [c0, c1, c2].every((c) => c.partitions?.members.length === 3), "the 3-member table again");
    for (const c of [c0, c1, c2]) await c.settled();

    const warm = c2.warm!;
    expect(warm).not.toBeNull();
    expect(c2.pulled).toBe(0); // no full pull
    // only what changed travelled: the survivors push what differs by key-hash bucket (a few keys each), the restarted
    // member fetches what is newer; far from the ~2000 entries it holds, pushed and pulled again as on a fresh join
    const moved = c0.rebalanced + c1.rebalanced - pushedBefore + warm.received;
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(heldBefore / 2);
    // the deletes whose tombstones were collected are gone here too (never resurrected)
    expect(warm.dropped).toBeGreaterThan(0);
    expect(localContents(c2.node)).toEqual(expectedFor(c2, [c0, c1]));
    for (let i = 151; i <= 170; i++) expect(await call(c2.node, "GET", `k${i}`)).toBe("$-1\r\n");
    expect(await call(c2.node, "GET", "k5")).toBe("$8\r\nchanged5\r\n");
    expect(await call(c2.node, "GET", "k0")).toBe("$-1\r\n");
    // the migration view shows it
    const view = c2.node.clusterView() as { migration: { warm: { fetched: number } | null } };
    expect(view.migration.warm?.fetched).toBe(warm.fetched);
  }, 60_000);

  test("a fresh member (no snapshot) pulls everything it holds; the cluster view says so", async () => {
    const network = net();
    const c0 = await member(network, 0);
    const c1 = await member(network, 1);
    await until(() => [c0, c1].every((c) => c.partitions?.members.length === 2), "a 2-member table");
    for (let i = 0; i < 500; i++) await call(c0.node, "SET", `k${i}`, `v${i}`);
    const c2 = await member(network, 2);
    await until(() => [c0, c1, c2].every((c) => c.partitions?.members.length === 3), "a 3-member table");
    expect(c2.warm).toBeNull();
    expect(c2.pulled).toBeGreaterThanOrEqual(c2.node.db.size());
    expect(c2.pulledBytes).toBeGreaterThan(0);
  }, 60_000);
});
