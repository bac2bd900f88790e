/**
 * The recv stage: what to do with a request on the edge port. GET and HEAD
 * are looked up in the cache, PURGE drops an object, every other method is
 * forwarded to the origin. The route (longest matching path prefix) names
 * the origin; the origin URL is the origin base + the request's path and query.
 */
import { MAX_TARGET_LENGTH } from "./cache-key.ts";
import type { HeaderList } from "./headers.ts";

/** A request as the edge stages see it (the listener adapts its runtime's request to this). */
export interface EdgeRequest {
  /** Upper-case method. */
  method: string;
  /** Path and query as received ("/a/b?c=1"). */
  target: string;
  /** A request field by lower-case name (repeated fields joined with ", "), or null. */
  header(name: string): string | null;
  /** Every request field, lower-case names. */
  headers(): HeaderList;
  /** The client's address, for X-Forwarded-For. */
  clientIp: string;
  /** The request body (methods other than GET/HEAD), or null. */
  body: ReadableStream<Uint8Array> | null;
}

/** A route: requests under `prefix` go to `origin`; `ttlMs` is the freshness of responses that carry none. */
export interface EdgeRouteSpec {
  prefix: string;
  origin: string;
  ttlMs?: number;
}

/** What the edge does with a request. */
export type RecvDecision =
  | { kind: "lookup"; url: string; route: EdgeRouteSpec }
  | { kind: "forward"; url: string; route: EdgeRouteSpec }
  | { kind: "purge"; url: string; route: EdgeRouteSpec }
  | { kind: "reject"; status: number; message: string };

/** The routes of a node, longest prefix first. */
export class RouteTable {
  private readonly routes: EdgeRouteSpec[];

  /** `origin`: the route for "/" (--origin); `routes`: shoal.yaml's routes (they win over it). */
  constructor(origin: string | undefined, routes: readonly EdgeRouteSpec[]) {
    const all = [...routes];
    if (origin !== undefined && !all.some((r) => r.prefix === "/")) all.push({ prefix: "/", origin });
    this.routes = all.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The route of a path, or null. */
  match(path: string): EdgeRouteSpec | null {
    for (const r of this.routes) if (path.startsWith(r.prefix)) return r;
    return null;
  }

  /** Every route (longest prefix first). */
  list(): readonly EdgeRouteSpec[] {
    return this.routes;
  }
}

/** Decides what to do with `req`. */
export function recv(req: Pick<EdgeRequest, "method" | "target">, routes: RouteTable): RecvDecision {
  const target = req.target;
  if (target.length > MAX_TARGET_LENGTH) return { kind: "reject", status: 414, message: `request target longer than ${MAX_TARGET_LENGTH} characters` };
  if (!target.startsWith("/")) return { kind: "reject", status: 400, message: "request target must be a path (origin-form), such as /index.html" };
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const route = routes.match(path);
  if (route === null) return { kind: "reject", status: 404, message: `no edge route for ${path.slice(0, 200)} (configure --origin or routes: in shoal.yaml)` };
  const url = route.origin + target;
  if (req.method === "GET" || req.method === "HEAD") return { kind: "lookup", url, route };
  if (req.method === "PURGE") return { kind: "purge", url, route };
  return { kind: "forward", url, route };
}
