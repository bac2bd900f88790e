/**
 * The edge cache of one node: a request's life through the stages
 * (recv.ts → cache-key.ts → lookup.ts → fill.ts → deliver.ts).
 *
 * GET/HEAD: the URL's primary key names its owner. The owner looks the
 * request up itself (coalescing misses on its waiting list); any other node
 * asks the owner over the peer transport and delivers what it answers. A
 * "pass" answer (the response cannot be shared, or the owner is unreachable)
 * sends the request to the origin directly, streaming, storing the answer
 * when it turns out cacheable. Other methods are forwarded to the origin;
 * a successful unsafe one invalidates the URL (RFC 9111 §4.4). PURGE drops a
 * URL, {@link EdgeCache.purgeTags} every object with a Surrogate-Key tag
 * (purge.ts).
 */
import type { Clock, Rng } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import { primaryKey } from "./cache-key.ts";
import { deliverObject, deliverStream, type EdgeResponse, errorResponse, jsonResponse } from "./deliver.ts";
import { Filler, type FillInput, type FillSettings } from "./fill.ts";
import { endToEnd } from "./headers.ts";
import { type LookupResult, leaderResult, ObjectLookup } from "./lookup.ts";
import { decodeEntry, type ObjectMeta } from "./object.ts";
import { type Origin, OriginError } from "./origin.ts";
import { passHeaders } from "./origin-request.ts";
import type { EdgePeerRequest, EdgePeerResponse } from "./peer.ts";
import type { EdgePlacement } from "./placement.ts";
import { EdgePurger, type TagPurgeResult } from "./purge.ts";
import { type EdgeRequest, type EdgeRouteSpec, type RecvDecision, RouteTable, recv } from "./recv.ts";
import { EdgeStats } from "./stats.ts";
import type { EdgeStore } from "./store.ts";

/** Checks a PURGE: null to allow it, else the refusal (401 or 403). */
export type PurgeAuthorizer = (req: EdgeRequest, url: string) => { status: number; message: string } | null;

/** What an edge cache is built from. */
export interface EdgeCacheOptions {
  origin: Origin;
  store: EdgeStore;
  placement: EdgePlacement;
  clock: Clock;
  rng: Rng;
  /** --origin (the route for "/") and shoal.yaml's routes. */
  defaultOrigin?: string;
  routes?: readonly EdgeRouteSpec[];
  settings: FillSettings;
  /** Authorizes PURGE; without it PURGE is allowed. */
  authorizePurge?: PurgeAuthorizer;
  log?: Logger;
}

/** The stats outcome of each X-Cache value. */
const OUTCOME = { HIT: "hit", MISS: "miss", STALE: "stale", REVALIDATED: "revalidated" } as const;
/** Methods that do not invalidate (RFC 9110 §9.2.1 safe methods). */
const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** One node's edge cache. */
export class EdgeCache {
  readonly stats = new EdgeStats();
  readonly routes: RouteTable;
  private readonly filler: Filler;
  private readonly lookup: ObjectLookup;
  private readonly purger: EdgePurger;

  constructor(private readonly o: EdgeCacheOptions) {
    this.routes = new RouteTable(o.defaultOrigin, o.routes ?? []);
    this.filler = new Filler({ origin: o.origin, store: o.store, clock: o.clock, rng: o.rng, stats: this.stats, settings: o.settings, log: o.log });
    this.lookup = new ObjectLookup({ store: o.store, filler: this.filler, clock: o.clock, stats: this.stats });
    const { store, placement, clock, log } = o;
    this.purger = new EdgePurger({ store, placement, clock, log, stats: this.stats, forget: (u) => this.lookup.forget(u), askTimeoutMs: this.askTimeoutMs() });
  }

  /** Fills in flight on this node (as an owner). */
  get inFlight(): number {
    return this.lookup.inFlight;
  }

  /**
   * Answers one request of the edge port: synchronously for a fresh object
   * this node owns (the hit path takes no turn of the event loop), else
   * asynchronously.
   */
  handle(req: EdgeRequest): EdgeResponse | Promise<EdgeResponse> {
    const d = recv(req, this.routes);
    if (d.kind === "lookup" && this.o.placement.ownerOf(primaryKey(d.url)) === null) {
      const hit = this.lookup.peek(d.url, req.header);
      if (hit !== null) return this.finish(hit, req, false);
    }
    return this.answer(req, d);
  }

  private async answer(req: EdgeRequest, d: RecvDecision): Promise<EdgeResponse> {
    switch (d.kind) {
      case "reject":
        this.stats.requests.error++;
        return errorResponse(d.status, d.message);
      case "purge": {
        const refused = this.o.authorizePurge?.(req, d.url) ?? null;
        if (refused !== null) return errorResponse(refused.status, refused.message, refused.status === 401 ? [["www-authenticate", 'Bearer realm="shoal"']] : []);
        try {
          return jsonResponse(200, { purged: await this.purgeUrl(d.url), url: d.url });
        } catch (e) {
          return errorResponse(503, `purge failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      case "forward":
        return this.forward(req, d.url);
      case "lookup": {
        const input: FillInput = { url: d.url, headers: req.headers(), clientIp: req.clientIp };
        if (d.route.ttlMs !== undefined) input.ttlMs = d.route.ttlMs;
        const found = await this.locate(input);
        if (found.kind !== "pass") return this.finish(found, req, false);
        return this.finish(leaderResult(await this.filler.fill(input, null, true)), req, true);
      }
    }
  }

  /** Answers an edge message from another member. */
  async serve(msg: EdgePeerRequest): Promise<EdgePeerResponse> {
    switch (msg.t) {
      case "lookup": {
        const r = await this.lookup.lookup(msg.input, false);
        if (r.kind === "stream") {
          r.body.cancel().catch(() => undefined);
          return { t: "lookup", result: { kind: "pass", reason: "streaming response" } };
        }
        return { t: "lookup", result: r };
      }
      case "purge":
        return { t: "purged", count: await this.purger.local(msg.urls) };
      case "purge-tags":
        return { t: "purged", count: await this.purger.localTags(msg.tags) };
    }
  }

  /** Drops a URL's object (all its variants) cluster-wide (see purge.ts). @throws Error when its owner cannot be reached. */
  purgeUrl(url: string): Promise<number> {
    return this.purger.url(url);
  }

  /** Drops every object tagged with one of `tags` in Surrogate-Key, on every member (see purge.ts). */
  purgeTags(tags: readonly string[]): Promise<TagPurgeResult> {
    return this.purger.tags(tags);
  }

  /** The lookup result for `input`: this node's own lookup when it owns the URL, else the owner's answer. */
  private async locate(input: FillInput): Promise<LookupResult> {
    const owner = this.o.placement.ownerOf(primaryKey(input.url));
    if (owner === null) return this.lookup.lookup(input, true);
    try {
      const res = await this.o.placement.ask(owner, { t: "lookup", input }, this.askTimeoutMs());
      if (res.t === "lookup") return res.result;
      throw new Error(res.t === "error" ? res.message : "unexpected answer");
    } catch (e) {
      this.stats.ownerErrors++;
      this.o.log?.warn("edge owner not reachable; serving without coalescing", { owner, reason: e instanceof Error ? e.message : String(e) });
      return { kind: "pass", reason: `owner ${owner} not reachable` };
    }
  }

  private finish(r: LookupResult, req: EdgeRequest, passed: boolean): EdgeResponse {
    const s = this.stats.requests;
    switch (r.kind) {
      case "object": {
        const e = r.copy ?? objectOf(r.entry);
        if (e === null) {
          s.error++;
          return errorResponse(502, "edge: stored object is unreadable");
        }
        s[passed ? "pass" : OUTCOME[r.xcache]]++;
        return deliverObject(e.meta, e.body, r.xcache, req, this.o.clock.now(), r.copy);
      }
      case "stream":
        s[passed ? "pass" : "miss"]++;
        return deliverStream(r.status, r.headers, r.body, req.method);
      case "error":
        s.error++;
        return errorResponse(r.status, `edge: origin ${r.status === 504 ? "timed out" : "failed"}: ${r.message}`, [["x-cache", "MISS"]]);
      case "pass":
        s.error++;
        return errorResponse(502, `edge: ${r.reason}`);
    }
  }

  /** Forwards a request with another method to the origin, streaming both ways. */
  private async forward(req: EdgeRequest, url: string): Promise<EdgeResponse> {
    this.stats.originRequests++;
    this.stats.requests.pass++;
    let res: Awaited<ReturnType<Origin["fetch"]>>;
    try {
      res = await this.o.origin.fetch({ method: req.method, url, headers: passHeaders(req.headers(), req.clientIp), body: req.body }, this.o.settings.originTimeoutMs);
    } catch (e) {
      const code = e instanceof OriginError ? e.code : "unreachable";
      this.stats.originErrors[code] = (this.stats.originErrors[code] ?? 0) + 1;
      return errorResponse(code === "timeout" ? 504 : 502, `edge: origin ${code === "timeout" ? "timed out" : "failed"}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (res.status >= 500) this.stats.originErrors["5xx"]!++;
    if (!SAFE.has(req.method) && res.status < 400) await this.purger.invalidate(url, res.headers);
    return { status: res.status, headers: endToEnd(res.headers), body: res.body };
  }

  /** How long to wait for another member's edge answer: one origin fill (headers, then body) and some slack. */
  private askTimeoutMs(): number {
    return 2 * this.o.settings.originTimeoutMs + 2000;
  }
}

/** The meta and body of an encoded object; null for anything else. */
function objectOf(entry: Uint8Array): { meta: ObjectMeta; body: Uint8Array } | null {
  const e = decodeEntry(entry);
  return e?.kind === "object" ? e : null;
}

export { type EdgePlacement, LOCAL_PLACEMENT } from "./placement.ts";
export type { TagPurgeResult } from "./purge.ts";
