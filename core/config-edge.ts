/**
 * The edge-cache settings of the configuration schema (see core/edge/): the
 * origin(s) a node caches in front of, the edge listener's port, and the
 * caching limits. Kept apart from config.ts so the schema there only spreads
 * these fields in and calls {@link checkEdge}.
 */
import { z } from "zod";
import { durationField, intField, sizeField, stringField } from "./config-fields.ts";

const MiB = 1024 * 1024;

/** Largest cacheable object: a cached object travels between nodes in one peer frame (64 MiB). */
export const EDGE_MAX_OBJECT_LIMIT = 48 * MiB;

/**
 * An origin base URL: http(s), no query, fragment or credentials; the
 * trailing slash of its path is dropped (request paths are appended to it).
 */
export const OriginUrl = z.string({ error: "expected an http:// or https:// URL" }).transform((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    ctx.addIssue({ code: "custom", message: "expected an http:// or https:// URL such as http://127.0.0.1:8080" });
    return z.NEVER;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    ctx.addIssue({ code: "custom", message: `expected an http:// or https:// URL (scheme ${url.protocol} is not supported)` });
    return z.NEVER;
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    ctx.addIssue({ code: "custom", message: "an origin URL takes no query, fragment or credentials (request paths are appended to it)" });
    return z.NEVER;
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
});

/** One `routes:` entry of shoal.yaml: requests whose path starts with `prefix` go to `origin`. */
export const EdgeRoute = z
  .preprocess(
    // the schema parses twice (per source, then as a whole): accept its own output form too
    (v) => (v !== null && typeof v === "object" && "ttlMs" in v && !("ttl" in v) ? (({ ttlMs, ...rest }) => ({ ...rest, ttl: ttlMs }))(v as { ttlMs: unknown }) : v),
    z.object({
    prefix: z.string({ error: "expected a path prefix such as /static/" }).startsWith("/", { error: "a route prefix starts with /" }),
    origin: OriginUrl,
    ttl: durationField({ group: "routes", description: "freshness of responses that carry none" }).optional(),
    }).strict(),
  )
  .transform((r) => ({ prefix: r.prefix, origin: r.origin, ...(r.ttl !== undefined ? { ttlMs: r.ttl } : {}) }));

/** A validated route: `ttlMs` overrides --edge-ttl for responses without explicit freshness. */
export type EdgeRoute = z.output<typeof EdgeRoute>;

/** The edge fields of the schema; spread into ShoalConfigFields. */
export const EDGE_FIELDS = {
  origin: OriginUrl.optional().meta({
    group: "Edge cache",
    description: "origin to cache in front of: turns on the edge listener (GET/HEAD cached, other methods forwarded)",
    arg: "<url>",
    kind: "string",
    shown: "none",
  }),
  routes: z
    .array(EdgeRoute)
    .default([])
    .meta({
      group: "Edge cache",
      description: "origins per path prefix (longest prefix wins; --origin is the route for /): routes: [{ prefix: /api/, origin: http://10.0.0.9:8080, ttl: 30s }]",
      arg: "",
      kind: "list",
      yamlOnly: true,
    }),
  edgePort: intField(1, 65535, { group: "Edge cache", description: "port of the edge (caching reverse proxy) listener" }).default(3390),
  edgeMap: stringField({ group: "Edge cache", description: "named map that holds cached objects" }).default("edge"),
  edgeMaxObjectSize: sizeField({
    group: "Edge cache",
    description: "largest cached object; larger responses stream through uncached (at most 48mb)",
  }).default(8 * MiB),
  edgeMaxMemory: sizeField({ group: "Edge cache", description: "bytes of cached objects per node before LRU eviction (0 = unlimited; maps.<edge-map>.max_inuse wins)" }).default(
    256 * MiB,
  ),
  edgeTtlMs: durationField({
    group: "Edge cache",
    description: "freshness of responses without max-age, s-maxage or Expires (0 = RFC 9111 heuristic: 10% of the Last-Modified age)",
  }).default(0),
  edgeKeepMs: durationField({ group: "Edge cache", description: "keep stale objects that have an ETag or Last-Modified this long, for revalidation" }).default(3_600_000),
  edgeOriginTimeoutMs: durationField({ group: "Edge cache", description: "wait this long for an origin's response headers (and a cached body)" }).default(10_000),
} as const;

/** The edge fields as validated. */
export interface EdgeSettings {
  origin?: string;
  routes: EdgeRoute[];
  edgePort: number;
  edgeMap: string;
  edgeMaxObjectSize: number;
  edgeMaxMemory: number;
  edgeTtlMs: number;
  edgeKeepMs: number;
  edgeOriginTimeoutMs: number;
}

type Issues = { addIssue(issue: { code: "custom"; path: string[]; message: string }): void };

/** Whether the configuration turns the edge listener on (an --origin or at least one route). */
export function edgeEnabled(c: Pick<EdgeSettings, "origin" | "routes">): boolean {
  return c.origin !== undefined || c.routes.length > 0;
}

/** Cross-field checks of the edge settings: object size against the peer frame and the value limit, port clashes. */
export function checkEdge(c: EdgeSettings & { maxValueBytes: number; ports: Array<[string, number]> }, ctx: Issues): void {
  if (c.edgeMaxObjectSize > EDGE_MAX_OBJECT_LIMIT) {
    ctx.addIssue({ code: "custom", path: ["edgeMaxObjectSize"], message: `at most 48mb (cached objects travel between nodes in one peer frame), got ${c.edgeMaxObjectSize} bytes` });
  }
  if (!edgeEnabled(c)) return;
  if (c.edgeMaxObjectSize > c.maxValueBytes) {
    ctx.addIssue({
      code: "custom",
      path: ["edgeMaxObjectSize"],
      message: `must not exceed --max-value-bytes (${c.maxValueBytes}): cached objects are map values; lower it to ${c.maxValueBytes} or less, got ${c.edgeMaxObjectSize}`,
    });
  }
  for (const [flag, port] of c.ports) {
    if (port === c.edgePort) ctx.addIssue({ code: "custom", path: ["edgePort"], message: `must differ from ${flag} (${port})` });
  }
  const seen = new Set<string>();
  for (const r of c.routes) {
    if (seen.has(r.prefix)) ctx.addIssue({ code: "custom", path: ["routes"], message: `prefix ${r.prefix} is listed twice` });
    seen.add(r.prefix);
  }
}
