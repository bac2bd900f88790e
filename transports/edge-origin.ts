/**
 * The edge cache's origin adapter over the runtime's fetch (Bun, Deno):
 * no redirect following, no decompression (bodies are cached and served as
 * the origin encoded them), streaming bodies both ways, and a deadline on
 * the response headers. The body's own deadline is the caller's (body.ts).
 */
import { type Origin, OriginError, type OriginRequest, type OriginResponse } from "../core/edge/origin.ts";

/** Sends edge requests to origins with fetch. */
export class FetchOrigin implements Origin {
  async fetch(req: OriginRequest, timeoutMs: number): Promise<OriginResponse> {
    const headers = req.headers.slice();
    // without Accept-Encoding from the client, ask for identity: a compressed body must not reach a client that cannot read it
    if (!headers.some(([n]) => n === "accept-encoding")) headers.push(["accept-encoding", "identity"]);
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    try {
      const res = await fetch(req.url, {
        method: req.method,
        headers,
        body: req.body,
        redirect: "manual",
        signal: abort.signal,
        decompress: false,
        duplex: "half",
      } as RequestInit);
      return { status: res.status, headers: [...res.headers] as [string, string][], body: res.body };
    } catch (e) {
      if (timedOut) throw new OriginError(`no response headers from ${originOf(req.url)} within ${timeoutMs} ms`, "timeout");
      throw new OriginError(`${originOf(req.url)}: ${e instanceof Error ? e.message : String(e)}`, "unreachable");
    } finally {
      clearTimeout(timer);
    }
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url.slice(0, 100);
  }
}
