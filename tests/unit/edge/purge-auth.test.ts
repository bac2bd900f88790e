import { describe, expect, test } from "bun:test";
import { checkPurge, purgeAuthorizer } from "../../../core/edge/purge-auth.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { testNode } from "../http/test-node.ts";
import { request } from "./harness.ts";

const ACL = [
  "user default off",
  "user admin on >admin-pw ~* &* +@all",
  "user purger on >p-pw ~edge/* +dm.del",
  "user reader on >r-pw ~* +@read",
];
const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

describe("who may purge", () => {
  const { node } = testNode({ aclLines: ACL });

  test("PURGE authenticates like the HTTP API and is checked as DM.DEL of the path in the edge map", () => {
    const authorize = purgeAuthorizer(node, "edge");
    const purge = (authorization?: string) => authorize(request("/a/b", { method: "PURGE", headers: authorization ? { authorization } : {} }), "http://o/a/b?x=1");
    expect(purge()?.status).toBe(401);
    expect(purge("Bearer nobody:wrong")?.status).toBe(401);
    expect(purge("Bearer admin:admin-pw")).toBeNull();
    expect(purge(basic("purger", "p-pw"))).toBeNull();
    const denied = purge("Bearer reader:r-pw");
    expect(denied?.status).toBe(403);
    expect(denied?.message).toContain("NOPERM");
  });

  test("a tag purge needs DM.DEL of every key of the edge map", () => {
    expect(checkPurge(node, "edge", "Bearer purger:p-pw", "*")).toBeNull();
    expect(checkPurge(node, "other", "Bearer purger:p-pw", "*")?.status).toBe(403);
    expect(checkPurge(node, "edge", null, "*")?.status).toBe(401);
  });

  test("an open default user may purge without credentials", () => {
    const open = testNode().node;
    expect(checkPurge(open, "edge", null, "/x")).toBeNull();
  });

  test("POST /v1/edge/purge: 404 without an edge cache, checks credentials and the body, answers the purge", async () => {
    const calls: string[][] = [];
    let running = false;
    const app = createHttpApp(node, {
      auth: node,
      edge: () =>
        running
          ? {
              purgeTags: async (tags) => {
                calls.push([...tags]);
                return { purged: 3, unreachable: [] };
              },
              authorize: (a) => checkPurge(node, "edge", a, "*"),
            }
          : undefined,
    });
    const post = (body: string, authorization = "Bearer admin:admin-pw") =>
      app.request("/v1/edge/purge", { method: "POST", body, headers: { authorization, "content-type": "application/json" } });
    expect((await post('{"tags":["a"]}')).status).toBe(404);
    running = true;
    expect((await post('{"tags":["a"]}', "Bearer reader:r-pw")).status).toBe(403);
    expect((await post('{"tags":["a"]}', "Bearer nobody:x")).status).toBe(401);
    expect((await post("not json")).status).toBe(400);
    expect((await post('{"tags":[]}')).status).toBe(400);
    expect((await post('{"tags":["a"],"extra":1}')).status).toBe(400);
    const ok = await post('{"tags":["product-1","all"]}', basic("purger", "p-pw"));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ purged: 3, unreachable: [] });
    expect(calls).toEqual([["product-1", "all"]]);
  });
});
