/** JSON error bodies of the HTTP API: `{ "error": CODE, "message": text }`. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Answers `status` with `{ error: code, message }`. */
export function jsonError(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  return c.json({ error: code, message }, status);
}
