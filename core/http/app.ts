/**
 * The runtime-neutral HTTP API of a node, built on hono. Runtime adapters
 * (Bun.serve, Deno.serve) only pass requests to `app.fetch`.
 *
 *   GET  /healthz            200 while the process serves
 *   GET  /readyz             200 when the node is ready, else 503 with a reason
 *   GET  /metrics            Prometheus text exposition 0.0.4
 *   GET  /v1/stats           counters and INFO sections as JSON
 *   GET  /v1/cluster         members as JSON (this node alone unless `cluster` or `clusterView` is given)
 *   *    /v1/maps/...        maps and keys, see keys.ts
 *   GET  /v1/pubsub/:channel SSE subscription (?pattern=1), see sse.ts
 *   POST /v1/pubsub/:channel publishes the body (PUBLISH: every member's subscribers), answers {receivers}
 *   *    /v1/faults          fault injection, only with the `faults` option (see faults.ts)
 *   POST /v1/edge/purge      purge cached objects by Surrogate-Key tag, with the `edge` option (see edge-routes.ts)
 *   GET  /v1/debug/local-keys  this node's own copies, only with `debugRoutes` (see debug.ts)
 *   GET  /ui, /ui/*          the live dashboard, with the `ui` option (see ui-routes.ts)
 *
 * Keys, maps and publish run as the request's user through the command
 * gateway, so in a cluster they are routed, replicated and checked exactly
 * like RESP commands. An SSE subscription listens on this node's hub, which
 * every member's PUBLISH reaches.
 *
 * Errors are problem+json (problem.ts): 400 bad input, 401 missing/wrong
 * credentials, 403 NOPERM, 404 missing key or route, 412 NX/XX not met,
 * 413 value too large, 414 key/map/channel too long, 503 not ready, too many
 * subscribers, or a cluster condition (WRITEQUORUM, CLUSTERDOWN, TRYAGAIN…,
 * with Retry-After); command errors map through core/errors.ts.
 */
import { Hono } from "hono";
import { ShoalError } from "../errors.ts";
import { CommandGateway, type GatewayHost } from "../gateway/gateway.ts";
import { httpAuth } from "./auth.ts";
import { ContentTypeTable } from "./content-types.ts";
import { debugRoutes } from "./debug.ts";
import { edgeRoutes } from "./edge-routes.ts";
import { faultRoutes } from "./faults.ts";
import { keyRoutes } from "./keys.ts";
import { HttpRequestCounter, METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import type { ClusterView, HttpEnv, HttpNode, HttpOptions } from "./node.ts";
import { BadRequest, checkName, parseFlag, readBodyCapped } from "./params.ts";
import { commandError, jsonError } from "./problem.ts";
import { SubscriberCount, sseResponse } from "./sse.ts";
import { uiRoutes } from "./ui-routes.ts";

export type { ClusterView, HttpEnv, HttpNode, HttpOptions } from "./node.ts";

const DEFAULTS = {
  maxValueBytes: 512 * 1024 * 1024,
  maxKeyBytes: 64 * 1024,
  maxContentTypes: 100_000,
  maxSubscribers: 10_000,
  subscriberBufferBytes: 8 * 1024 * 1024,
  keepAliveMs: 5_000,
};

/** Routes that answer without a token even when auth is on (probes). */
const OPEN_PATHS = new Set(["/healthz", "/readyz"]);

/**
 * Builds the HTTP API for `node`.
 * @param opts limits, auth tokens and hooks; see {@link HttpOptions}.
 */
export function createHttpApp(node: HttpNode & GatewayHost, opts: HttpOptions = {}): Hono<HttpEnv> {
  const limits = { maxKeyBytes: node.config?.maxKeyBytes, maxValueBytes: node.config?.maxValueBytes };
  const cfg = { ...DEFAULTS, ...definedOnly(limits), ...definedOnly(opts) };
  const app = new Hono<HttpEnv>();
  const gateway = opts.gateway ?? new CommandGateway(node);
  const requests = new HttpRequestCounter();
  const subscribers = new SubscriberCount();
  const types = new ContentTypeTable(cfg.maxContentTypes);
  const tokens = (opts.authTokens ?? []).filter((t) => t.length > 0);

  app.use(async (c, next) => {
    const start = node.clock.monotonic();
    await next();
    requests.count(c.req.method, c.res.status, Math.max(0, node.clock.monotonic() - start) / 1000);
  });

  if (opts.auth) app.use(httpAuth(opts.auth));
  else if (tokens.length > 0) {
    app.use(async (c, next) => {
      if (OPEN_PATHS.has(c.req.path)) return next();
      const auth = c.req.header("authorization") ?? "";
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!m || !tokens.some((t) => constantTimeEqual(t, m[1]!.trim()))) {
        c.header("www-authenticate", 'Bearer realm="shoal"');
        return jsonError(c, 401, "NOAUTH", "send Authorization: Bearer <token> with a configured token");
      }
      return next();
    });
  }
  app.use(async (c, next) => {
    if (c.get("user") === undefined) c.set("user", node.acl.defaultUser);
    return next();
  });

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", (c) => {
    if (node.ready) return c.json({ ready: true });
    const reason = opts.notReadyReason?.() ?? "node is starting: partitions not yet synced";
    return c.json({ ready: false, reason }, 503);
  });

  app.get("/metrics", (c) =>
    c.body(renderMetrics(node, opts.rssBytes, requests, opts.cluster?.()) + (opts.edgeMetrics?.() ?? ""), 200, { "content-type": METRICS_CONTENT_TYPE }),
  );

  app.get("/v1/stats", (c) => {
    const s = node.stats;
    return c.json({
      uptimeMs: Math.max(0, node.clock.now() - s.startedAtMs),
      keys: node.keyCount(),
      memoryBytes: node.memoryBytes(),
      commands: Object.fromEntries(s.commands),
      hits: s.hits,
      misses: s.misses,
      evictions: s.evictions,
      expirations: s.expirations,
      connections: { current: s.connectionsCurrent, total: s.connectionsTotal, rejected: s.rejectedConnections },
      protocolErrors: s.protocolErrors,
      net: { inputBytes: s.netInputBytes, outputBytes: s.netOutputBytes },
      latencySeconds: { p50: s.latency.quantile(0.5), p99: s.latency.quantile(0.99), count: s.latency.count },
      sse: { subscribers: subscribers.current, total: subscribers.total },
      info: node.info(),
    });
  });

  app.get("/v1/cluster", (c) => c.json(opts.clusterView?.() ?? opts.cluster?.() ?? singleNodeView(node)));

  app.route("/v1/maps", keyRoutes(gateway, cfg, types));

  if (opts.faults) app.route("/v1/faults", faultRoutes(opts.faults));
  if (opts.edge) app.route("/v1/edge", edgeRoutes(opts.edge));
  if (opts.debugRoutes) app.route("/v1/debug", debugRoutes(node, cfg.maxKeyBytes));
  if (opts.ui) {
    app.route("/ui", uiRoutes(opts.ui));
    app.get("/ui/", (c) => c.redirect("../ui", 301));
  }

  app.get("/v1/pubsub/:channel{.+}", (c) => {
    const channel = c.req.param("channel");
    checkName(channel, "channel", cfg.maxKeyBytes);
    const encoding = c.req.query("encoding") ?? "text";
    if (encoding !== "text" && encoding !== "base64") {
      throw new BadRequest(`?encoding= expects text or base64, got "${encoding}"`);
    }
    const format = c.req.query("format") ?? "text";
    if (format !== "text" && format !== "json") throw new BadRequest(`?format= expects text or json, got "${format}"`);
    const pattern = parseFlag(c.req.query("pattern"), "pattern");
    // HEAD gets the headers only: a stream nobody reads would never be cancelled and leak a subscriber
    if (c.req.method === "HEAD") return c.body(null, 200, { "content-type": "text/event-stream; charset=utf-8" });
    if (subscribers.current >= cfg.maxSubscribers) {
      return jsonError(c, 503, "TOOMANYSUBSCRIBERS", `the node already serves ${cfg.maxSubscribers} SSE subscribers`);
    }
    return sseResponse(
      node.pubsub,
      node.clock,
      {
        channel,
        pattern,
        encoding,
        json: format === "json",
        keepAliveMs: cfg.keepAliveMs,
        bufferBytes: cfg.subscriberBufferBytes,
        signal: c.req.raw.signal,
      },
      subscribers,
    );
  });

  app.post("/v1/pubsub/:channel{.+}", async (c) => {
    const channel = c.req.param("channel");
    checkName(channel, "channel", cfg.maxKeyBytes);
    const body = await readBodyCapped(c.req.raw, cfg.maxValueBytes);
    const v = await gateway.run(c.get("user"), ["PUBLISH", channel, body]);
    if (v.kind === "error") return commandError(c, v);
    if (v.kind !== "int") return jsonError(c, 500, "INTERNAL", `PUBLISH answered an unexpected ${v.kind} reply`);
    return c.json({ receivers: v.value });
  });

  app.notFound((c) => jsonError(c, 404, "NOTFOUND", `no route for ${c.req.method} ${c.req.path}`));

  app.onError((err, c) => {
    if (err instanceof BadRequest) return jsonError(c, err.status, err.code, err.message);
    if (err instanceof ShoalError) return jsonError(c, err.status as 400, err.prefix, err.message);
    return jsonError(c, 500, "INTERNAL", err.message || "internal error");
  });

  return app;
}

/** GET /v1/cluster for a node without a cluster layer. */
function singleNodeView(node: HttpNode): ClusterView {
  const server = node.info().server ?? {};
  const id = String(server.node_name ?? server.run_id ?? "self");
  return { members: [{ id, self: true, ready: node.ready, keys: node.keyCount() }] };
}

/** Compares two strings in time independent of where they differ. */
function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i % (b.length || 1));
  return diff === 0;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
