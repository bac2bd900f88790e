/**
 * The edge cache's route on the HTTP API (only when the node runs an edge
 * cache, see core/edge/):
 *
 *   POST /v1/edge/purge   {"tags": ["product-1", …]}  → {"purged": n, "unreachable": [members]}
 *
 * drops, on every member, each cached object whose origin response carried
 * one of the tags in Surrogate-Key. Checked as DM.DEL of every key of the
 * edge map (core/edge/purge-auth.ts), after the API's own authentication.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { HttpEnv } from "./node.ts";
import { BadRequest, readBodyCapped } from "./params.ts";
import { jsonError } from "./problem.ts";

/** What the route needs from the edge cache. */
export interface EdgeHttpHooks {
  /** Purges by tag on every member. */
  purgeTags(tags: readonly string[]): Promise<{ purged: number; unreachable: string[] }>;
  /** Whether the request's `Authorization` value may purge: null, or the refusal. */
  authorize(authorization: string | null): { status: number; message: string } | null;
}

const PurgeBody = z.object({ tags: z.array(z.string().min(1).max(256)).min(1).max(1024) }).strict();

/** Largest purge body accepted, bytes. */
const MAX_BODY = 512 * 1024;

/** The /v1/edge routes; `edge()` is undefined while the node runs no edge cache (then 404). */
export function edgeRoutes(edge: () => EdgeHttpHooks | undefined): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.post("/purge", async (c) => {
    const hooks = edge();
    if (hooks === undefined) return jsonError(c, 404, "NOTFOUND", "this node runs no edge cache (start it with --origin or routes: in shoal.yaml)");
    const refused = hooks.authorize(c.req.header("authorization") ?? null);
    if (refused !== null) return jsonError(c, refused.status === 401 ? 401 : 403, refused.status === 401 ? "NOAUTH" : "NOPERM", refused.message);
    const raw = new TextDecoder().decode(await readBodyCapped(c.req.raw, MAX_BODY));
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new BadRequest('expected a JSON body such as {"tags": ["product-1"]}');
    }
    const body = PurgeBody.safeParse(json);
    if (!body.success) throw new BadRequest(`expected {"tags": [1-1024 non-empty strings of at most 256 characters]}: ${body.error.issues[0]?.message ?? "invalid"}`);
    return c.json(await hooks.purgeTags(body.data.tags));
  });
  return app;
}
