/**
 * Error bodies of the HTTP API: `application/problem+json` (RFC 9457)
 *
 *   { "type": "urn:shoal:error:writequorum", "title": "WRITEQUORUM", "status": 503,
 *     "detail": "1 of 2 copies acknowledged the write …",
 *     "error": "WRITEQUORUM", "message": "1 of 2 copies acknowledged the write …" }
 *
 * `error` and `message` repeat `title` and `detail` for clients of the
 * earlier `{error, message}` bodies. A command's error reply is answered
 * with the status of its code from the one table in core/errors.ts
 * ({@link HTTP_ERRORS}), with `Retry-After` for transient cluster conditions.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { httpErrorOf } from "../errors.ts";

/** The media type of error bodies. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Answers `status` with a problem document for error code `code`. */
export function jsonError(c: Context, status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}): Response {
  const body = { type: `urn:shoal:error:${code.toLowerCase()}`, title: code, status, detail: message, error: code, message };
  return c.body(JSON.stringify(body), status, { ...headers, "content-type": PROBLEM_CONTENT_TYPE });
}

/**
 * Answers a command's error reply: the status (and Retry-After) of its code
 * from core/errors.ts, unless `override` names another status for the code
 * in this route (PUT's NX/XX misses are 412 Precondition Failed).
 */
export function commandError(c: Context, e: { code: string; message: string }, override: Readonly<Record<string, ContentfulStatusCode>> = {}): Response {
  const mapped = httpErrorOf(e.code, e.message);
  const status = override[e.code] ?? (mapped.status as ContentfulStatusCode);
  const headers: Record<string, string> = mapped.retryAfter !== undefined ? { "retry-after": String(mapped.retryAfter) } : {};
  return jsonError(c, status, e.code, e.message, headers);
}
