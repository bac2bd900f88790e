/**
 * Map and key routes of the HTTP API. Each runs as the request's user
 * through the {@link CommandGateway} — the same command path, router,
 * quorums and ACL checks as a RESP client — so in a cluster any node
 * answers for every key:
 *
 *   GET    /v1/maps                    DM.MAPS: names and live keys of the maps (cluster-wide)
 *   DELETE /v1/maps/:map               DM.DESTROY on every member: {map, removed}
 *   GET    /v1/maps/:map/keys          DM.SCANALL: cursor scan (?cursor=&count=&match=&encoding=base64)
 *   GET    /v1/maps/:map/keys/:key     DM.GET … WITHTTL: the value (HEAD too), ETag, If-None-Match → 304
 *   PUT    /v1/maps/:map/keys/:key     DM.PUT: stores the body (?ttl=, X-Shoal-TTL, ?nx=1, ?xx=1)
 *   DELETE /v1/maps/:map/keys/:key     DM.DEL: 204, or 404 when missing
 *
 * Command errors answer problem+json with the status of their code
 * (core/errors.ts): KEYNOTFOUND 404, NOPERM 403, WRITEQUORUM, CLUSTERDOWN,
 * TRYAGAIN… 503 with Retry-After.
 *
 * Keys are the URL-decoded path after `/keys/` (it may contain `/`), taken
 * as UTF-8. URL parsing normalizes `.`/`..` segments, so send such keys
 * percent-encoded (`%2E`); escapes that are not valid UTF-8 (`%FF`) stay
 * literal, so keys that are not UTF-8 are reachable over RESP only. The map
 * `default` is the one plain Redis commands use. Values are raw bytes; their
 * Content-Type is remembered by the node that took the PUT in a
 * {@link ContentTypeTable}, never inside the stored value (other nodes serve
 * application/octet-stream).
 */
import { type Context, Hono } from "hono";
import type { CommandGateway } from "../gateway/gateway.ts";
import type { RespValue } from "../gateway/resp-value.ts";
import { base64 } from "./base64.ts";
import type { ContentTypeTable } from "./content-types.ts";
import { etagOf, ifNoneMatchHits, valueHash } from "./etag.ts";
import type { HttpEnv } from "./node.ts";
import { BadRequest, checkName, parseFlag, parseIntParam, parseTtl, readBodyCapped } from "./params.ts";
import { commandError, jsonError } from "./problem.ts";

/** Limits the key routes enforce. */
export interface KeyRouteLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
}

const MAX_SCAN_COUNT = 10_000;
const dec = new TextDecoder();

/** A reply of an unexpected shape (a bug, not a client error). */
const unexpected = (c: Context, command: string, v: RespValue): Response =>
  jsonError(c, 500, "INTERNAL", `${command} answered an unexpected ${v.kind} reply`);

/** Builds the /v1/maps routes (mount under "/v1/maps"). */
export function keyRoutes(gateway: CommandGateway, limits: KeyRouteLimits, types: ContentTypeTable): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();

  const names = (c: Context<HttpEnv>): { map: string; key: string } => {
    const map = c.req.param("map") ?? "";
    const key = c.req.param("key") ?? "";
    checkName(map, "map", limits.maxKeyBytes);
    checkName(key, "key", limits.maxKeyBytes);
    return { map, key };
  };
  const run = (c: Context<HttpEnv>, argv: (string | Uint8Array)[]): Promise<RespValue> => gateway.run(c.get("user"), argv);

  /** The maps and their live keys, cluster-wide (DM.MAPS from every member, merged by name). */
  const listMaps = async (c: Context<HttpEnv>): Promise<RespValue | Map<string, number>> => {
    const v = await run(c, ["DM.MAPS"]);
    if (v.kind !== "array") return v;
    const sizes = new Map<string, number>();
    for (let i = 0; i + 1 < v.items.length; i += 2) {
      const name = v.items[i]!;
      const size = v.items[i + 1]!;
      if (name.kind !== "bulk" || size.kind !== "int") continue;
      const n = dec.decode(name.value);
      sizes.set(n, (sizes.get(n) ?? 0) + size.value);
    }
    return sizes;
  };

  app.get("/", async (c) => {
    const listed = await listMaps(c);
    if (!(listed instanceof Map)) return listed.kind === "error" ? commandError(c, listed) : unexpected(c, "DM.MAPS", listed);
    return c.json({ maps: [...listed].map(([name, size]) => ({ name, size })) });
  });

  app.delete("/:map", async (c) => {
    const map = c.req.param("map");
    checkName(map, "map", limits.maxKeyBytes);
    const listed = await listMaps(c);
    if (!(listed instanceof Map)) return listed.kind === "error" ? commandError(c, listed) : unexpected(c, "DM.MAPS", listed);
    const removed = listed.get(map);
    if (removed === undefined) return jsonError(c, 404, "NOSUCHMAP", `map "${map}" does not exist`);
    const v = await run(c, ["DM.DESTROY", map]);
    if (v.kind === "error") return commandError(c, v);
    types.forgetMap(map);
    return c.json({ map, removed });
  });

  app.get("/:map/keys", async (c) => {
    const map = c.req.param("map");
    checkName(map, "map", limits.maxKeyBytes);
    const cursor = parseIntParam(c.req.query("cursor"), "cursor", 0, 0, Number.MAX_SAFE_INTEGER);
    const count = parseIntParam(c.req.query("count"), "count", 10, 1, MAX_SCAN_COUNT);
    const match = c.req.query("match") || undefined;
    const encoding = c.req.query("encoding") ?? "utf-8";
    if (encoding !== "utf-8" && encoding !== "base64") {
      throw new BadRequest(`?encoding= expects utf-8 or base64, got "${encoding}"`);
    }
    const argv = ["DM.SCANALL", map, String(cursor), "COUNT", String(count)];
    if (match !== undefined) argv.push("MATCH", match);
    const v = await run(c, argv);
    if (v.kind === "error") return commandError(c, v);
    const [next, list] = v.kind === "array" ? v.items : [];
    if (next?.kind !== "bulk" || list?.kind !== "array") return unexpected(c, "DM.SCANALL", v);
    const keys = list.items.map((k) => (k.kind !== "bulk" ? "" : encoding === "base64" ? base64(k.value) : dec.decode(k.value)));
    return c.json({ cursor: Number(dec.decode(next.value)), keys });
  });

  app.get("/:map/keys/:key{.+}", async (c) => {
    const { map, key } = names(c);
    const v = await run(c, ["DM.GET", map, key, "WITHTTL"]);
    if (v.kind === "error") return commandError(c, v.code === "KEYNOTFOUND" ? { code: v.code, message: `key "${key}" not found in map "${map}"` } : v);
    const [body, ttl] = v.kind === "array" ? v.items : [];
    if (body?.kind !== "bulk" || ttl?.kind !== "int") return unexpected(c, "DM.GET", v);
    const value = body.value;
    const hash = valueHash(value);
    const etag = etagOf(hash, value.length);
    const inm = c.req.header("if-none-match");
    if (inm !== undefined && ifNoneMatchHits(inm, etag)) return c.body(null, 304, { etag });
    const headers: Record<string, string> = { etag, "content-type": types.typeOf(map, key, hash) };
    if (ttl.value >= 0) headers["x-shoal-ttl-ms"] = String(ttl.value);
    return c.body(value as Uint8Array<ArrayBuffer>, 200, headers);
  });

  app.put("/:map/keys/:key{.+}", async (c) => {
    const { map, key } = names(c);
    const opts = putOptions(c);
    const body = await readBodyCapped(c.req.raw, limits.maxValueBytes);
    const v = await run(c, ["DM.PUT", map, key, body, ...opts]);
    if (v.kind === "error") {
      if (v.code === "KEYFOUND") return jsonError(c, 412, "KEYFOUND", `key "${key}" already exists in map "${map}" (nx)`);
      if (v.code === "KEYNOTFOUND") return jsonError(c, 412, "KEYNOTFOUND", `key "${key}" does not exist in map "${map}" (xx)`);
      return commandError(c, v);
    }
    const hash = valueHash(body);
    types.remember(map, key, c.req.header("content-type"), hash);
    return c.body(null, 204, { etag: etagOf(hash, body.length) });
  });

  app.delete("/:map/keys/:key{.+}", async (c) => {
    const { map, key } = names(c);
    const v = await run(c, ["DM.DEL", map, key]);
    if (v.kind === "error") return commandError(c, v);
    types.forget(map, key);
    if (v.kind !== "int") return unexpected(c, "DM.DEL", v);
    if (v.value === 0) return jsonError(c, 404, "KEYNOTFOUND", `key "${key}" not found in map "${map}"`);
    return c.body(null, 204);
  });

  return app;
}

/** DM.PUT options of a PUT (PX, NX, XX) from the query, X-Shoal-TTL and If-None-Match/If-Match: *. */
function putOptions(c: Context<HttpEnv>): string[] {
  const q = c.req.query("ttl");
  const h = c.req.header("x-shoal-ttl");
  if (q !== undefined && h !== undefined) {
    throw new BadRequest("give the TTL either as ?ttl= or as the X-Shoal-TTL header, not both");
  }
  const out: string[] = [];
  if (q !== undefined) out.push("PX", String(parseTtl(q, "?ttl=")));
  if (h !== undefined) out.push("PX", String(parseTtl(h, "X-Shoal-TTL")));
  const nx = parseFlag(c.req.query("nx"), "nx") || c.req.header("if-none-match")?.trim() === "*";
  const xx = parseFlag(c.req.query("xx"), "xx") || c.req.header("if-match")?.trim() === "*";
  if (nx && xx) throw new BadRequest("nx and xx exclude each other; give at most one");
  if (nx) out.push("NX");
  if (xx) out.push("XX");
  return out;
}
