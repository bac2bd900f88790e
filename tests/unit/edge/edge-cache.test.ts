import { describe, expect, test } from "bun:test";
import { deferred, edgeNode, field, request, TestOrigin, text } from "./harness.ts";

const get = (path: string, headers?: Record<string, string>) => request(path, { headers });

describe("edge cache on one node", () => {
  test("a miss fills, later requests hit with a growing Age", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=60", "content-type": "text/plain", "x-origin": "yes" }, body: "hello" });
    const { edge, clock } = edgeNode(origin);
    const first = await edge.handle(get("/a"));
    expect(first.status).toBe(200);
    expect(field(first, "x-cache")).toBe("MISS");
    expect(await text(first)).toBe("hello");
    await clock.advance(5000);
    const second = await edge.handle(get("/a"));
    expect(field(second, "x-cache")).toBe("HIT");
    expect(field(second, "age")).toBe("5");
    expect(field(second, "x-origin")).toBe("yes");
    expect(await text(second)).toBe("hello");
    expect(origin.count("/a")).toBe(1);
    expect(origin.requests[0]!.url).toBe("http://origin.test/a");
    expect(edge.stats.requests.hit).toBe(1);
    expect(edge.stats.requests.miss).toBe(1);
  });

  test("concurrent misses wait for one origin fetch; the waiters are hits", async () => {
    const origin = new TestOrigin();
    const gate = deferred<void>();
    origin.answer = async () => {
      await gate.promise;
      return { headers: { "cache-control": "max-age=60" }, body: "slow" };
    };
    const { edge } = edgeNode(origin);
    const pending = Array.from({ length: 50 }, () => edge.handle(get("/slow")));
    await Bun.sleep(5);
    expect(edge.inFlight).toBe(1);
    gate.resolve();
    const all = await Promise.all(pending);
    expect(origin.count("/slow")).toBe(1);
    expect(await Promise.all(all.map(text))).toEqual(Array(50).fill("slow"));
    expect(all.filter((r) => field(r, "x-cache") === "MISS").length).toBe(1);
    expect(edge.stats.coalesced).toBe(49);
  });

  test("a failed coalesced fetch answers every waiter with the error", async () => {
    const origin = new TestOrigin();
    const gate = deferred<void>();
    origin.answer = async () => {
      await gate.promise;
      return "unreachable" as const;
    };
    const { edge } = edgeNode(origin);
    const pending = Array.from({ length: 10 }, () => edge.handle(get("/down")));
    gate.resolve();
    const all = await Promise.all(pending);
    expect(all.map((r) => r.status)).toEqual(Array(10).fill(502));
    expect(origin.count("/down")).toBe(1);
    expect(edge.stats.originErrors.unreachable).toBe(1);
  });

  test("a 500 on a coalesced miss reaches every waiter, once", async () => {
    const origin = new TestOrigin();
    const gate = deferred<void>();
    origin.answer = async () => {
      await gate.promise;
      return { status: 500, body: "boom" };
    };
    const { edge } = edgeNode(origin);
    const pending = Array.from({ length: 10 }, () => edge.handle(get("/err")));
    gate.resolve();
    const all = await Promise.all(pending);
    expect(all.map((r) => r.status)).toEqual(Array(10).fill(500));
    expect(await text(all[3]!)).toBe("boom");
    expect(origin.count("/err")).toBe(1);
  });

  test("no-store is never cached, and uncacheable responses are not shared with waiters", async () => {
    const origin = new TestOrigin();
    origin.answer = (_r, n) => ({ headers: { "cache-control": "no-store" }, body: `n${n}` });
    const { edge, store } = edgeNode(origin);
    for (let i = 1; i <= 3; i++) {
      const r = await edge.handle(get("/private"));
      expect(field(r, "x-cache")).toBe("MISS");
      expect(await text(r)).toBe(`n${i}`);
    }
    expect(origin.count("/private")).toBe(3);
    expect(store.entries.size).toBe(0);
    const together = await Promise.all(Array.from({ length: 5 }, () => edge.handle(get("/private"))));
    expect(new Set(await Promise.all(together.map(text))).size).toBe(5);
  });

  test("an expired entry with an ETag is revalidated with If-None-Match; a 304 refreshes it", async () => {
    const origin = new TestOrigin();
    origin.answer = (req) =>
      req.headers.some(([n, v]) => n === "if-none-match" && v === '"v1"')
        ? { status: 304, headers: { "cache-control": "max-age=10", etag: '"v1"', "x-round": "2" } }
        : { headers: { "cache-control": "max-age=10", etag: '"v1"', "x-round": "1" }, body: "body-v1" };
    const { edge, clock } = edgeNode(origin);
    await text(await edge.handle(get("/e")));
    await clock.advance(11_000);
    const r = await edge.handle(get("/e"));
    expect(field(r, "x-cache")).toBe("REVALIDATED");
    expect(field(r, "x-round")).toBe("2");
    expect(field(r, "age")).toBe("0");
    expect(await text(r)).toBe("body-v1");
    expect(origin.requests[1]!.headers).toContainEqual(["if-none-match", '"v1"']);
    const again = await edge.handle(get("/e"));
    expect(field(again, "x-cache")).toBe("HIT");
    expect(origin.count("/e")).toBe(2);
  });

  test("revalidation by Last-Modified, and a changed object replaces the stored one", async () => {
    const origin = new TestOrigin();
    const lm = new Date(Date.UTC(2024, 0, 1)).toUTCString();
    origin.answer = (_req, n) => ({ headers: { "cache-control": "max-age=1", "last-modified": lm }, body: `v${n}` });
    const { edge, clock } = edgeNode(origin);
    await text(await edge.handle(get("/lm")));
    await clock.advance(2000);
    const r = await edge.handle(get("/lm"));
    expect(origin.requests[1]!.headers).toContainEqual(["if-modified-since", lm]);
    expect(field(r, "x-cache")).toBe("MISS");
    expect(await text(r)).toBe("v2");
    expect(await text(await edge.handle(get("/lm")))).toBe("v2");
  });

  test("stale-if-error serves the old body while the origin answers 500, until the window ends", async () => {
    const origin = new TestOrigin();
    let broken = false;
    origin.answer = () => (broken ? { status: 500, body: "down" } : { headers: { "cache-control": "max-age=1, stale-if-error=60" }, body: "good" });
    const { edge, clock } = edgeNode(origin);
    await text(await edge.handle(get("/sie")));
    broken = true;
    await clock.advance(5000);
    const r = await edge.handle(get("/sie"));
    expect(r.status).toBe(200);
    expect(field(r, "x-cache")).toBe("STALE");
    expect(await text(r)).toBe("good");
    origin.answer = () => "unreachable";
    expect(await text(await edge.handle(get("/sie")))).toBe("good");
    await clock.advance(60_000);
    origin.answer = () => ({ status: 500, body: "down" });
    const late = await edge.handle(get("/sie"));
    expect(late.status).toBe(500);
  });

  test("stale-while-revalidate answers at once and refreshes in the background", async () => {
    const origin = new TestOrigin();
    origin.answer = (_r, n) => ({ headers: { "cache-control": "max-age=1, stale-while-revalidate=30" }, body: `v${n}` });
    const { edge, clock } = edgeNode(origin);
    await text(await edge.handle(get("/swr")));
    await clock.advance(2000);
    const r = await edge.handle(get("/swr"));
    expect(field(r, "x-cache")).toBe("STALE");
    expect(await text(r)).toBe("v1");
    await Bun.sleep(5);
    const next = await edge.handle(get("/swr"));
    expect(field(next, "x-cache")).toBe("HIT");
    expect(await text(next)).toBe("v2");
    expect(origin.count("/swr")).toBe(2);
  });

  test("must-revalidate: no stale answer when the origin fails", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=1, must-revalidate, stale-if-error=60" }, body: "x" });
    const { edge, clock } = edgeNode(origin);
    await text(await edge.handle(get("/mr")));
    await clock.advance(2000);
    origin.answer = () => "unreachable";
    expect((await edge.handle(get("/mr"))).status).toBe(502);
  });

  test("Vary: each variant is its own object; PURGE drops them all", async () => {
    const origin = new TestOrigin();
    origin.answer = (req) => {
      const ae = req.headers.find(([n]) => n === "accept-encoding")?.[1] ?? "none";
      return { headers: { "cache-control": "max-age=60", vary: "Accept-Encoding" }, body: `enc=${ae}` };
    };
    const { edge } = edgeNode(origin);
    const gz = () => edge.handle(get("/v", { "accept-encoding": "gzip" }));
    const br = () => edge.handle(get("/v", { "accept-encoding": "br" }));
    expect(await text(await gz())).toBe("enc=gzip");
    expect(await text(await br())).toBe("enc=br");
    const hit = await gz();
    expect(field(hit, "x-cache")).toBe("HIT");
    expect(await text(hit)).toBe("enc=gzip");
    expect(field(await br(), "x-cache")).toBe("HIT");
    expect(origin.count("/v")).toBe(2);
    const purge = await edge.handle(request("/v", { method: "PURGE" }));
    expect(purge.status).toBe(200);
    expect(field(await gz(), "x-cache")).toBe("MISS");
    expect(field(await br(), "x-cache")).toBe("MISS");
  });

  test("concurrent misses for different variants each get their own variant", async () => {
    const origin = new TestOrigin();
    const gate = deferred<void>();
    origin.answer = async (req) => {
      await gate.promise;
      const lang = req.headers.find(([n]) => n === "accept-language")?.[1] ?? "-";
      return { headers: { "cache-control": "max-age=60", vary: "accept-language" }, body: lang };
    };
    const { edge } = edgeNode(origin);
    const langs = ["en", "fr", "en", "de", "fr", "en"];
    const pending = langs.map((l) => edge.handle(get("/lang", { "accept-language": l })));
    gate.resolve();
    const bodies = await Promise.all((await Promise.all(pending)).map(text));
    expect(bodies).toEqual(langs);
    expect(origin.count("/lang")).toBe(3);
  });

  test("bodies above the object size stream through, are not stored, and later requests skip the waiting list", async () => {
    const origin = new TestOrigin();
    const big = new Uint8Array(300_000).fill(7);
    origin.answer = () => ({ headers: { "cache-control": "max-age=60" }, body: big });
    const { edge, store } = edgeNode(origin, { settings: { maxObjectBytes: 100_000, originTimeoutMs: 5000, defaultTtlMs: 0, keepMs: 0 } });
    const r = await edge.handle(get("/big"));
    expect(r.body).toBeInstanceOf(ReadableStream);
    expect((await text(r)).length).toBe(300_000);
    expect(store.entries.size).toBe(0);
    const again = await edge.handle(get("/big"));
    expect(again.body).toBeInstanceOf(ReadableStream);
    expect((await text(again)).length).toBe(300_000);
    expect(edge.stats.requests.pass).toBe(1);
  });

  test("client validators get a 304 from the cache; HEAD has no body", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=60", etag: 'W/"abc"', "content-type": "text/plain" }, body: "payload" });
    const { edge } = edgeNode(origin);
    await text(await edge.handle(get("/c")));
    const nm = await edge.handle(get("/c", { "if-none-match": '"x", "abc"' }));
    expect(nm.status).toBe(304);
    expect(field(nm, "etag")).toBe('W/"abc"');
    expect(field(nm, "content-type")).toBeNull();
    const head = await edge.handle(request("/c", { method: "HEAD" }));
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    expect(field(head, "content-length")).toBe("7");
    expect(origin.count("/c")).toBe(1);
  });

  test("fills do not forward client conditionals or Range; passes add forwarding fields", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=60" }, body: "x" });
    const { edge } = edgeNode(origin);
    await edge.handle(get("/f", { "if-none-match": '"zz"', range: "bytes=0-1", "accept-language": "en", host: "edge.example" }));
    const sent = origin.requests[0]!.headers;
    expect(sent.some(([n]) => n === "if-none-match" || n === "range" || n === "host")).toBe(false);
    expect(sent).toContainEqual(["accept-language", "en"]);
    expect(sent).toContainEqual(["x-forwarded-for", "10.0.0.1"]);
    expect(sent).toContainEqual(["x-forwarded-host", "edge.example"]);
    expect(sent).toContainEqual(["via", "1.1 shoal"]);
  });

  test("a successful POST invalidates the URL; a failed one does not", async () => {
    const origin = new TestOrigin();
    origin.answer = (req) => (req.method === "POST" ? { status: 201, body: "created" } : { headers: { "cache-control": "max-age=60" }, body: "list" });
    const { edge } = edgeNode(origin);
    await text(await edge.handle(get("/items")));
    const post = await edge.handle(request("/items", { method: "POST" }));
    expect(post.status).toBe(201);
    expect(field(await edge.handle(get("/items")), "x-cache")).toBe("MISS");
    origin.answer = (req) => (req.method === "POST" ? { status: 400, body: "bad" } : { headers: { "cache-control": "max-age=60" }, body: "list" });
    await edge.handle(request("/items", { method: "POST" }));
    expect(field(await edge.handle(get("/items")), "x-cache")).toBe("HIT");
  });

  test("tag purge drops the objects whose Surrogate-Key carried a tag", async () => {
    const origin = new TestOrigin();
    origin.answer = (req) => {
      const p = new URL(req.url).pathname;
      return { headers: { "cache-control": "max-age=60", "surrogate-key": p === "/p1" ? "product-1 all" : "product-2 all" }, body: p };
    };
    const { edge } = edgeNode(origin);
    for (const p of ["/p1", "/p2"]) await text(await edge.handle(get(p)));
    const hit = await edge.handle(get("/p1"));
    expect(field(hit, "surrogate-key")).toBeNull();
    expect(await edge.purgeTags(["product-1"])).toEqual({ purged: 1, unreachable: [] });
    expect(field(await edge.handle(get("/p1")), "x-cache")).toBe("MISS");
    expect(field(await edge.handle(get("/p2")), "x-cache")).toBe("HIT");
    expect((await edge.purgeTags(["all"])).purged).toBe(2);
  });

  test("PURGE asks the authorizer; routes pick the origin by longest prefix", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=60" }, body: "x" });
    const { edge } = edgeNode(origin, {
      routes: [{ prefix: "/api/", origin: "http://api.test", ttlMs: 1000 }],
      authorizePurge: (req) => (req.header("authorization") === "Bearer ok" ? null : { status: 401, message: "no" }),
    });
    await edge.handle(get("/api/x"));
    expect(origin.requests[0]!.url).toBe("http://api.test/api/x");
    expect((await edge.handle(request("/api/x", { method: "PURGE" }))).status).toBe(401);
    expect((await edge.handle(request("/api/x", { method: "PURGE", headers: { authorization: "Bearer ok" } }))).status).toBe(200);
    expect((await edge.handle(get("/../etc"))).status).toBe(200);
    expect((await edge.handle(get("x"))).status).toBe(400);
  });

  test("fills hold at most their memory budget of bodies; the rest stream through, and are cached once there is room", async () => {
    const origin = new TestOrigin();
    const g = deferred<void>();
    origin.answer = () => ({
      headers: { "cache-control": "max-age=60" }, // no Content-Length: each fill reserves the whole object limit
      body: new ReadableStream<Uint8Array>({
        async start(c) {
          await g.promise;
          c.enqueue(new TextEncoder().encode("payload"));
          c.close();
        },
      }),
    });
    const max = 20 * 1024 * 1024; // budget: 4 objects
    const { edge, store } = edgeNode(origin, { settings: { maxObjectBytes: max, originTimeoutMs: 5000, defaultTtlMs: 0, keepMs: 0 } });
    const pending = [1, 2, 3, 4, 5].map((i) => edge.handle(get(`/b${i}`)));
    await Bun.sleep(10);
    g.resolve();
    const all = await Promise.all(pending);
    expect(await Promise.all(all.map(text))).toEqual(Array(5).fill("payload"));
    expect(all.filter((r) => r.body instanceof ReadableStream).length).toBe(1);
    expect(store.entries.size).toBe(4);
    const streamed = [1, 2, 3, 4, 5].find((i) => !store.entries.has(`{http://origin.test/b${i}}`))!;
    await text(await edge.handle(get(`/b${streamed}`)));
    expect(field(await edge.handle(get(`/b${streamed}`)), "x-cache")).toBe("HIT");
  });

  test("Range on a stored object: one range is served from the cache (206), If-Range must match, past the end is 416", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=60", etag: '"r1"' }, body: "0123456789" });
    const { edge } = edgeNode(origin);
    await text(await edge.handle(get("/r")));
    const part = await edge.handle(get("/r", { range: "bytes=2-4" }));
    expect(part.status).toBe(206);
    expect(field(part, "content-range")).toBe("bytes 2-4/10");
    expect(await text(part)).toBe("234");
    expect(await text(await edge.handle(get("/r", { range: "bytes=-3" })))).toBe("789");
    expect(await text(await edge.handle(get("/r", { range: "bytes=7-" })))).toBe("789");
    expect((await edge.handle(get("/r", { range: "bytes=20-" }))).status).toBe(416);
    expect((await edge.handle(get("/r", { range: "bytes=0-1,3-4" }))).status).toBe(200);
    expect((await edge.handle(get("/r", { range: "bytes=0-1", "if-range": '"other"' }))).status).toBe(200);
    expect((await edge.handle(get("/r", { range: "bytes=0-1", "if-range": '"r1"' }))).status).toBe(206);
    expect(origin.count("/r")).toBe(1);
    expect(origin.requests[0]!.headers.some(([n]) => n === "range")).toBe(false);
  });
});
