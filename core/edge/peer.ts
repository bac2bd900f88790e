/**
 * The edge cache's peer messages (msgpack, on their own channel of the peer
 * transport): a lookup sent to the owner of a URL, and purges by URL (to
 * the owner) and by tag (to every member).
 */
import { Packr } from "msgpackr";
import type { FillInput } from "./fill.ts";
import type { LookupResult } from "./lookup.ts";

/** Requests between edge nodes. */
export type EdgePeerRequest = { t: "lookup"; input: FillInput } | { t: "purge"; urls: string[] } | { t: "purge-tags"; tags: string[] };

/** A lookup result that can travel (a stream cannot: the owner answers a peer with a pass instead). */
export type PeerLookupResult = Exclude<LookupResult, { kind: "stream" }>;

/** Answers to {@link EdgePeerRequest}s. */
export type EdgePeerResponse = { t: "lookup"; result: PeerLookupResult } | { t: "purged"; count: number } | { t: "error"; message: string };

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encodes a request or response. */
export function encodeEdgePeer(msg: EdgePeerRequest | EdgePeerResponse): Uint8Array {
  return packr.pack(msg);
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const isHeaders = (v: unknown): v is [string, string][] =>
  Array.isArray(v) && v.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === "string" && typeof h[1] === "string");

/** Decodes a request; throws TypeError on malformed input. */
export function decodeEdgeRequest(bytes: Uint8Array): EdgePeerRequest {
  const m = packr.unpack(bytes) as Record<string, unknown> | null;
  if (m?.t === "lookup") {
    const i = m.input as Record<string, unknown> | null;
    if (typeof i?.url === "string" && isHeaders(i.headers) && typeof i.clientIp === "string" && (i.ttlMs === undefined || typeof i.ttlMs === "number")) {
      const input: FillInput = { url: i.url, headers: i.headers, clientIp: i.clientIp };
      if (typeof i.ttlMs === "number") input.ttlMs = i.ttlMs;
      return { t: "lookup", input };
    }
  }
  if (m?.t === "purge" && isStrings(m.urls)) return { t: "purge", urls: m.urls };
  if (m?.t === "purge-tags" && isStrings(m.tags)) return { t: "purge-tags", tags: m.tags };
  throw new TypeError("edge peer protocol: malformed request");
}

/** Decodes a response; throws TypeError on malformed input. */
export function decodeEdgeResponse(bytes: Uint8Array): EdgePeerResponse {
  const m = packr.unpack(bytes) as Record<string, unknown> | null;
  if (m?.t === "purged" && typeof m.count === "number") return { t: "purged", count: m.count };
  if (m?.t === "error" && typeof m.message === "string") return { t: "error", message: m.message };
  if (m?.t === "lookup") {
    const r = m.result as Record<string, unknown> | null;
    if (r?.kind === "object" && r.entry instanceof Uint8Array && (r.xcache === "HIT" || r.xcache === "MISS" || r.xcache === "STALE" || r.xcache === "REVALIDATED")) {
      return { t: "lookup", result: { kind: "object", xcache: r.xcache, entry: r.entry } };
    }
    if (r?.kind === "pass" && typeof r.reason === "string") return { t: "lookup", result: { kind: "pass", reason: r.reason } };
    if (r?.kind === "error" && typeof r.status === "number" && typeof r.message === "string") {
      return { t: "lookup", result: { kind: "error", status: r.status, message: r.message } };
    }
  }
  throw new TypeError("edge peer protocol: malformed response");
}
