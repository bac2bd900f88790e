/**
 * The origin seam: how the edge cache reaches an origin server. The adapter
 * (cmd/edge-origin.ts, over the runtime's fetch) is injected; tests pass an
 * in-process origin. Bodies are web streams, so a large body is never held
 * whole.
 */
import type { HeaderList } from "./headers.ts";

/** A request to an origin. */
export interface OriginRequest {
  method: string;
  /** Absolute URL. */
  url: string;
  /** End-to-end fields to send (the adapter sets Host from the URL). */
  headers: HeaderList;
  /** Request body to stream (non-GET methods), or null. */
  body: ReadableStream<Uint8Array> | null;
}

/** An origin's response: headers arrived, the body still streaming. */
export interface OriginResponse {
  status: number;
  /** Fields with lower-case names. */
  headers: HeaderList;
  body: ReadableStream<Uint8Array> | null;
}

/** Why an origin request failed: no connection, no response headers in time, or an unusable response. */
export class OriginError extends Error {
  constructor(
    message: string,
    readonly code: "unreachable" | "timeout" | "bad-response",
  ) {
    super(message);
    this.name = "OriginError";
  }
}

/** Sends requests to origins. */
export interface Origin {
  /**
   * Sends `req`; resolves when the response headers arrive (redirects are
   * not followed, bodies are not decompressed).
   * @throws OriginError when the origin cannot be reached or sends no headers within `timeoutMs`.
   */
  fetch(req: OriginRequest, timeoutMs: number): Promise<OriginResponse>;
}
