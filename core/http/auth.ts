/**
 * HTTP authentication and authorization with the node's ACL users (the same
 * users as RESP AUTH). Credentials, in order of preference:
 *
 *   Authorization: Basic base64(user:password)
 *   Authorization: Bearer user:password
 *   Authorization: Bearer password          (the `default` user, --requirepass)
 *
 * Without credentials a request runs as `default` when that user is `on
 * nopass`, else 401. Each route is checked as the RESP command it amounts
 * to, with the key name rules of acl.ts (`map/key`, default map unprefixed):
 *
 *   GET /v1/maps                     DM.MAPS
 *   DELETE /v1/maps/:map             DM.DESTROY   key <map>/*  (and DM.MAPS, for the count)
 *   GET /v1/maps/:map/keys           DM.SCANALL   key <map>/*
 *   GET|HEAD /v1/maps/:map/keys/:key DM.GET       key <map>/<key>
 *   PUT /v1/maps/:map/keys/:key      DM.PUT
 *   DELETE /v1/maps/:map/keys/:key   DM.DEL
 *   GET /v1/pubsub/:channel          SUBSCRIBE (PSUBSCRIBE with ?pattern=1)
 *   POST /v1/pubsub/:channel         PUBLISH
 *   GET /metrics, /v1/stats, /v1/cluster   INFO
 *   GET /ui, /ui/*                    INFO (the dashboard; a 401 there asks browsers for Basic credentials)
 *   /v1/faults, /v1/debug/local-keys CONFIG|SET (admin)
 *
 * 401 for missing or wrong credentials, 403 NOPERM for a forbidden route.
 * /healthz and /readyz stay open. Passwords are never logged or echoed.
 * The user is left in the request context (`c.get("user")`): the routes run
 * their commands as that user, so the same checks hold again on the node
 * that owns the key.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Clock } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import { type Acl, type AclCommand, type AclUser, noPermCommand } from "../protocol/acl.ts";
import type { HttpEnv } from "./node.ts";
import { jsonError } from "./problem.ts";

/** What the middleware needs from the node. */
export interface HttpAuthNode {
  readonly acl: Acl;
  readonly commands: { readonly byName: ReadonlyMap<string, AclCommand> };
  readonly log?: Logger;
  /** Rate-limits the refusal log lines (one a second); without it every refusal is logged. */
  readonly clock?: Clock;
}

/** Routes that answer without credentials (probes). */
const OPEN_PATHS = new Set(["/healthz", "/readyz"]);

/** What a request amounts to for the ACL check. */
interface RouteAccess {
  command: string;
  sub?: string;
  map?: string;
  keys?: string[];
  channels?: string[];
  pattern?: boolean;
}

const decode = (s: string): string | null => {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
};

/** Whether `path` is the dashboard's (/ui or under it). */
const isUiPath = (path: string): boolean => path === "/ui" || path.startsWith("/ui/");

/** The RESP equivalent of a request, or null when no rule applies (unknown routes 404 as usual). */
export function routeAccess(method: string, path: string, query: (name: string) => string | undefined): RouteAccess | null {
  if (path === "/metrics" || path === "/v1/stats" || path === "/v1/cluster" || isUiPath(path)) return { command: "info" };
  if (path === "/v1/faults" || path.startsWith("/v1/faults/")) return { command: "config", sub: "set" };
  const m = method === "HEAD" ? "GET" : method;
  if (path === "/v1/maps" || path === "/v1/maps/") return m === "GET" ? { command: "dm.maps" } : null;
  if (path === "/v1/debug/local-keys") return { command: "config", sub: "set" };
  if (path.startsWith("/v1/pubsub/")) {
    const channel = decode(path.slice("/v1/pubsub/".length));
    if (channel === null) return null;
    if (m === "POST") return { command: "publish", channels: [channel] };
    const pattern = /^(1|true|yes)$/i.test(query("pattern") ?? "");
    return { command: pattern ? "psubscribe" : "subscribe", channels: [channel], pattern };
  }
  const km = /^\/v1\/maps\/([^/]+)(\/keys(?:\/(.+))?)?$/.exec(path);
  if (!km) return null;
  const map = decode(km[1]!);
  if (map === null) return null;
  const rawKey = km[3];
  if (rawKey === undefined) {
    if (km[2] !== undefined) return m === "GET" ? { command: "dm.scanall", map, keys: ["*"] } : null;
    return m === "DELETE" ? { command: "dm.destroy", map, keys: ["*"] } : null;
  }
  const key = decode(rawKey);
  if (key === null) return null;
  const command = m === "GET" ? "dm.get" : m === "PUT" ? "dm.put" : m === "DELETE" ? "dm.del" : null;
  return command ? { command, map, keys: [key] } : null;
}

/** Decodes Basic/Bearer credentials into [user, password] candidates, best first. */
export function credentials(header: string): Array<[string, string]> {
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic) {
    let text: string;
    try {
      text = new TextDecoder().decode(Uint8Array.from(atob(basic[1]!), (ch) => ch.charCodeAt(0)));
    } catch {
      return [];
    }
    const i = text.indexOf(":");
    return i < 0 ? [["default", text]] : [[text.slice(0, i), text.slice(i + 1)]];
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (!bearer) return [];
  const token = bearer[1]!.trim();
  const i = token.indexOf(":");
  const out: Array<[string, string]> = [];
  if (i > 0) out.push([token.slice(0, i), token.slice(i + 1)]);
  out.push(["default", token]);
  return out;
}

/** The authenticated user of a request, or null. */
function userOf(node: HttpAuthNode, c: Context): AclUser | null {
  const header = c.req.header("authorization");
  if (header === undefined || header === "") return node.acl.defaultIsOpen() ? node.acl.defaultUser : null;
  for (const [user, pass] of credentials(header)) {
    const u = node.acl.authenticate(user, pass);
    if (u) return u;
  }
  return null;
}

/** Hono middleware: authenticates every request (but probes) and checks its route against the user's ACL. */
export function httpAuth(node: HttpAuthNode): MiddlewareHandler<HttpEnv> {
  let lastLog = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  const logRefusal = (path: string): void => {
    const now = node.clock?.monotonic() ?? Number.POSITIVE_INFINITY;
    if (now - lastLog < 1000) {
      suppressed++;
      return;
    }
    node.log?.warn("http client refused: authentication failed", { path: path.slice(0, 128), ...(suppressed > 0 ? { suppressed } : {}) });
    lastLog = now;
    suppressed = 0;
  };
  return async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    const user = userOf(node, c);
    if (!user) {
      logRefusal(c.req.path);
      // a browser opening the dashboard asks its user for a name and password only for a Basic challenge
      c.header("www-authenticate", isUiPath(c.req.path) ? 'Basic realm="shoal", charset="UTF-8"' : 'Bearer realm="shoal"');
      return jsonError(c, 401, "NOAUTH", "send Authorization: Bearer <user>:<password> (or Basic) for a configured user");
    }
    c.set("user", user);
    if (user.unrestricted) return next();
    const access = routeAccess(c.req.method, c.req.path, (n) => c.req.query(n));
    if (access === null) return next();
    const command = node.commands.byName.get(access.command);
    const denied = command
      ? node.acl.checkParts(user, command, access)
      : noPermCommand(access.command);
    if (denied !== null) return jsonError(c, 403, "NOPERM", denied.replace(/^NOPERM /, ""));
    return next();
  };
}
