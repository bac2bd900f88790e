/**
 * Debug routes (mounted only with {@link HttpOptions.debugRoutes}; `serve`
 * mounts them with --fault-injection, for tests and chaos runs):
 *
 *   GET /v1/debug/local-keys?map=default&cursor=0&count=1000[&encoding=base64]
 *
 * pages through the keys THIS node holds in its own store — owned and
 * replica copies alike, nothing forwarded — so a test can see where each
 * copy lives. Answers `{cursor, keys}`; cursor 0 ends the scan.
 */
import { Hono } from "hono";
import { base64 } from "./base64.ts";
import type { HttpEnv, HttpNode } from "./node.ts";
import { BadRequest, checkName, parseIntParam } from "./params.ts";

const MAX_COUNT = 100_000;

/** Builds the /v1/debug routes (mount under "/v1/debug"). */
export function debugRoutes(node: HttpNode, maxKeyBytes: number): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get("/local-keys", (c) => {
    const map = c.req.query("map") ?? "default";
    checkName(map, "map", maxKeyBytes);
    const cursor = parseIntParam(c.req.query("cursor"), "cursor", 0, 0, Number.MAX_SAFE_INTEGER);
    const count = parseIntParam(c.req.query("count"), "count", 1000, 1, MAX_COUNT);
    const encoding = c.req.query("encoding") ?? "utf-8";
    if (encoding !== "utf-8" && encoding !== "base64") throw new BadRequest(`?encoding= expects utf-8 or base64, got "${encoding}"`);
    const page = node.findMap(map)?.scan(cursor, count) ?? { cursor: 0, keys: [] };
    const dec = new TextDecoder();
    return c.json({ cursor: page.cursor, keys: page.keys.map((k) => (encoding === "base64" ? base64(k) : dec.decode(k))) });
  });
  return app;
}
