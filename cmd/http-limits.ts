/**
 * The HTTP port's defences on Bun.serve:
 * - stall timeout: Bun.serve's `idleTimeout` (--http-stall-timeout) closes a
 *   connection that sends nothing and gets nothing that long — a request
 *   whose body stopped arriving, or an idle keep-alive connection. A request
 *   head that stops arriving is closed by Bun itself after about 10 s
 *   whatever idleTimeout says (tests/e2e/http-stall.test.ts pins both).
 *   SSE streams stay open because their keep-alive comments come at half the
 *   stall timeout or more often.
 * - request limits: requests handled at once, in total and per IP address
 *   (an SSE stream counts until it ends); past them the answer is 503 with
 *   Retry-After and the refusal is logged (rate-limited).
 * Bun.serve has no hook where a connection opens, so the number of idle
 * sockets is bounded by the timeouts, not by a count.
 */
import type { Server } from "bun";
import type { ShoalConfig } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import { HttpAdmission, refusalBody } from "../core/http/admission.ts";
import { RefusalLog } from "../transports/resp-server.ts";

/** A Bun.serve fetch handler. */
export type Fetch = (req: Request, server: Server<undefined>) => Response | Promise<Response>;

/** Bun.serve's idleTimeout in seconds for --http-stall-timeout (0 = never). */
export function idleTimeoutSeconds(cfg: Pick<ShoalConfig, "httpStallTimeoutMs">): number {
  return Math.ceil(cfg.httpStallTimeoutMs / 1000);
}

/** The SSE keep-alive interval that keeps a quiet stream inside the stall timeout. */
export function sseKeepAliveMs(cfg: Pick<ShoalConfig, "httpStallTimeoutMs">): number {
  return cfg.httpStallTimeoutMs === 0 ? 5000 : Math.min(5000, Math.floor(cfg.httpStallTimeoutMs / 2));
}

/** Wraps the app's fetch with the request limits; one admission table for every HTTP listener of the node. */
export function limitedFetch(fetch: Fetch, cfg: ShoalConfig, log: Logger): Fetch {
  if (cfg.httpMaxRequests === 0 && cfg.httpMaxRequestsPerIp === 0) return fetch;
  const admission = new HttpAdmission({ maxRequests: cfg.httpMaxRequests, maxRequestsPerIp: cfg.httpMaxRequestsPerIp });
  const refusals = new RefusalLog(log, "http client");
  const perIp = cfg.httpMaxRequestsPerIp > 0;
  const done = (res: Response, release: () => void): Response => {
    if (res.body === null || !(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      release();
      return res;
    }
    return new Response(untilDone(res.body, release), res);
  };
  // no async/await here: this runs on every request, and most replies are not promises' worth of work
  return (req, server) => {
    const ip = perIp ? (server.requestIP(req)?.address ?? "") : "";
    const admitted = admission.admit(ip);
    if (typeof admitted !== "function") {
      refusals.refuse(admitted.kind === "total" ? "too many HTTP requests at once" : "too many HTTP requests from one IP address", perIp ? { remote: ip } : {});
      return Response.json(refusalBody(admitted), { status: 503, headers: { "retry-after": "1" } });
    }
    let res: Response | Promise<Response>;
    try {
      res = fetch(req, server);
    } catch (e) {
      admitted();
      throw e;
    }
    if (!(res instanceof Promise)) return done(res, admitted);
    return res.then(
      (r) => done(r, admitted),
      (e: unknown) => {
        admitted();
        throw e;
      },
    );
  };
}

/** The stream `body`, calling `done` once when it ends, fails or is cancelled (the client went away). */
function untilDone(body: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: end } = await reader.read();
        if (end) {
          done();
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        done();
        controller.error(e);
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  });
}
