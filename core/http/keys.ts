/**
 * Map and key routes of the HTTP API:
 *
 *   GET    /v1/maps                        names and sizes of the maps
 *   DELETE /v1/maps/:map                   removes every key of a map
 *   GET    /v1/maps/:map/keys              cursor scan (?cursor=&count=&match=&encoding=base64)
 *   GET    /v1/maps/:map/keys/:key         the value (HEAD too), ETag, If-None-Match → 304
 *   PUT    /v1/maps/:map/keys/:key         stores the body (?ttl=, X-Shoal-TTL, ?nx=1, ?xx=1)
 *   DELETE /v1/maps/:map/keys/:key         204, or 404 when missing
 *
 * Keys are the URL-decoded path after `/keys/` (it may contain `/`), taken
 * as UTF-8. URL parsing normalizes `.`/`..` segments, so send such keys
 * percent-encoded (`%2E`); escapes that are not valid UTF-8 (`%FF`) stay
 * literal, so keys that are not UTF-8 are reachable over RESP only. The map
 * `default` is the one plain Redis commands use. Values are raw bytes; their Content-Type is remembered in a
 * {@link ContentTypeTable}, never inside the stored value.
 */
import { type Context, Hono } from "hono";
import type { DMap, PutOptions } from "../api.ts";
import { base64 } from "./base64.ts";
import type { ContentTypeTable } from "./content-types.ts";
import { etagOf, ifNoneMatchHits, valueHash } from "./etag.ts";
import type { HttpNode } from "./node.ts";
import { BadRequest, checkName, parseFlag, parseIntParam, parseTtl, readBodyCapped } from "./params.ts";
import { jsonError } from "./problem.ts";

/** Limits the key routes enforce. */
export interface KeyRouteLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
}

const MAX_SCAN_COUNT = 10_000;

/** Builds the /v1/maps routes (mount under "/v1/maps"). */
export function keyRoutes(node: HttpNode, limits: KeyRouteLimits, types: ContentTypeTable): Hono {
  const app = new Hono();

  const names = (c: Context): { map: string; key: string } => {
    const map = c.req.param("map") ?? "";
    const key = c.req.param("key") ?? "";
    checkName(map, "map", limits.maxKeyBytes);
    checkName(key, "key", limits.maxKeyBytes);
    return { map, key };
  };

  /** The map when it exists; never creates one. */
  const existing = (name: string): DMap | undefined =>
    node.findMap ? node.findMap(name) : node.mapNames().includes(name) ? node.map(name) : undefined;

  app.get("/", (c) => {
    const maps = node.mapNames().map((name) => ({ name, size: node.map(name).size() }));
    return c.json({ maps });
  });

  app.delete("/:map", (c) => {
    const map = c.req.param("map");
    checkName(map, "map", limits.maxKeyBytes);
    const m = existing(map);
    if (!m) return jsonError(c, 404, "NOSUCHMAP", `map "${map}" does not exist`);
    const removed = m.size();
    if (node.destroyMap) node.destroyMap(map);
    else m.clear();
    types.forgetMap(map);
    return c.json({ map, removed });
  });

  app.get("/:map/keys", (c) => {
    const map = c.req.param("map");
    checkName(map, "map", limits.maxKeyBytes);
    const cursor = parseIntParam(c.req.query("cursor"), "cursor", 0, 0, Number.MAX_SAFE_INTEGER);
    const count = parseIntParam(c.req.query("count"), "count", 10, 1, MAX_SCAN_COUNT);
    const match = c.req.query("match") || undefined;
    const encoding = c.req.query("encoding") ?? "utf-8";
    if (encoding !== "utf-8" && encoding !== "base64") {
      throw new BadRequest(`?encoding= expects utf-8 or base64, got "${encoding}"`);
    }
    const page = existing(map)?.scan(cursor, count, match) ?? { cursor: 0, keys: [] };
    const decoder = new TextDecoder();
    const keys = page.keys.map((k) => (encoding === "base64" ? base64(k) : decoder.decode(k)));
    return c.json({ cursor: page.cursor, keys });
  });

  app.get("/:map/keys/:key{.+}", (c) => {
    const { map, key } = names(c);
    const m = existing(map);
    if (m === undefined) node.stats.misses++; // a missing map is a keyspace miss, as the store counts one
    const value = m ? m.get(key) : null;
    if (m === undefined || value === null) return jsonError(c, 404, "KEYNOTFOUND", `key "${key}" not found in map "${map}"`);
    const hash = valueHash(value);
    const etag = etagOf(hash, value.length);
    const inm = c.req.header("if-none-match");
    if (inm !== undefined && ifNoneMatchHits(inm, etag)) {
      return c.body(null, 304, { etag });
    }
    const headers: Record<string, string> = { etag, "content-type": types.typeOf(map, key, hash) };
    const ttl = m.ttl(key);
    if (ttl >= 0) headers["x-shoal-ttl-ms"] = String(ttl);
    // Copy: the store may hand out a view into memory it reuses after this call.
    return c.body(value.slice(), 200, headers);
  });

  app.put("/:map/keys/:key{.+}", async (c) => {
    const { map, key } = names(c);
    const opts = putOptions(c);
    const body = await readBodyCapped(c.req.raw, limits.maxValueBytes);
    if (!node.map(map).put(key, body, opts)) {
      return opts.nx
        ? jsonError(c, 412, "KEYFOUND", `key "${key}" already exists in map "${map}" (nx)`)
        : jsonError(c, 412, "KEYNOTFOUND", `key "${key}" does not exist in map "${map}" (xx)`);
    }
    const hash = valueHash(body);
    types.remember(map, key, c.req.header("content-type"), hash);
    return c.body(null, 204, { etag: etagOf(hash, body.length) });
  });

  app.delete("/:map/keys/:key{.+}", (c) => {
    const { map, key } = names(c);
    types.forget(map, key);
    if (!existing(map)?.delete(key)) return jsonError(c, 404, "KEYNOTFOUND", `key "${key}" not found in map "${map}"`);
    return c.body(null, 204);
  });

  return app;
}

/** TTL and NX/XX of a PUT, from the query, X-Shoal-TTL and If-None-Match/If-Match: *. */
function putOptions(c: Context): PutOptions {
  const q = c.req.query("ttl");
  const h = c.req.header("x-shoal-ttl");
  if (q !== undefined && h !== undefined) {
    throw new BadRequest("give the TTL either as ?ttl= or as the X-Shoal-TTL header, not both");
  }
  const opts: PutOptions = {};
  if (q !== undefined) opts.ttlMs = parseTtl(q, "?ttl=");
  if (h !== undefined) opts.ttlMs = parseTtl(h, "X-Shoal-TTL");
  const nx = parseFlag(c.req.query("nx"), "nx") || c.req.header("if-none-match")?.trim() === "*";
  const xx = parseFlag(c.req.query("xx"), "xx") || c.req.header("if-match")?.trim() === "*";
  if (nx && xx) throw new BadRequest("nx and xx exclude each other; give at most one");
  if (nx) opts.nx = true;
  if (xx) opts.xx = true;
  return opts;
}
