import { beforeEach, describe, expect, test } from "bun:test";
import { createHttpApp } from "../../../core/http/app.ts";
import type { ShoalNode } from "../../../core/node.ts";
import { type ManualClock, testNode } from "./test-node.ts";

let node: ShoalNode;
let clock: ManualClock;
let app: ReturnType<typeof createHttpApp>;
const url = (path: string) => `http://shoal${path}`;
const put = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  app.request(url(path), { method: "PUT", body, headers });

beforeEach(() => {
  ({ node, clock } = testNode());
  app = createHttpApp(node, { maxValueBytes: 1024, maxKeyBytes: 32, keepAliveMs: 0 });
});

describe("GET/PUT/DELETE /v1/maps/:map/keys/:key", () => {
  test("round-trips binary bytes and the Content-Type; the store holds the raw bytes", async () => {
    const bin = new Uint8Array(256).map((_, i) => i);
    const w = await put("/v1/maps/m/keys/k", bin, { "content-type": "image/png" });
    expect(w.status).toBe(204);
    const etag = w.headers.get("etag");
    expect(etag).toMatch(/^"[0-9a-z]+-[0-9a-f]{16}"$/);
    const r = await app.request(url("/v1/maps/m/keys/k"));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("image/png");
    expect(r.headers.get("etag")).toBe(etag);
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(bin);
    expect(node.map("m").get("k")).toEqual(bin);
  });

  test("a value rewritten outside HTTP (RESP) is served as octet-stream, not with a stale type", async () => {
    await put("/v1/maps/m/keys/k", "hello", { "content-type": "text/plain" });
    node.map("m").put("k", "changed by RESP");
    const r = await app.request(url("/v1/maps/m/keys/k"));
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    expect(await r.text()).toBe("changed by RESP");
  });

  test("If-None-Match with the current ETag gives 304 without a body; a stale one gives 200", async () => {
    const etag = (await put("/v1/maps/m/keys/k", "v1")).headers.get("etag")!;
    const hit = await app.request(url("/v1/maps/m/keys/k"), { headers: { "if-none-match": etag } });
    expect(hit.status).toBe(304);
    expect(hit.headers.get("etag")).toBe(etag);
    expect(await hit.text()).toBe("");
    await put("/v1/maps/m/keys/k", "v2");
    const miss = await app.request(url("/v1/maps/m/keys/k"), { headers: { "if-none-match": etag } });
    expect(miss.status).toBe(200);
    expect(await miss.text()).toBe("v2");
  });

  test("miss is 404 with a JSON error body; DELETE removes and then 404s", async () => {
    const miss = await app.request(url("/v1/maps/m/keys/nope"));
    expect(miss.status).toBe(404);
    expect(await miss.json()).toMatchObject({ error: "KEYNOTFOUND" });
    await put("/v1/maps/m/keys/k", "v");
    expect((await app.request(url("/v1/maps/m/keys/k"), { method: "DELETE" })).status).toBe(204);
    expect((await app.request(url("/v1/maps/m/keys/k"), { method: "DELETE" })).status).toBe(404);
    expect(node.map("m").get("k")).toBeNull();
  });

  test("HEAD answers headers only", async () => {
    await put("/v1/maps/m/keys/k", "value");
    const r = await app.request(url("/v1/maps/m/keys/k"), { method: "HEAD" });
    expect(r.status).toBe(200);
    expect(r.headers.get("etag")).not.toBeNull();
    expect(await r.text()).toBe("");
  });

  test("keys may contain / and percent-encoded bytes", async () => {
    await put("/v1/maps/m/keys/a/b%20c", "v");
    expect(node.map("m").get("a/b c")).not.toBeNull();
    expect(await (await app.request(url("/v1/maps/m/keys/a/b%20c"))).text()).toBe("v");
  });

  test("TTL by query (seconds or unit) and by header; expiry follows the node clock", async () => {
    await put("/v1/maps/m/keys/a?ttl=10", "v");
    await put("/v1/maps/m/keys/b?ttl=500ms", "v");
    await put("/v1/maps/m/keys/c", "v", { "x-shoal-ttl": "2s" });
    await put("/v1/maps/m/keys/d", "v");
    expect(node.map("m").ttl("a")).toBe(10_000);
    expect(node.map("m").ttl("b")).toBe(500);
    expect(node.map("m").ttl("c")).toBe(2000);
    expect(node.map("m").ttl("d")).toBe(-1);
    expect((await app.request(url("/v1/maps/m/keys/c"))).headers.get("x-shoal-ttl-ms")).toBe("2000");
    clock.advance(600);
    expect((await app.request(url("/v1/maps/m/keys/b"))).status).toBe(404);
    expect((await app.request(url("/v1/maps/m/keys/a"))).status).toBe(200);
  });

  test("bad TTLs and conflicting options are 400 with a message naming the input", async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ["/v1/maps/m/keys/k?ttl=abc", {}, /\?ttl=.*"abc"/],
      ["/v1/maps/m/keys/k?ttl=-5", {}, /\?ttl=/],
      ["/v1/maps/m/keys/k?ttl=0", {}, /at least 1ms/],
      ["/v1/maps/m/keys/k", { "x-shoal-ttl": "soon" }, /X-Shoal-TTL/],
      ["/v1/maps/m/keys/k?ttl=1", { "x-shoal-ttl": "1" }, /not both/],
      ["/v1/maps/m/keys/k?nx=1&xx=1", {}, /exclude each other/],
      ["/v1/maps/m/keys/k?nx=perhaps", {}, /\?nx= expects/],
    ];
    for (const [path, headers, msg] of cases) {
      const r = await put(path, "v", headers);
      expect(r.status).toBe(400);
      const body = (await r.json()) as { error: string; message: string };
      expect(body.error).toBe("BADREQUEST");
      expect(body.message).toMatch(msg);
    }
    expect(node.map("m").get("k")).toBeNull();
  });

  test("NX and XX: 412 when the condition fails, value unchanged", async () => {
    expect((await put("/v1/maps/m/keys/k?xx=1", "x")).status).toBe(412);
    expect(node.map("m").get("k")).toBeNull();
    expect((await put("/v1/maps/m/keys/k?nx=1", "first")).status).toBe(204);
    const again = await put("/v1/maps/m/keys/k?nx=1", "second");
    expect(again.status).toBe(412);
    expect(await again.json()).toMatchObject({ error: "KEYFOUND" });
    expect((await put("/v1/maps/m/keys/k?xx=1", "third")).status).toBe(204);
    expect((await put("/v1/maps/m/keys/k", "fourth", { "if-none-match": "*" })).status).toBe(412);
    expect(new TextDecoder().decode(node.map("m").get("k")!)).toBe("third");
  });

  test("413 past the max value size (declared or streamed); exactly the max is accepted", async () => {
    expect((await put("/v1/maps/m/keys/k", new Uint8Array(1024))).status).toBe(204);
    const big = await put("/v1/maps/m/keys/k2", new Uint8Array(1025));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: "TOOLARGE" });
    expect(node.map("m").get("k2")).toBeNull();
  });

  test("keys and map names past the limit are 414; the store is untouched", async () => {
    const r = await put(`/v1/maps/m/keys/${"k".repeat(33)}`, "v");
    expect(r.status).toBe(414);
    expect(((await r.json()) as { message: string }).message).toMatch(/33 bytes; the limit is 32/);
    expect((await put(`/v1/maps/${"m".repeat(33)}/keys/k`, "v")).status).toBe(414);
    expect(node.keyCount()).toBe(0);
  });
});

describe("maps", () => {
  test("GET /v1/maps lists names and sizes; DELETE /v1/maps/:map clears it", async () => {
    await put("/v1/maps/a/keys/1", "v");
    await put("/v1/maps/a/keys/2", "v");
    await put("/v1/maps/b/keys/1", "v");
    expect(await (await app.request(url("/v1/maps"))).json()).toEqual({
      maps: [
        { name: "default", size: 0 },
        { name: "a", size: 2 },
        { name: "b", size: 1 },
      ],
    });
    const d = await app.request(url("/v1/maps/a"), { method: "DELETE" });
    expect(await d.json()).toEqual({ map: "a", removed: 2 });
    expect(node.mapNames()).toEqual(["default", "b"]);
    expect(node.map("b").size()).toBe(1);
    expect((await app.request(url("/v1/maps/zzz"), { method: "DELETE" })).status).toBe(404);
  });

  test("scan pages with a cursor until 0, honours match, validates count", async () => {
    for (let i = 0; i < 25; i++) await put(`/v1/maps/m/keys/user:${String(i).padStart(2, "0")}`, "v");
    await put("/v1/maps/m/keys/other", "v");
    const seen: string[] = [];
    let cursor = 0;
    for (let round = 0; round < 20; round++) {
      const page = (await (await app.request(url(`/v1/maps/m/keys?cursor=${cursor}&count=7&match=user:*`))).json()) as {
        cursor: number;
        keys: string[];
      };
      seen.push(...page.keys);
      cursor = page.cursor;
      if (cursor === 0) break;
    }
    expect(cursor).toBe(0);
    expect(new Set(seen).size).toBe(25);
    expect(seen.every((k) => k.startsWith("user:"))).toBe(true);
    const b64 = (await (await app.request(url("/v1/maps/m/keys?count=100&match=other&encoding=base64"))).json()) as {
      keys: string[];
    };
    expect(b64.keys).toEqual([btoa("other")]);
    expect((await app.request(url("/v1/maps/m/keys?count=0"))).status).toBe(400);
    expect((await app.request(url("/v1/maps/m/keys?cursor=abc"))).status).toBe(400);
  });
});
