/**
 * The edge port on Bun: Bun.serve hands each request to the runtime-neutral
 * edge cache as an {@link EdgeRequest} and sends back its {@link EdgeResponse}
 * (bodies stream both ways).
 */
import type { Logger } from "../core/discovery.ts";
import type { EdgeResponse } from "../core/edge/deliver.ts";
import type { EdgeRequest } from "../core/edge/recv.ts";

/** A running edge listener. */
export interface EdgeListener {
  port: number;
  stop(): Promise<void>;
}

/** Options of {@link listenEdge}. */
export interface EdgeListenOptions {
  bind: string;
  port: number;
  /** Largest request body forwarded to the origin (bytes). */
  maxRequestBodyBytes: number;
  /** Close a connection idle this long, seconds (Bun's idleTimeout; 0 = never). */
  idleTimeoutSeconds: number;
  log: Logger;
}

/** The path and query of an absolute request URL ("http://h:1/a?b" → "/a?b"). */
export function targetOf(url: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash < 0 ? "/" : url.slice(slash);
}

/**
 * Headers built from a header list, by the list's identity: a hot object's
 * deliveries share one list while its Age stays the same (deliver.ts), and a
 * prebuilt Headers makes a Response several times cheaper to construct than
 * a list of pairs does.
 */
const built = new WeakMap<object, Headers>();

function toResponse(res: EdgeResponse): Response {
  let headers = built.get(res.headers);
  if (headers === undefined) {
    headers = new Headers(res.headers);
    built.set(res.headers, headers);
  }
  return new Response(res.body as BodyInit | null, { status: res.status, headers });
}

/** Serves the edge port: `handle` is the edge cache's (core/edge/edge-cache.ts). */
export function listenEdge(handle: (req: EdgeRequest) => EdgeResponse | Promise<EdgeResponse>, o: EdgeListenOptions): EdgeListener {
  const server = Bun.serve({
    hostname: o.bind,
    port: o.port,
    idleTimeout: o.idleTimeoutSeconds,
    maxRequestBodySize: o.maxRequestBodyBytes,
    fetch(req, srv) {
      const headers = req.headers;
      const r: EdgeRequest = {
        method: req.method,
        target: targetOf(req.url),
        header: (n) => headers.get(n),
        headers: () => [...headers] as [string, string][],
        clientIp: srv.requestIP(req)?.address ?? "",
        body: req.method === "GET" || req.method === "HEAD" ? null : req.body,
      };
      const res = handle(r);
      return res instanceof Promise ? res.then(toResponse) : toResponse(res);
    },
    error(e) {
      o.log.error("edge request failed", { reason: e instanceof Error ? e.message : String(e) });
      return new Response("edge: internal error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
    },
  });
  return {
    port: server.port ?? o.port,
    stop: () => server.stop(true),
  };
}
