/**
 * The deliver stage: the response a client gets from a cached object (its
 * stored fields plus Age and X-Cache; 304 when the client's own validators
 * match; no body for HEAD), from a response streaming through, or for an
 * error the edge produced itself.
 */
import type { XCache } from "./fill.ts";
import { currentAgeMs } from "./freshness.ts";
import { type HeaderList, headerValue } from "./headers.ts";
import type { ObjectMeta } from "./object.ts";
import type { EdgeRequest } from "./recv.ts";

/** A response of the edge port. */
export interface EdgeResponse {
  status: number;
  /** Fields, lower-case names. */
  headers: HeaderList;
  body: Uint8Array | ReadableStream<Uint8Array> | null;
}

/** Fields a 304 carries (RFC 9110 §15.4.5), besides Age and X-Cache. */
const NOT_MODIFIED_FIELDS = new Set(["cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified"]);

const enc = new TextEncoder();

/**
 * The header list last delivered for an object, reused while Age and X-Cache
 * stay the same (a hot object is served many times a second; adapters may
 * cache what they build from one list by its identity). Never mutated.
 */
export interface DeliveredFields {
  ageSec: number;
  xcache: XCache;
  headers: HeaderList;
}

/**
 * The response for a cached object, at `now` (Unix ms). `memo` (kept with a
 * hot object) lets repeated deliveries share one header list.
 */
export function deliverObject(
  meta: ObjectMeta,
  body: Uint8Array,
  xcache: XCache,
  req: Pick<EdgeRequest, "method" | "header">,
  now: number,
  memo?: { delivered?: DeliveredFields },
): EdgeResponse {
  const ageSec = Math.floor(currentAgeMs(meta, now) / 1000);
  const age: [string, string] = ["age", String(ageSec)];
  if (meta.status === 200 && notModified(meta.headers, req)) {
    const headers: HeaderList = meta.headers.filter(([n]) => NOT_MODIFIED_FIELDS.has(n));
    headers.push(age, ["x-cache", xcache]);
    return { status: 304, headers, body: null };
  }
  if (meta.status === 200 && req.method === "GET") {
    const range = byteRange(req, meta.headers, body.length);
    if (range === "unsatisfiable") {
      return { status: 416, headers: [["content-range", `bytes */${body.length}`], age, ["x-cache", xcache]], body: null };
    }
    if (range !== null) {
      const [first, last] = range;
      const headers: HeaderList = [...meta.headers, ["content-range", `bytes ${first}-${last}/${body.length}`], age, ["x-cache", xcache]];
      return { status: 206, headers, body: body.subarray(first, last + 1) };
    }
  }
  if (req.method !== "HEAD") {
    const last = memo?.delivered;
    if (last !== undefined && last.ageSec === ageSec && last.xcache === xcache) return { status: meta.status, headers: last.headers, body };
    const headers: HeaderList = [...meta.headers, age, ["x-cache", xcache]];
    if (memo !== undefined) memo.delivered = { ageSec, xcache, headers };
    return { status: meta.status, headers, body };
  }
  const headers: HeaderList = [...meta.headers, age, ["x-cache", xcache]];
    headers.push(["content-length", String(body.length)]);
    return { status: meta.status, headers, body: null };
}

/** A response streaming from the origin (X-Cache: MISS). */
export function deliverStream(status: number, headers: HeaderList, body: ReadableStream<Uint8Array> | null, method: string): EdgeResponse {
  if (method === "HEAD") {
    body?.cancel().catch(() => undefined);
    return { status, headers: [...headers, ["x-cache", "MISS"]], body: null };
  }
  return { status, headers: [...headers, ["x-cache", "MISS"]], body };
}

/** An error the edge itself answers with (plain text, never cached downstream). */
export function errorResponse(status: number, message: string, extra: HeaderList = []): EdgeResponse {
  return {
    status,
    headers: [["content-type", "text/plain; charset=utf-8"], ["cache-control", "no-store"], ...extra],
    body: enc.encode(`${message}\n`),
  };
}

/** A JSON answer of the edge port (PURGE). */
export function jsonResponse(status: number, value: unknown): EdgeResponse {
  return { status, headers: [["content-type", "application/json"], ["cache-control", "no-store"]], body: enc.encode(JSON.stringify(value)) };
}

/**
 * Whether the client's conditionals match the object (RFC 9110 §13.1.2-3):
 * If-None-Match by weak comparison, else If-Modified-Since against Last-Modified.
 */
function notModified(headers: HeaderList, req: Pick<EdgeRequest, "method" | "header">): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const inm = req.header("if-none-match");
  if (inm !== null) {
    if (inm.trim() === "*") return true;
    const etag = headerValue(headers, "etag");
    if (etag === null) return false;
    const opaque = weak(etag);
    return inm.split(",").some((t) => weak(t) === opaque);
  }
  const ims = req.header("if-modified-since");
  const lm = headerValue(headers, "last-modified");
  if (ims === null || lm === null) return false;
  const since = Date.parse(ims);
  const modified = Date.parse(lm);
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/**
 * The byte range a GET asks of a stored 200 (RFC 9110 §14): one range of
 * `bytes=first-last`, `first-` or `-suffix`, honoured unless If-Range names
 * another representation; null to send the whole object (no Range, several
 * ranges, or a form this cache does not serve), "unsatisfiable" for 416.
 */
function byteRange(req: Pick<EdgeRequest, "header">, headers: HeaderList, size: number): [number, number] | "unsatisfiable" | null {
  const range = req.header("range");
  if (range === null) return null;
  const ifRange = req.header("if-range");
  if (ifRange !== null) {
    const t = ifRange.trim();
    const etag = headerValue(headers, "etag");
    const modified = headerValue(headers, "last-modified");
    // If-Range needs a strong match: a weak tag or another date means "send it all"
    const same = t.startsWith('"') ? etag !== null && !etag.startsWith("W/") && etag === t : modified !== null && modified === t;
    if (!same) return null;
  }
  const m = /^bytes=(\d*)-(\d*)$/i.exec(range.trim());
  if (m === null || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    return [Math.max(0, size - suffix), size - 1];
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (first >= size) return "unsatisfiable";
  if (last < first) return null;
  return [first, last];
}

function weak(tag: string): string {
  const t = tag.trim();
  return t.startsWith("W/") ? t.slice(2) : t;
}
