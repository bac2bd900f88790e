/**
 * The live dashboard's routes, mounted at /ui (`--ui`, default on; behind
 * the same authentication as the API, checked as INFO):
 *
 *   GET /ui             the page (HTML, rendered with the current state)
 *   GET /ui/app.js      its script; /ui/worker.js the live feed's worker; /ui/app.css
 *   GET /ui/events      the live feed (SSE): `snapshot` once, then `delta` every second
 *   GET /ui/state       the current state as JSON (?series=1 adds every member's series)
 *
 * Assets are answered with an ETag and revalidated (no-cache), the page and
 * the feed are never cached.
 */
import { Hono } from "hono";
import type { DashboardFeed } from "../dashboard/dashboard.ts";
import { renderPage, type UiAssets } from "../dashboard/page.ts";
import type { HttpEnv } from "./node.ts";
import { parseFlag } from "./params.ts";
import { jsonError } from "./problem.ts";

/** What the routes serve. */
export interface UiHooks {
  /** The node's dashboard (a Dashboard; undefined while none runs: 503). */
  dashboard: () => DashboardFeed | undefined;
  assets: UiAssets;
}

/** Bytes queued for a browser that stopped reading before its feed is closed. */
const FEED_BUFFER_BYTES = 8 * 1024 * 1024;
const encoder = new TextEncoder();

/** The /ui sub-app. */
export function uiRoutes(ui: UiHooks): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const asset = (path: string, type: string, body: () => string) =>
    app.get(path, (c) => {
      const etag = `"${ui.assets.version}"`;
      if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
      return c.body(body(), 200, { "content-type": type, etag, "cache-control": "no-cache" });
    });
  asset("/app.js", "text/javascript; charset=utf-8", () => ui.assets.appJs);
  asset("/worker.js", "text/javascript; charset=utf-8", () => ui.assets.workerJs);
  asset("/app.css", "text/css; charset=utf-8", () => ui.assets.css);

  app.get("/", (c) => {
    const d = ui.dashboard();
    if (!d) return jsonError(c, 503, "NOTREADY", "the dashboard starts with the node; try again in a moment");
    return c.html(renderPage(d.state(false), ui.assets), 200, { "cache-control": "no-store" });
  });

  app.get("/state", (c) => {
    const d = ui.dashboard();
    if (!d) return jsonError(c, 503, "NOTREADY", "the dashboard starts with the node; try again in a moment");
    const series = parseFlag(c.req.query("series"), "series");
    return c.json(d.state(series), 200, { "cache-control": "no-store" });
  });

  app.get("/events", (c) => {
    const d = ui.dashboard();
    if (!d) return jsonError(c, 503, "NOTREADY", "the dashboard starts with the node; try again in a moment");
    if (c.req.method === "HEAD") return c.body(null, 200, { "content-type": "text/event-stream; charset=utf-8" });
    const signal = c.req.raw.signal;
    let unsubscribe: (() => void) | null = null;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      unsubscribe?.();
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = (): void => {
      end();
      try {
        controller.close();
      } catch {}
    };
    const stream = new ReadableStream<Uint8Array>(
      {
        start(ctl) {
          controller = ctl;
          ctl.enqueue(encoder.encode("retry: 2000\n\n"));
          unsubscribe = d.subscribe((event, json) => {
            if (ended) return;
            ctl.enqueue(encoder.encode(`event: ${event}\ndata: ${json}\n\n`));
            if ((ctl.desiredSize ?? 0) < -FEED_BUFFER_BYTES) {
              end();
              ctl.error(new Error("dashboard client too slow; disconnected"));
            }
          });
          if (unsubscribe === null) {
            ended = true;
            ctl.enqueue(encoder.encode(`event: busy\ndata: {"error":"too many dashboard viewers on this node"}\n\n`));
            ctl.close();
            return;
          }
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort);
        },
        cancel() {
          end();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
    );
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" },
    });
  });
  return app;
}
