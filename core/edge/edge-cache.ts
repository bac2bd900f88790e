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
 * URL, {@link EdgeCache.purgeTags} every object with a Surrogate-Key tag.
 */
import type { Clock, Rng } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import { primaryKey } from "./cache-key.ts";
import { deliverObject, deliverStream, type EdgeResponse, errorResponse, jsonResponse } from "./deliver.ts";
import { Filler, type FillInput, type FillSettings } from "./fill.ts";
import { endToEnd, headerValue } from "./headers.ts";
import { type LookupResult, leaderResult, ObjectLookup } from "./lookup.ts";
import { decodeEntry, type ObjectMeta } from "./object.ts";
import { type Origin, OriginError } from "./origin.ts";
import { passHeaders } from "./origin-request.ts";
import type { EdgePeerRequest, EdgePeerResponse } from "./peer.ts";
import { type EdgeRequest, type EdgeRouteSpec, type RecvDecision, RouteTable, recv } from "./recv.ts";
import { EdgeStats } from "./stats.ts";
import type { EdgeStore } from "./store.ts";

/** Where keys live: the cluster's placement as the edge sees it. */
export interface EdgePlacement {
  /** The member that owns `key`, or null when this node does (always null on a single node). */
  ownerOf(key: string): string | null;
  /** The other live members (tag purges reach each). */
  others(): string[];
  /** Sends an edge message to `member`; rejects when it cannot be reached in `timeoutMs`. */
  ask(member: string, msg: EdgePeerRequest, timeoutMs: number): Promise<EdgePeerResponse>;
}

/** A single node: it owns every key. */
export const LOCAL_PLACEMENT: EdgePlacement = {
  ownerOf: () => null,
  others: () => [],
  ask: () => Promise.reject(new Error("no cluster")),
};

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

/** What a tag purge did. */
export interface TagPurgeResult {
  purged: number;
  /** Members that did not answer (their objects with those tags may remain). */
  unreachable: string[];
}

/** The stats outcome of each X-Cache value. */
const OUTCOME = { HIT: "hit", MISS: "miss", STALE: "stale", REVALIDATED: "revalidated" } as const;
/** Methods that do not invalidate (RFC 9110 §9.2.1 safe methods). */
const SAFE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
/** Keys deleted per routed delete during a tag purge. */
const PURGE_BATCH = 256;
/** Keys visited per page of a tag purge's scan (the event loop gets a turn between pages). */
const SCAN_PAGE = 512;

/** One node's edge cache. */
export class EdgeCache {
  readonly stats = new EdgeStats();
  readonly routes: RouteTable;
  private readonly filler: Filler;
  private readonly lookup: ObjectLookup;

  constructor(private readonly o: EdgeCacheOptions) {
    this.routes = new RouteTable(o.defaultOrigin, o.routes ?? []);
    this.filler = new Filler({ origin: o.origin, store: o.store, clock: o.clock, rng: o.rng, stats: this.stats, settings: o.settings, log: o.log });
    this.lookup = new ObjectLookup({ store: o.store, filler: this.filler, clock: o.clock, stats: this.stats });
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
        return { t: "purged", count: await this.purgeLocal(msg.urls) };
      case "purge-tags":
        return { t: "purged", count: await this.purgeTagsLocal(msg.tags) };
    }
  }

  /**
   * Drops a URL's object (all its variants) cluster-wide, on its owner;
   * resolves with the number of entries removed.
   * @throws Error when the owner cannot be reached.
   */
  async purgeUrl(url: string): Promise<number> {
    const owner = this.o.placement.ownerOf(primaryKey(url));
    if (owner === null) return this.purgeLocal([url]);
    const res = await this.o.placement.ask(owner, { t: "purge", urls: [url] }, this.askTimeoutMs());
    if (res.t !== "purged") throw new Error(`${owner}: ${res.t === "error" ? res.message : "unexpected answer"}`);
    return res.count;
  }

  /** Drops every object whose origin response carried one of `tags` in Surrogate-Key, on every member. */
  async purgeTags(tags: readonly string[]): Promise<TagPurgeResult> {
    const others = this.o.placement.others();
    const answers = await Promise.all([
      this.purgeTagsLocal(tags).then((n) => ({ member: null as string | null, n })),
      ...others.map((m) =>
        this.o.placement.ask(m, { t: "purge-tags", tags: [...tags] }, this.askTimeoutMs()).then(
          (r) => ({ member: m, n: r.t === "purged" ? r.count : -1 }),
          () => ({ member: m, n: -1 }),
        ),
      ),
    ]);
    let purged = 0;
    const unreachable: string[] = [];
    for (const a of answers) {
      if (a.n < 0) unreachable.push(a.member ?? "self");
      else purged += a.n;
    }
    return { purged, unreachable };
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
    if (!SAFE.has(req.method) && res.status < 400) await this.invalidate(url, res.headers);
    return { status: res.status, headers: endToEnd(res.headers), body: res.body };
  }

  /** RFC 9111 §4.4: after a successful unsafe request, the target URL and its Location/Content-Location on the same origin. */
  private async invalidate(url: string, fields: [string, string][]): Promise<void> {
    const urls = new Set([url]);
    const base = new URL(url);
    for (const name of ["location", "content-location"]) {
      const v = headerValue(fields, name);
      if (v === null) continue;
      try {
        const u = new URL(v, url);
        if (u.origin === base.origin) urls.add(u.href);
      } catch {
        // not a URL: nothing to invalidate
      }
    }
    for (const u of urls) {
      try {
        await this.purgeUrl(u);
      } catch (e) {
        this.o.log?.warn("edge invalidation failed", { url: u.slice(0, 200), reason: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  private async purgeLocal(urls: readonly string[]): Promise<number> {
    for (const u of urls) this.lookup.forget(u);
    const n = await this.o.store.remove(urls.map(primaryKey));
    this.stats.purged += n;
    return n;
  }

  /** Deletes (through the cluster) the objects this node owns that carry one of `tags`. */
  private async purgeTagsLocal(tags: readonly string[]): Promise<number> {
    const wanted = new Set(tags);
    const doomed: string[] = [];
    let cursor = 0;
    do {
      const page = this.o.store.scanLocal(cursor, SCAN_PAGE);
      cursor = page.cursor;
      for (const key of page.keys) {
        if (this.o.placement.ownerOf(key) !== null) continue; // the owner deletes it, replicas follow
        const raw = this.o.store.read(key);
        const e = raw === null ? null : decodeEntry(raw);
        if (e?.kind === "object" && e.meta.tags.some((t) => wanted.has(t))) doomed.push(key);
      }
      if (cursor !== 0) await this.turn();
    } while (cursor !== 0);
    let n = 0;
    for (let i = 0; i < doomed.length; i += PURGE_BATCH) n += await this.o.store.remove(doomed.slice(i, i + PURGE_BATCH));
    this.stats.purged += n;
    return n;
  }

  private turn(): Promise<void> {
    return new Promise((resolve) => this.o.clock.setTimer(0, resolve));
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
