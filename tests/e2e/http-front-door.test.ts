/**
 * The HTTP API is a cluster front door (issue 13) against dist/shoal: three
 * real processes, RF=2 W=2. Keys PUT over HTTP on node 0 (with and without
 * a TTL, in the default map and a named map) read back over RESP and HTTP
 * through every other node, each held by exactly two nodes; an HTTP DELETE
 * through another node is seen everywhere; an SSE subscriber on node 2 gets
 * an HTTP publish made on node 1; map listing counts each key once. Then
 * node 0 — the one that took every write — is killed with kill -9, and no
 * HTTP-written key is lost: all read back over RESP and HTTP through the
 * survivors, deleted ones stay deleted.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { RawClient } from "../helpers/raw-client.ts";
import {
  bulk,
  copyAnomalies,
  type Expected,
  killAll,
  launchAll,
  nodeSpecs,
  pipeline,
  type ShoalProc,
  showAnomaly,
  until,
  waitComplete,
  waitMembers,
  waitReady,
} from "./cluster-harness.ts";

const KEYS = 300;
const clients: RawClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await killAll();
});

const base = (n: ShoalProc) => `http://${n.spec.host}:${n.spec.httpPort}`;

/** PUTs every key over HTTP (8 at a time); returns the statuses that were not 204. */
async function httpPutAll(n: ShoalProc, map: string, entries: [string, string][], query = ""): Promise<string[]> {
  const bad: string[] = [];
  for (let i = 0; i < entries.length; i += 8) {
    await Promise.all(
      entries.slice(i, i + 8).map(async ([k, v]) => {
        const r = await fetch(`${base(n)}/v1/maps/${map}/keys/${k}${query}`, { method: "PUT", body: v, signal: AbortSignal.timeout(10_000) });
        if (r.status !== 204) bad.push(`${k}: ${r.status} ${await r.text()}`);
      }),
    );
  }
  return bad;
}

/** Keys of `expected` that do not read back right over HTTP through `n` (null: must be 404). */
async function httpMismatches(n: ShoalProc, map: string, expected: Expected): Promise<string[]> {
  const bad: string[] = [];
  const entries = [...expected];
  for (let i = 0; i < entries.length; i += 16) {
    await Promise.all(
      entries.slice(i, i + 16).map(async ([k, want]) => {
        const r = await fetch(`${base(n)}/v1/maps/${map}/keys/${k}`, { signal: AbortSignal.timeout(10_000) });
        const body = await r.text();
        if (want === null ? r.status !== 404 : r.status !== 200 || body !== want) bad.push(`${n.spec.name} ${map}/${k}: want ${want ?? "404"}, got ${r.status} ${body.slice(0, 60)}`);
      }),
    );
  }
  return bad;
}

describe("e2e: HTTP through a 3-node cluster (dist/shoal, RF=2 W=2)", () => {
  test("HTTP PUT on node 0 reads back over RESP and HTTP everywhere, DELETE is seen everywhere, nothing is lost after kill -9 of node 0", async () => {
    const specs = await nodeSpecs(3, {
      prefix: "front",
      extra: (_i, peers) => ["--peers", peers.join(","), "--replica-count", "2", "--write-quorum", "2", "--fault-injection"],
    });
    const nodes = await launchAll(specs);
    await waitMembers(nodes, 3, 20_000, "three nodes");
    await waitReady(nodes, 20_000);
    const [entry, second, third] = nodes as [ShoalProc, ShoalProc, ShoalProc];

    // writes over HTTP through node 0 only: the default map (half with a TTL) and a named map
    const plain: [string, string][] = Array.from({ length: KEYS }, (_, i) => [`h:${i}`, `value-${i}`]);
    const named: [string, string][] = Array.from({ length: 60 }, (_, i) => [`n:${i}`, `named-${i}`]);
    expect(await httpPutAll(entry, "default", plain.slice(0, KEYS / 2))).toEqual([]);
    expect(await httpPutAll(entry, "default", plain.slice(KEYS / 2), "?ttl=1h")).toEqual([]);
    expect(await httpPutAll(entry, "orders", named)).toEqual([]);
    const expected: Expected = new Map(plain);
    const expectedNamed: Expected = new Map(named);

    // every acknowledged write is on two nodes at once (owner + replica), not only on the node that took it
    const anomalies = await copyAnomalies(nodes, 2, expected);
    expect(anomalies.map(showAnomaly)).toEqual([]);
    // over RESP and HTTP through the other nodes
    await waitComplete([second, third], expected, 5000, "HTTP writes over RESP");
    for (const n of [second, third]) {
      expect(await httpMismatches(n, "default", expected)).toEqual([]);
      expect(await httpMismatches(n, "orders", expectedNamed)).toEqual([]);
      const c = await n.connect();
      clients.push(c);
      const replies = await pipeline(c, named.map(([k]) => ["DM.GET", "orders", k]));
      expect(replies).toEqual(named.map(([, v]) => bulk(v)));
      const ttl = await pipeline(c, [["TTL", plain[KEYS - 1]![0]], ["TTL", plain[0]![0]]]);
      expect(Number(ttl[0]!.slice(1))).toBeGreaterThan(3500);
      expect(ttl[1]).toBe(":-1\r\n");
    }
    // the map listing counts each key once, through any node
    const maps = (await (await fetch(`${base(third)}/v1/maps`)).json()) as { maps: { name: string; size: number }[] };
    expect(maps.maps.find((m) => m.name === "orders")?.size).toBe(named.length);
    expect(maps.maps.find((m) => m.name === "default")?.size).toBe(KEYS);

    // HTTP DELETE through node 1, seen through every node over RESP and HTTP
    for (let i = 0; i < KEYS; i += 5) {
      const r = await fetch(`${base(second)}/v1/maps/default/keys/h:${i}`, { method: "DELETE" });
      expect(r.status).toBe(204);
      expected.set(`h:${i}`, null);
    }
    await waitComplete(nodes, expected, 5000, "HTTP deletes over RESP");
    for (const n of nodes) expect(await httpMismatches(n, "default", expected)).toEqual([]);

    // SSE on node 2 hears an HTTP publish on node 1
    const abort = new AbortController();
    const sse = await fetch(`${base(third)}/v1/pubsub/front-news`, { signal: abort.signal });
    const reader = sse.body!.getReader();
    let text = "";
    const dec = new TextDecoder();
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 5000;
      while (!text.includes(needle) && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)]);
        if (!chunk || chunk.done) break;
        text += dec.decode(chunk.value);
      }
      return text.includes(needle);
    };
    expect(await readUntil("event: subscribed")).toBe(true);
    const pub = await fetch(`${base(second)}/v1/pubsub/front-news`, { method: "POST", body: "hello from node 1" });
    expect(await pub.json()).toEqual({ receivers: 1 });
    expect(await readUntil("data: hello from node 1")).toBe(true);
    abort.abort();

    // kill -9 the node that took every write: nothing acknowledged is lost
    await entry.kill9();
    const survivors = [second, third];
    await waitMembers(survivors, 2, 30_000, "after kill -9 of the HTTP entry node");
    await waitComplete(survivors, expected, 20_000, "HTTP writes after kill -9 of their entry node");
    const settled = await until(async () => (await Promise.all(survivors.map((n) => httpMismatches(n, "orders", expectedNamed)))).every((b) => b.length === 0), 20_000, 250);
    expect(settled).toBe(true);
    for (const n of survivors) expect(await httpMismatches(n, "default", expected)).toEqual([]);
  }, 120_000);
});
