/**
 * The HTTP API as a cluster front door, in process: three real ShoalNodes
 * with ClusterNodes on the memory transport (RF=2, W=2) and one HTTP app
 * each. A key PUT through any node is owned, replicated and readable
 * through every node (HTTP and RESP); DELETE, map listing, map deletion,
 * scans and publish are cluster-wide; an SSE subscriber on one node gets a
 * publish made on another; cluster errors map to their HTTP status with
 * Retry-After; an ACL user is refused a forwarded key outside its patterns;
 * MOVED never reaches an HTTP client.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { type NodeSettings, ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";
import { SseReader } from "../../unit/http/sse-reader.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Member {
  node: ShoalNode;
  cluster: ClusterNode;
  app: ReturnType<typeof createHttpApp>;
  name: string;
}

const running: ClusterNode[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

async function startCluster(
  opts: { size?: number; redirects?: "auto" | "always" | "never"; config?: (i: number) => Partial<NodeSettings>; auth?: boolean } = {},
): Promise<{ net: MemoryNetwork; members: Member[] }> {
  const size = opts.size ?? 3;
  const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
  const names = Array.from({ length: size }, (_, i) => `h${i}:3322`);
  const timings = membershipTimings("lan", { probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200 });
  const members: Member[] = [];
  for (let i = 0; i < size; i++) {
    const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(i + 1), config: { partitionCount: 31, ...opts.config?.(i) } });
    node.start();
    const cluster = new ClusterNode({
      node,
      transport: net.transport(),
      clock: systemClock,
      rng: new SeededRng(100 + i),
      self: names[i]!,
      seeds: [names[0]!],
      timings,
      replicaCount: 2,
      writeQuorum: 2,
      redirects: opts.redirects,
      clientAddress: { host: "127.0.0.1", port: 7000 + i },
      memberCountQuorum: 1,
      partitionCount: 31,
      peerTimeoutMs: 300,
    });
    await cluster.start();
    running.push(cluster);
    const app = createHttpApp(node, { keepAliveMs: 0, auth: opts.auth ? node : undefined });
    members.push({ node, cluster, app, name: names[i]! });
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !members.every((m) => m.cluster.partitions?.members.length === size)) await Bun.sleep(10);
  for (const m of members) await m.cluster.settled();
  expect(members.map((m) => m.cluster.partitions?.members.length)).toEqual(members.map(() => size));
  return { net, members };
}

/** A key of `prefix` whose partition owner is member `owner` (and, if given, first replica `replica`). */
function keyOwnedBy(members: Member[], owner: number, prefix = "k", replica?: number): string {
  const table = members[0]!.cluster.partitions!;
  for (let i = 0; i < 100_000; i++) {
    const k = `${prefix}${i}`;
    const p = partitionOf(utf8(k), table.partitionCount);
    if (table.owner(p) !== members[owner]!.name) continue;
    if (replica !== undefined && table.replicas(p)[0] !== members[replica]!.name) continue;
    return k;
  }
  throw new Error("no such key");
}

/** One RESP command through a fresh client session; resolves with the reply text. */
function resp(node: ShoalNode, ...argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${argv.join(" ")}`)), 5000);
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

const url = (path: string) => `http://shoal${path}`;

/** Every key of map `cart` through one node's HTTP scan, following the cursor. */
async function scanAll(m: Member, query: string): Promise<string[]> {
  const seen: string[] = [];
  let cursor = 0;
  for (let page = 0; page < 1000; page++) {
    const r = (await (await m.app.request(url(`/v1/maps/cart/keys?cursor=${cursor}&${query}`))).json()) as { cursor: number; keys: string[] };
    seen.push(...r.keys);
    cursor = r.cursor;
    if (cursor === 0) return seen;
  }
  throw new Error("scan did not end");
}
const localHolders = (members: Member[], map: string, key: string) => members.filter((m) => m.node.findMap(map)?.get(key) != null).map((m) => m.name);

describe("HTTP through the cluster (3 nodes, RF=2 W=2, memory transport)", () => {
  test("PUT through a non-owner is owned, replicated, read back through every node over HTTP and RESP; DELETE is seen everywhere", async () => {
    const { members } = await startCluster();
    for (let owner = 0; owner < 3; owner++) {
      const entry = (owner + 1) % 3;
      const key = keyOwnedBy(members, owner, `web${owner}-`);
      const w = await members[entry]!.app.request(url(`/v1/maps/web/keys/${key}?ttl=100s`), { method: "PUT", body: `v-${key}` });
      expect(w.status).toBe(204);
      // owner + one replica hold it right after the acknowledged write (W=2)
      expect(localHolders(members, "web", key)).toContain(members[owner]!.name);
      expect(localHolders(members, "web", key)).toHaveLength(2);
      for (const m of members) {
        const r = await m.app.request(url(`/v1/maps/web/keys/${key}`));
        expect(r.status).toBe(200);
        expect(await r.text()).toBe(`v-${key}`);
        expect(r.headers.get("etag")).toBe(w.headers.get("etag"));
        const ttl = Number(r.headers.get("x-shoal-ttl-ms"));
        expect(ttl).toBeGreaterThan(90_000);
        expect(ttl).toBeLessThanOrEqual(100_000);
        const hit = await m.app.request(url(`/v1/maps/web/keys/${key}`), { headers: { "if-none-match": w.headers.get("etag")! } });
        expect(hit.status).toBe(304);
        expect(await resp(m.node, "DM.GET", "web", key)).toBe(`$${`v-${key}`.length}\r\nv-${key}\r\n`);
      }
      // the default map is the one plain Redis commands use
      const dk = keyOwnedBy(members, owner, `plain${owner}-`);
      expect((await members[entry]!.app.request(url(`/v1/maps/default/keys/${dk}`), { method: "PUT", body: "p" })).status).toBe(204);
      for (const m of members) expect(await resp(m.node, "GET", dk)).toBe("$1\r\np\r\n");

      const d = await members[(owner + 2) % 3]!.app.request(url(`/v1/maps/web/keys/${key}`), { method: "DELETE" });
      expect(d.status).toBe(204);
      expect(localHolders(members, "web", key)).toEqual([]);
      for (const m of members) {
        expect((await m.app.request(url(`/v1/maps/web/keys/${key}`))).status).toBe(404);
        expect(await resp(m.node, "DM.GET", "web", key)).toStartWith("-KEYNOTFOUND");
      }
      expect((await members[entry]!.app.request(url(`/v1/maps/web/keys/${key}`), { method: "DELETE" })).status).toBe(404);
    }
  });

  test("NX/XX go to the owner (412 when not met); a value written over RESP is read over HTTP anywhere", async () => {
    const { members } = await startCluster();
    const key = keyOwnedBy(members, 2, "nx");
    expect((await members[0]!.app.request(url(`/v1/maps/m/keys/${key}?xx=1`), { method: "PUT", body: "a" })).status).toBe(412);
    expect((await members[0]!.app.request(url(`/v1/maps/m/keys/${key}?nx=1`), { method: "PUT", body: "a" })).status).toBe(204);
    const again = await members[1]!.app.request(url(`/v1/maps/m/keys/${key}`), { method: "PUT", body: "b", headers: { "if-none-match": "*" } });
    expect(again.status).toBe(412);
    expect(await again.json()).toMatchObject({ error: "KEYFOUND" });
    expect(await resp(members[1]!.node, "DM.PUT", "m", key, "from-resp")).toBe("+OK\r\n");
    expect(await (await members[0]!.app.request(url(`/v1/maps/m/keys/${key}`))).text()).toBe("from-resp");
  });

  test("map listing, key scans and map deletion cover the whole cluster, each key once", async () => {
    const { members } = await startCluster();
    const keys = Array.from({ length: 60 }, (_, i) => `item-${i}`);
    for (let i = 0; i < keys.length; i++) {
      const r = await members[i % 3]!.app.request(url(`/v1/maps/cart/keys/${keys[i]}`), { method: "PUT", body: String(i) });
      expect(r.status).toBe(204);
    }
    // every node holds only its share (owner + replica copies), yet each lists all 60 once
    for (const m of members) expect(m.node.findMap("cart")!.size()).toBeLessThan(60);
    for (const m of members) {
      const list = (await (await m.app.request(url("/v1/maps"))).json()) as { maps: { name: string; size: number }[] };
      expect(list.maps.find((x) => x.name === "cart")).toEqual({ name: "cart", size: 60 });
      expect((await scanAll(m, "count=7")).sort()).toEqual([...keys].sort());
      expect((await scanAll(m, "count=10000&match=item-1*")).sort()).toEqual(keys.filter((k) => k.startsWith("item-1")).sort());
    }
    const del = await members[1]!.app.request(url("/v1/maps/cart"), { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ map: "cart", removed: 60 });
    for (const m of members) {
      expect(m.node.findMap("cart")?.size() ?? 0).toBe(0);
      expect((await m.app.request(url(`/v1/maps/cart/keys/${keys[0]}`))).status).toBe(404);
      const list = (await (await m.app.request(url("/v1/maps"))).json()) as { maps: { name: string }[] };
      expect(list.maps.map((x) => x.name)).not.toContain("cart");
    }
    expect((await members[2]!.app.request(url("/v1/maps/cart"), { method: "DELETE" })).status).toBe(404);
  });

  test("an SSE subscriber on one node receives what is published over HTTP and RESP on the others", async () => {
    const { members } = await startCluster();
    const r = await members[2]!.app.request(url("/v1/pubsub/news"));
    expect(r.status).toBe(200);
    const reader = new SseReader(r.body!);
    expect((await reader.next()).event).toBe("subscribed");
    const pub = await members[0]!.app.request(url("/v1/pubsub/news"), { method: "POST", body: "from node 0 over HTTP" });
    expect(pub.status).toBe(200);
    expect(await pub.json()).toEqual({ receivers: 1 });
    expect(await reader.next()).toEqual({ event: "message", data: "from node 0 over HTTP" });
    expect(await resp(members[1]!.node, "PUBLISH", "news", "from node 1 over RESP")).toBe(":1\r\n");
    expect(await reader.next()).toEqual({ event: "message", data: "from node 1 over RESP" });
    await reader.cancel();
  });

  test("cluster errors keep their meaning: WRITEQUORUM is 503 with Retry-After and the write is not visible", async () => {
    const { net, members } = await startCluster();
    const key = keyOwnedBy(members, 1, "wq", 2);
    // the owner's replica is cut off: the write cannot reach W=2
    net.setFilter((from, to) => !(from === members[1]!.name && to === members[2]!.name));
    const w = await members[1]!.app.request(url(`/v1/maps/m/keys/${key}`), { method: "PUT", body: "lost" });
    expect(w.status).toBe(503);
    expect(w.headers.get("retry-after")).toBe("1");
    expect(w.headers.get("content-type")).toBe("application/problem+json");
    expect(await w.json()).toMatchObject({ error: "WRITEQUORUM", status: 503 });
    // through a non-owner the forward waits as long as the replica push: either way a 503 to retry
    const fw = await members[0]!.app.request(url(`/v1/maps/m/keys/${key}`), { method: "PUT", body: "lost" });
    expect(fw.status).toBe(503);
    expect(fw.headers.get("retry-after")).toBe("1");
    expect(["WRITEQUORUM", "CLUSTERDOWN"]).toContain(((await fw.json()) as { error: string }).error);
    net.setFilter(undefined);
    expect((await members[0]!.app.request(url(`/v1/maps/m/keys/${key}`))).status).toBe(404);
    expect(members[1]!.cluster.router.stats.quorumFailures).toBeGreaterThan(0);
  });

  test("a cluster that redirects every client still forwards for HTTP: MOVED never reaches it", async () => {
    const { members } = await startCluster({ redirects: "always" });
    const key = keyOwnedBy(members, 2, "mv");
    expect(await resp(members[0]!.node, "GET", key)).toStartWith("-MOVED");
    const w = await members[0]!.app.request(url(`/v1/maps/default/keys/${key}`), { method: "PUT", body: "x" });
    expect(w.status).toBe(204);
    expect(await (await members[1]!.app.request(url(`/v1/maps/default/keys/${key}`))).text()).toBe("x");
    expect(members[0]!.cluster.router.stats.forwarded).toBeGreaterThan(0);
  });

  test("an ACL user is refused a forwarded key outside its patterns (403 NOPERM), allowed ones are forwarded", async () => {
    const aclLines = ["user default on nopass ~* &* +@all", "user app on >app-pass ~carts/* &events:* +@all -flushall"];
    const { members } = await startCluster({ config: () => ({ aclLines }), auth: true });
    const auth = { authorization: "Bearer app:app-pass" };
    const allowed = keyOwnedBy(members, 2, "a");
    const ok = await members[0]!.app.request(url(`/v1/maps/carts/keys/${allowed}`), { method: "PUT", body: "v", headers: auth });
    expect(ok.status).toBe(204);
    expect(await (await members[1]!.app.request(url(`/v1/maps/carts/keys/${allowed}`), { headers: auth })).text()).toBe("v");
    const denied = keyOwnedBy(members, 2, "d");
    const no = await members[0]!.app.request(url(`/v1/maps/orders/keys/${denied}`), { method: "PUT", body: "v", headers: auth });
    expect(no.status).toBe(403);
    expect(await no.json()).toMatchObject({ error: "NOPERM" });
    expect((await members[0]!.app.request(url(`/v1/maps/orders/keys/${denied}`), { headers: auth })).status).toBe(403);
    expect(localHolders(members, "orders", denied)).toEqual([]);
    expect((await members[0]!.app.request(url(`/v1/maps/orders/keys/${denied}`), { method: "PUT", body: "w" })).status).toBe(204);
    expect((await members[1]!.app.request(url(`/v1/pubsub/other`), { method: "POST", body: "x", headers: auth })).status).toBe(403);
    expect((await members[1]!.app.request(url(`/v1/pubsub/events:a`), { method: "POST", body: "x", headers: auth })).status).toBe(200);
  });

  test("the forwarded command runs as the HTTP user on the owner: the owner's ACL refuses what the entry node let through", async () => {
    // misconfigured on purpose: node 0 lets `app` at every key, the others only at carts/*
    const open = ["user default on nopass ~* &* +@all", "user app on >app-pass ~* &* +@all"];
    const strict = ["user default on nopass ~* &* +@all", "user app on >app-pass ~carts/* &* +@all"];
    const { members } = await startCluster({ config: (i) => ({ aclLines: i === 0 ? open : strict }), auth: true });
    const auth = { authorization: "Bearer app:app-pass" };
    const key = keyOwnedBy(members, 1, "o");
    const no = await members[0]!.app.request(url(`/v1/maps/orders/keys/${key}`), { method: "PUT", body: "v", headers: auth });
    expect(no.status).toBe(403);
    expect(await no.json()).toMatchObject({ error: "NOPERM" });
    expect(localHolders(members, "orders", key)).toEqual([]);
    expect((await members[0]!.app.request(url(`/v1/maps/carts/keys/${key}`), { method: "PUT", body: "v", headers: auth })).status).toBe(204);
  });
});
