/**
 * The embedded API as a cluster member, in process: `Shoal.start({
 * transport, self, peers, cluster })` members on the memory transport
 * (RF=2 W=2), alone and next to a server-style node with an HTTP app. A
 * write through one member's `dmap()` is owned and replicated (two copies),
 * reads back through every member and over HTTP; deletes, TTLs, counters,
 * scans, size, clear, locks and publish are cluster-wide; the local `map()`
 * refuses in a cluster; a member that leaves hands its copies off.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { Shoal, ShoalError } from "../../../core/mod.ts";
import { ShoalNode } from "../../../core/node.ts";
import { createStaticDiscovery } from "../../../plugins/discovery/static.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const dec = new TextDecoder();
const text = (b: Uint8Array | null) => (b === null ? null : dec.decode(b));
const started: Shoal[] = [];
const servers: ClusterNode[] = [];

afterEach(async () => {
  for (const s of started.splice(0)) await s.stop().catch(() => undefined);
  for (const c of servers.splice(0)) await c.stop();
});

const FAST = { preset: "lan" as const, probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200, peerTimeoutMs: 300, leaveTimeoutMs: 2000 };

async function members(net: MemoryNetwork, n: number, extra: { user?: string; aclLines?: string[] } = {}): Promise<Shoal[]> {
  const names = Array.from({ length: n }, (_, i) => `e${i}:3322`);
  const out: Shoal[] = [];
  for (let i = 0; i < n; i++) {
    const s = await Shoal.start({
      config: extra.aclLines ? { aclLines: extra.aclLines } : undefined,
      rng: new SeededRng(i + 1),
      transport: net.transport(),
      self: names[i],
      peers: [names[0]!],
      cluster: { replicaCount: 2, writeQuorum: 2, partitionCount: 31, ...FAST },
      user: extra.user,
    });
    started.push(s);
    out.push(s);
  }
  await converge(out.map((s) => s.cluster!), n);
  return out;
}

async function converge(clusters: ClusterNode[], n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !clusters.every((c) => c.partitions?.members.length === n)) await Bun.sleep(10);
  for (const c of clusters) await c.settled();
  expect(clusters.map((c) => c.partitions?.members.length)).toEqual(clusters.map(() => n));
}

/** A key whose partition is owned by `owner` (a member name). */
function keyOwnedBy(c: ClusterNode, owner: string, prefix: string): string {
  const t = c.partitions!;
  for (let i = 0; i < 100_000; i++) if (t.owner(partitionOf(utf8(`${prefix}${i}`), t.partitionCount)) === owner) return `${prefix}${i}`;
  throw new Error("no such key");
}

const copies = (ss: Shoal[], map: string, key: string) => ss.filter((s) => s.node.findMap(map)?.get(key) != null).length;

describe("embedded members in a cluster (memory transport, RF=2 W=2)", () => {
  test("dmap writes are owned and replicated, read back through every member; deletes, TTL, counters and getPut are cluster-wide", async () => {
    const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
    const ss = await members(net, 3);
    for (let owner = 0; owner < 3; owner++) {
      const writer = ss[(owner + 1) % 3]!;
      const key = keyOwnedBy(ss[0]!.cluster!, `e${owner}:3322`, `u${owner}-`);
      expect(await writer.dmap("users").put(key, `v${owner}`, { ttlMs: 60_000 })).toBe(true);
      expect(copies(ss, "users", key)).toBe(2);
      for (const s of ss) {
        expect(text(await s.dmap("users").get(key))).toBe(`v${owner}`);
        const ttl = await s.dmap("users").ttl(key);
        expect(ttl).toBeGreaterThan(55_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      expect(await ss[owner]!.dmap("users").put(key, "x", { nx: true })).toBe(false);
      expect(await ss[owner]!.dmap("users").put(`${key}-absent`, "x", { xx: true })).toBe(false);
      expect(await ss[2]!.dmap("users").persist(key)).toBe(true);
      expect(await ss[0]!.dmap("users").ttl(key)).toBe(-1);
      expect(await ss[1]!.dmap("users").put(key, "kept", { keepTtl: true })).toBe(true);
      expect(text(await ss[0]!.dmap("users").getPut(key, "new"))).toBe("kept");
      expect(await ss[(owner + 2) % 3]!.dmap("users").delete(key)).toBe(true);
      expect(copies(ss, "users", key)).toBe(0);
      for (const s of ss) expect(await s.dmap("users").get(key)).toBeNull();
      expect(await ss[0]!.dmap("users").delete(key)).toBe(false);
    }
    const counter = ss[0]!.dmap("counters");
    expect(await counter.incrBy("hits", 5)).toBe(5n);
    expect(await ss[1]!.dmap("counters").incrBy("hits", 2n)).toBe(7n);
    expect(await ss[2]!.dmap("counters").incrByFloat("f", 1.5)).toBe("1.5");
    expect(await ss[2]!.dmap("counters").expire("hits", 100_000)).toBe(true);
    expect(await ss[0]!.dmap("counters").expire("nope", 100_000)).toBe(false);
    expect(await ss[1]!.dmap("counters").expireAt("hits", Date.now() - 1)).toBe(true);
    expect(await ss[2]!.dmap("counters").get("hits")).toBeNull();
    await ss[0]!.dmap("users").put("s", "abc");
    await expect(ss[1]!.dmap("users").incrBy("s", 1)).rejects.toThrow(ShoalError);
  });

  test("scan, size and clear cover every member; locks are cluster-wide; publish reaches subscribers of every member", async () => {
    const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
    const ss = await members(net, 3);
    const keys = Array.from({ length: 50 }, (_, i) => `item-${i}`);
    for (let i = 0; i < keys.length; i++) await ss[i % 3]!.dmap("cart").put(keys[i]!, String(i));
    for (const s of ss) {
      expect(await s.dmap("cart").size()).toBe(50);
      const seen: string[] = [];
      let cursor = 0;
      for (let page = 0; page < 1000; page++) {
        const p = await s.dmap("cart").scan(cursor, 9);
        seen.push(...p.keys.map((k) => dec.decode(k)));
        cursor = p.cursor;
        if (cursor === 0) break;
      }
      expect(seen.sort()).toEqual([...keys].sort());
    }
    await ss[1]!.dmap("cart").clear();
    for (const s of ss) expect(await s.dmap("cart").size()).toBe(0);

    const grant = await ss[0]!.dmap("locks").lock("job", 10_000, 0);
    expect(grant).not.toBeNull();
    expect(grant!.fencing).toBeGreaterThan(0);
    expect(await ss[2]!.dmap("locks").lock("job", 10_000, 0)).toBeNull();
    expect(await ss[1]!.dmap("locks").lockLease("job", grant!.token, 20_000)).toBe(true);
    expect(await ss[1]!.dmap("locks").unlock("job", "0:bad")).toBe(false);
    expect(await ss[2]!.dmap("locks").unlock("job", grant!.token)).toBe(true);
    expect(await ss[2]!.dmap("locks").lock("job", 10_000, 0)).not.toBeNull();

    const got: string[] = [];
    const off = ss[2]!.pubsub.subscribe("news", (_ch, msg) => got.push(dec.decode(msg)));
    expect(await ss[0]!.publish("news", "hello")).toBe(1);
    expect(got).toEqual(["hello"]);
    off();
    expect(() => ss[0]!.pubsub.publish("news", "x")).toThrow(/shoal.publish/);
  });

  test("the local map() refuses in a cluster; alone it is the synchronous local map and dmap() wraps it", async () => {
    const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
    const [member] = await members(net, 1);
    expect(() => member!.map("users")).toThrow(/dmap/);
    const alone = await Shoal.start();
    started.push(alone);
    expect(alone.clustered).toBe(false);
    alone.map("users").put("a", "1");
    expect(text(await alone.dmap("users").get("a"))).toBe("1");
    expect(await alone.dmap("users").put("b", "2", { ttlMs: 1000 })).toBe(true);
    expect(alone.map("users").ttl("b")).toBeGreaterThan(0);
    expect(await alone.publish("ch", "m")).toBe(0);
    await expect(Shoal.start({ peers: ["x:1"] })).rejects.toThrow(/transport/);
    await expect(Shoal.start({ transport: net.transport(), self: "bad:1", cluster: { replicaCount: 1, writeQuorum: 2 } })).rejects.toThrow(/writeQuorum/);
    await expect(Shoal.start({ user: "nobody" })).rejects.toThrow(/nobody/);
  });

  test("embedded members and a server node share one cluster: HTTP on the server sees embedded writes and the other way round", async () => {
    const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
    const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(9), config: { partitionCount: 31 } });
    node.start();
    const server = new ClusterNode({
      node,
      transport: net.transport(),
      clock: systemClock,
      rng: new SeededRng(99),
      self: "srv:3322",
      seeds: ["srv:3322"],
      timings: membershipTimings("lan", { probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200 }),
      replicaCount: 2,
      writeQuorum: 2,
      memberCountQuorum: 1,
      partitionCount: 31,
      peerTimeoutMs: 300,
    });
    await server.start();
    servers.push(server);
    const app = createHttpApp(node, { keepAliveMs: 0 });
    const embedded: Shoal[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await Shoal.start({
        rng: new SeededRng(i + 20),
        transport: net.transport(),
        self: `m${i}:3322`,
        peers: ["srv:3322"],
        cluster: { replicaCount: 2, writeQuorum: 2, partitionCount: 31, ...FAST },
      });
      started.push(s);
      embedded.push(s);
    }
    await converge([server, ...embedded.map((s) => s.cluster!)], 3);
    for (let i = 0; i < 30; i++) expect(await embedded[i % 2]!.dmap("mixed").put(`k${i}`, `v${i}`)).toBe(true);
    for (let i = 0; i < 30; i++) {
      const r = await app.request(`http://shoal/v1/maps/mixed/keys/k${i}`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(`v${i}`);
    }
    expect((await app.request("http://shoal/v1/maps/mixed/keys/from-http", { method: "PUT", body: "h" })).status).toBe(204);
    for (const s of embedded) expect(text(await s.dmap("mixed").get("from-http"))).toBe("h");
    // a graceful leave hands the member's copies off: nothing is lost
    await embedded[0]!.stop();
    await converge([server, embedded[1]!.cluster!], 2);
    for (let i = 0; i < 30; i++) expect(text(await embedded[1]!.dmap("mixed").get(`k${i}`))).toBe(`v${i}`);
  });

  test("a discovery plugin seeds the member (as serve --discovery does)", async () => {
    const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
    const [first] = await members(net, 1);
    const quiet = { info() {}, warn() {}, error() {} };
    const discovery = createStaticDiscovery({ peers: ["e0:3322"], resolveInterval: 30_000 }, quiet, async (host) => [host]);
    const joined = await Shoal.start({
      rng: new SeededRng(7),
      transport: net.transport(),
      self: "d1:3322",
      discovery,
      cluster: { replicaCount: 2, writeQuorum: 2, partitionCount: 31, ...FAST },
    });
    started.push(joined);
    await converge([first!.cluster!, joined.cluster!], 2);
    expect(await joined.dmap("m").put("k", "v")).toBe(true);
    expect(text(await first!.dmap("m").get("k"))).toBe("v");
  });

  test("the member's commands run as its ACL user on every node", async () => {
    const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
    const aclLines = ["user default on nopass ~* &* +@all", "user app on >pw ~carts/* &* +@all"];
    const ss = await members(net, 2, { user: "app", aclLines });
    const other = keyOwnedBy(ss[0]!.cluster!, "e1:3322", "k");
    expect(await ss[0]!.dmap("carts").put(other, "ok")).toBe(true);
    await expect(ss[0]!.dmap("orders").put(other, "no")).rejects.toMatchObject({ prefix: "NOPERM" });
  });
});
