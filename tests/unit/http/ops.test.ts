import { describe, expect, test } from "bun:test";
import { ShoalError } from "../../../core/errors.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { testNode } from "./test-node.ts";

const url = (path: string) => `http://shoal${path}`;

describe("probes", () => {
  test("/healthz is 200 even when not ready; /readyz follows node.ready with a reason", async () => {
    const { node } = testNode();
    node.ready = false;
    const app = createHttpApp(node, { notReadyReason: () => "syncing 12 of 271 partitions" });
    expect((await app.request(url("/healthz"))).status).toBe(200);
    const r = await app.request(url("/readyz"));
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ ready: false, reason: "syncing 12 of 271 partitions" });
    node.ready = true;
    expect((await app.request(url("/readyz"))).status).toBe(200);
  });

  test("/readyz has a default reason", async () => {
    const { node } = testNode();
    node.ready = false;
    const body = (await (await createHttpApp(node).request(url("/readyz"))).json()) as { reason: string };
    expect(body.reason.length).toBeGreaterThan(5);
  });
});

describe("auth", () => {
  const { node } = testNode();
  const app = createHttpApp(node, { authTokens: ["s3cret", "other-token"] });

  test("without or with a wrong token: 401 with WWW-Authenticate; probes stay open", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer nope" }, { authorization: "Basic czNjcmV0" }];
    for (const headers of attempts) {
      const r = await app.request(url("/v1/maps/m/keys/k"), { method: "PUT", body: "v", headers });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toContain("Bearer");
      expect(await r.json()).toMatchObject({ error: "NOAUTH" });
    }
    expect(node.map("m").get("k")).toBeNull();
    expect((await app.request(url("/metrics"))).status).toBe(401);
    expect((await app.request(url("/healthz"))).status).toBe(200);
    expect((await app.request(url("/readyz"))).status).toBe(200);
  });

  test("any configured token is accepted", async () => {
    for (const token of ["s3cret", "other-token"]) {
      const r = await app.request(url("/v1/maps/m/keys/k"), { method: "PUT", body: "v", headers: { authorization: `Bearer ${token}` } });
      expect(r.status).toBe(204);
    }
  });
});

describe("JSON views", () => {
  test("/v1/stats reports counters, keys, memory and INFO sections", async () => {
    const { node, clock } = testNode();
    node.stats.countCommand("get");
    node.stats.hits = 3;
    node.map("m").put("k", "v");
    clock.advance(5000);
    const s = (await (await createHttpApp(node).request(url("/v1/stats"))).json()) as Record<string, unknown>;
    expect(s).toMatchObject({ keys: 1, memoryBytes: node.memoryBytes(), hits: 3, commands: { get: 1 }, uptimeMs: 5000 });
    expect(node.memoryBytes()).toBeGreaterThan(0);
    expect(s.info).toMatchObject({ server: { node_name: "test-node" }, memory: { used_memory: node.memoryBytes() } });
  });

  test("/v1/cluster shows this node alone, or the injected view", async () => {
    const { node } = testNode();
    const alone = (await (await createHttpApp(node).request(url("/v1/cluster"))).json()) as { members: unknown[] };
    expect(alone.members).toEqual([{ id: "test-node", self: true, ready: true, keys: 0 }]);
    const view = { members: [{ id: "a", self: true }, { id: "b", self: false }], epoch: 7 };
    const app = createHttpApp(node, { clusterView: () => view });
    expect(await (await app.request(url("/v1/cluster"))).json()).toEqual(view);
  });

  test("unknown routes are 404 problem+json; command errors map through the one table, crashes are 500", async () => {
    const { node } = testNode();
    const app = createHttpApp(node);
    const r = await app.request(url("/nope"));
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    expect(await r.json()).toMatchObject({ error: "NOTFOUND", title: "NOTFOUND", status: 404, type: "urn:shoal:error:notfound" });
    const put = node.commands.byName.get("dm.put")!;
    put.run = () => {
      throw new ShoalError("WRITEQUORUM", "1 of 2 copies acknowledged the write");
    };
    const e = await app.request(url("/v1/maps/m/keys/k"), { method: "PUT", body: "123456789" });
    expect(e.status).toBe(503);
    expect(e.headers.get("retry-after")).toBe("1");
    expect(await e.json()).toEqual({
      type: "urn:shoal:error:writequorum",
      title: "WRITEQUORUM",
      status: 503,
      detail: "1 of 2 copies acknowledged the write",
      error: "WRITEQUORUM",
      message: "1 of 2 copies acknowledged the write",
    });
    node.commands.byName.get("dm.get")!.run = () => {
      throw new Error("boom");
    };
    const crash = await app.request(url("/v1/maps/m/keys/k"));
    expect(crash.status).toBe(500);
    expect(await crash.json()).toMatchObject({ error: "ERR", message: "internal error: boom" });
  });
});

describe("GET /v1/debug/local-keys", () => {
  test("absent unless debugRoutes; lists this node's own copies page by page; admin-only with ACL users", async () => {
    const { node } = testNode({ aclLines: ["user default on nopass ~* &* +@all", "user app on >pw ~* +@all -config"] });
    expect((await createHttpApp(node).request(url("/v1/debug/local-keys"))).status).toBe(404);
    for (let i = 0; i < 25; i++) node.map("m").put(`k${i}`, "v");
    const app = createHttpApp(node, { debugRoutes: true, auth: node });
    const seen: string[] = [];
    let cursor = 0;
    for (let page = 0; page < 100; page++) {
      const r = (await (await app.request(url(`/v1/debug/local-keys?map=m&count=10&cursor=${cursor}`))).json()) as { cursor: number; keys: string[] };
      seen.push(...r.keys);
      cursor = r.cursor;
      if (cursor === 0) break;
    }
    expect(seen.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `k${i}`).sort());
    expect(await (await app.request(url("/v1/debug/local-keys?map=none"))).json()).toEqual({ cursor: 0, keys: [] });
    expect((await app.request(url("/v1/debug/local-keys?count=0"))).status).toBe(400);
    expect((await app.request(url("/v1/debug/local-keys"), { headers: { authorization: "Bearer app:pw" } })).status).toBe(403);
  });
});
