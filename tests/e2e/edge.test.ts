/**
 * The edge cache's "Done when" on three real processes (dist/shoal) with
 * --origin and --edge-port, in front of an origin served by this test on
 * loopback: coalescing of 300 concurrent misses spread over the nodes, hits
 * on every node, no-store, revalidation with If-None-Match, stale-if-error,
 * PURGE and tag purges across nodes, a body larger than the object limit,
 * and the shoal_edge_* metrics.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePorts } from "../helpers/ports.ts";
import { killAll, launchAll, nodeSpecs, type ShoalProc, until, waitMembers } from "./cluster-harness.ts";

/** Requests the origin saw, per path, and the conditional headers of each. */
const seen = new Map<string, number>();
const conditionals: { path: string; inm: string | null }[] = [];
let sieBroken = false;
let origin: ReturnType<typeof Bun.serve>;
let nodes: ShoalProc[] = [];
let edgePorts: number[] = [];

const count = (path: string) => seen.get(path) ?? 0;
const edge = (i: number, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${edgePorts[i]}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });

beforeAll(async () => {
  origin = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const p = url.pathname + url.search;
      seen.set(p, count(p) + 1);
      if (url.pathname.startsWith("/slow/")) {
        await Bun.sleep(800);
        return new Response(`slow ${p}`, { headers: { "cache-control": "max-age=300" } });
      }
      if (url.pathname === "/nostore") return new Response(`fresh ${count(p)}`, { headers: { "cache-control": "no-store" } });
      if (url.pathname === "/etag") {
        conditionals.push({ path: p, inm: req.headers.get("if-none-match") });
        if (req.headers.get("if-none-match") === '"v1"') return new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": "max-age=1" } });
        return new Response("etag body", { headers: { etag: '"v1"', "cache-control": "max-age=1" } });
      }
      if (url.pathname === "/sie") {
        if (sieBroken) return new Response("origin broken", { status: 500 });
        return new Response("good body", { headers: { "cache-control": "max-age=1, stale-if-error=300" } });
      }
      if (url.pathname === "/big") return new Response(new Uint8Array(12 * 1024 * 1024).fill(65), { headers: { "cache-control": "max-age=300" } });
      const tag = url.pathname.split("/")[2] ?? "none";
      return new Response(`static ${p}`, { headers: { "cache-control": "max-age=300", "surrogate-key": `t-${tag} all`, "x-origin": "1" } });
    },
  });
  const specs = await nodeSpecs(3, { prefix: "edge", extra: () => [] });
  edgePorts = await freePorts(3);
  const originUrl = `http://127.0.0.1:${origin.port}`;
  for (const [i, s] of specs.entries()) {
    const peers = specs.map((x) => `${x.host}:${x.peerPort}`).join(",");
    // lan timings: 300 concurrent requests on a shared 2-core machine must not get members suspected
    s.args.push("--peers", peers, "--preset", "lan", "--origin", originUrl, "--edge-port", String(edgePorts[i]), "--edge-max-object-size", "4mb");
  }
  nodes = await launchAll(specs);
  await waitMembers(nodes, 3, 20_000, "edge cluster");
  // the edge port opens once the node has joined (its lookups need the cluster's placement)
  if (!(await until(() => nodes.every((n) => n.events("edge cache listening").length > 0), 20_000))) throw new Error(`edge ports not open:\n${nodes.map((n) => n.output().slice(-2000)).join("\n")}`);
}, 60_000);

afterAll(async () => {
  await killAll();
  origin?.stop(true);
});

describe("edge cache on 3 nodes", () => {
  test("300 concurrent requests for one slow URL spread over the three nodes reach the origin once", async () => {
    const responses = await Promise.all(Array.from({ length: 300 }, (_, i) => edge(i % 3, "/slow/a")));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(responses.map((r) => r.status)).toEqual(Array(300).fill(200));
    expect(new Set(bodies)).toEqual(new Set(["slow /slow/a"]));
    expect(count("/slow/a")).toBe(1);
    expect(responses.filter((r) => r.headers.get("x-cache") === "MISS").length).toBe(1);
  }, 60_000);

  test("a cached URL is a HIT on every node, with Age and the origin's headers", async () => {
    const first = await edge(0, "/static/1");
    expect(first.headers.get("x-cache")).toBe("MISS");
    await first.text();
    for (let i = 0; i < 3; i++) {
      const r = await edge(i, "/static/1");
      expect(r.headers.get("x-cache")).toBe("HIT");
      expect(r.headers.get("x-origin")).toBe("1");
      expect(Number(r.headers.get("age"))).toBeGreaterThanOrEqual(0);
      expect(await r.text()).toBe("static /static/1");
    }
    expect(count("/static/1")).toBe(1);
  });

  test("no-store is never cached", async () => {
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await edge(i % 3, "/nostore");
      expect(r.headers.get("x-cache")).toBe("MISS");
      bodies.push(await r.text());
    }
    expect(count("/nostore")).toBe(6);
    expect(new Set(bodies).size).toBe(6);
  });

  test("an expired entry with an ETag is revalidated with If-None-Match", async () => {
    const first = await edge(1, "/etag");
    expect(await first.text()).toBe("etag body");
    await Bun.sleep(1500);
    const r = await edge(2, "/etag");
    expect(r.headers.get("x-cache")).toBe("REVALIDATED");
    expect(await r.text()).toBe("etag body");
    expect(conditionals.map((c) => c.inm)).toEqual([null, '"v1"']);
  });

  test("with stale-if-error the old body is served while the origin answers 500", async () => {
    expect(await (await edge(2, "/sie")).text()).toBe("good body");
    sieBroken = true;
    await Bun.sleep(1500);
    for (let i = 0; i < 3; i++) {
      const r = await edge(i, "/sie");
      expect(r.status).toBe(200);
      expect(r.headers.get("x-cache")).toBe("STALE");
      expect(await r.text()).toBe("good body");
    }
    expect(count("/sie")).toBeGreaterThanOrEqual(2);
  });

  test("PURGE on one node makes the next request on another a MISS", async () => {
    await (await edge(0, "/static/p")).text();
    expect((await edge(2, "/static/p")).headers.get("x-cache")).toBe("HIT");
    const purge = await edge(1, "/static/p", { method: "PURGE" });
    expect(purge.status).toBe(200);
    expect(((await purge.json()) as { purged: number }).purged).toBe(1);
    const after = await edge(2, "/static/p");
    expect(after.headers.get("x-cache")).toBe("MISS");
    expect(count("/static/p")).toBe(2);
  });

  test("POST /v1/edge/purge drops every object tagged in Surrogate-Key, on every node", async () => {
    for (const p of ["/tagged/x", "/tagged/y", "/other/x"]) await (await edge(0, p)).text();
    const res = await nodes[1]!.http("POST", "/v1/edge/purge", { tags: ["t-x"] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ purged: 2, unreachable: [] });
    expect((await edge(2, "/tagged/x")).headers.get("x-cache")).toBe("MISS");
    expect((await edge(2, "/other/x")).headers.get("x-cache")).toBe("MISS");
    expect((await edge(2, "/tagged/y")).headers.get("x-cache")).toBe("HIT");
    expect((await nodes[0]!.http("POST", "/v1/edge/purge", { tags: [] })).status).toBe(400);
  });

  test("a body above --edge-max-object-size streams through whole and is not stored", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await edge(i, "/big");
      expect(r.status).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBe(12 * 1024 * 1024);
      expect(r.headers.get("x-cache")).toBe("MISS");
    }
  });

  test("/metrics counts hits, misses, coalesced lookups and origin latency", async () => {
    let hits = 0;
    let coalesced = 0;
    for (const n of nodes) {
      const text = (await n.http("GET", "/metrics")).body as string;
      hits += Number(/shoal_edge_requests_total\{outcome="hit"\} (\d+)/.exec(text)?.[1]);
      coalesced += Number(/shoal_edge_coalesced_total (\d+)/.exec(text)?.[1]);
      expect(text).toContain("shoal_edge_origin_duration_seconds_count");
      expect(text).toContain('shoal_edge_origin_errors_total{kind="5xx"}');
    }
    expect(hits).toBeGreaterThanOrEqual(299);
    expect(coalesced).toBeGreaterThan(0);
  });
});
