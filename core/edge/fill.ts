/**
 * The fetch stage: one origin request for a cache fill or a revalidation,
 * and what came of it. A cacheable response that fits --edge-max-object-size
 * is stored (through the cluster) and returned as an object; a 304 refreshes
 * the stale copy; a failure returns the stale copy where stale-if-error
 * allows it, else an error; anything else is handed back once, to the
 * request that asked (streamed when that request is local), and never stored.
 */
import type { Clock, Rng } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import { discard, readCapped } from "./body.ts";
import { primaryKey, variantKey, varyNames } from "./cache-key.ts";
import type { DeliveredFields } from "./deliver.ts";
import { type FreshnessPolicy, freshnessOf, hasValidator, keepUntil, storability, usableOnError } from "./freshness.ts";
import { endToEnd, type HeaderList, hasHeader, headerValue, replaceHeaders } from "./headers.ts";
import { decodeEntry, encodeObject, encodeVarySpec, type ObjectMeta } from "./object.ts";
import { type Origin, OriginError, type OriginResponse } from "./origin.ts";
import { fillHeaders } from "./origin-request.ts";
import type { EdgeStats } from "./stats.ts";
import type { EdgeStore } from "./store.ts";

/** What a fill needs to know about the request (it travels to the owner as is). */
export interface FillInput {
  /** The origin URL (the primary key's URL). */
  url: string;
  /** The client's request fields, lower-case names. */
  headers: HeaderList;
  clientIp: string;
  /** The route's default freshness, overriding --edge-ttl. */
  ttlMs?: number;
}

/** A stored copy that is being revalidated (or served on error). */
export interface StaleCopy {
  /** Its store key (primary or variant). */
  key: string;
  /** Its encoded entry, as stored. */
  entry: Uint8Array;
  meta: ObjectMeta;
  body: Uint8Array;
  /** The header list last delivered for it (see deliver.ts), while it is a hot object. */
  delivered?: DeliveredFields;
}

/** The X-Cache values. */
export type XCache = "HIT" | "MISS" | "STALE" | "REVALIDATED";

/** What came of a fill. */
export type FillOutcome =
  /** A cacheable response (stored unless the write failed), a refreshed one, or the stale copy served on error. */
  | { kind: "object"; xcache: XCache; entry: Uint8Array; vary: string[]; varyValues: string }
  /** An origin error response (5xx) that is not stored: every waiter gets it too. */
  | { kind: "failed"; entry: Uint8Array }
  /** No usable response (unreachable, timeout): status 502 or 504 for everyone waiting. */
  | { kind: "error"; status: number; message: string }
  /** A response that is not stored, for the asking request only (others ask the origin themselves). */
  | { kind: "uncacheable"; entry: Uint8Array; reason: string }
  /** The same, as a stream for a local request (too large to hold, or not cacheable). */
  /** `transient`: not the response's fault (the fill memory budget was in use), so no hit-for-pass. */
  | { kind: "stream"; status: number; headers: HeaderList; body: ReadableStream<Uint8Array>; reason: string; transient?: boolean }
  /** Larger than --edge-max-object-size (or no room to hold it) and nobody could take the stream: everyone asks the origin themselves. */
  | { kind: "too-large"; reason: string; transient?: boolean };

/** Settings of the fetch stage. */
export interface FillSettings {
  maxObjectBytes: number;
  originTimeoutMs: number;
  /** --edge-ttl (a route's ttl wins). */
  defaultTtlMs: number;
  keepMs: number;
}

/** What the fetch stage is built from. */
export interface FillDeps {
  origin: Origin;
  store: EdgeStore;
  clock: Clock;
  rng: Rng;
  stats: EdgeStats;
  settings: FillSettings;
  log?: Logger;
}

/** Response fields never stored: the cache's own (Age), and the surrogate fields meant for the cache alone. */
const NOT_STORED = new Set(["age", "surrogate-key", "surrogate-control"]);
/** Fields a 304 does not update in the stored response (RFC 9111 §3.2). */
const NOT_UPDATED = new Set(["content-length", "content-encoding", "content-type", "content-range", "transfer-encoding"]);
/** Statuses stale-if-error covers (RFC 5861 §4). */
const ERROR_STATUS = new Set([500, 502, 503, 504]);
const MAX_TAGS = 64;

/** Runs fills. */
export class Filler {
  /** Bytes of bodies being read by fills right now (reserved up front: Content-Length, else the object limit). */
  private holding = 0;

  constructor(private readonly d: FillDeps) {}

  /**
   * Fetches `input.url` from the origin (conditionally when `stale` has a
   * validator). `canStream`: the asking request is local and can take the
   * body as a stream (else a body too large for one object is dropped).
   */
  async fill(input: FillInput, stale: StaleCopy | null, canStream: boolean): Promise<FillOutcome> {
    const { clock, stats, settings } = this.d;
    const policy: FreshnessPolicy = { defaultTtlMs: input.ttlMs ?? settings.defaultTtlMs, keepMs: settings.keepMs };
    const validators = stale !== null && hasValidator(stale.meta.headers)
      ? { etag: headerValue(stale.meta.headers, "etag"), lastModified: headerValue(stale.meta.headers, "last-modified") }
      : null;
    const requestTime = clock.now();
    const sent = clock.monotonic();
    stats.originRequests++;
    let res: OriginResponse;
    try {
      res = await this.d.origin.fetch({ method: "GET", url: input.url, headers: fillHeaders(input.headers, input.clientIp, validators), body: null }, settings.originTimeoutMs);
    } catch (e) {
      return this.failed(e, stale, input);
    } finally {
      stats.originLatency.observe(Math.max(0, clock.monotonic() - sent) / 1000);
    }
    const responseTime = clock.now();
    if (res.status === 304 && stale !== null) {
      discard(res.body);
      return this.refreshed(input, stale, res.headers, requestTime, responseTime, policy);
    }
    if (res.status >= 500) {
      stats.originErrors["5xx"]!++;
      if (stale !== null && ERROR_STATUS.has(res.status) && usableOnError(stale.meta, responseTime)) {
        discard(res.body);
        return { kind: "object", xcache: "STALE", entry: stale.entry, vary: stale.meta.vary, varyValues: this.varyValues(stale.meta.vary, input.headers) };
      }
    }
    const headers = storedHeaders(res.headers, responseTime);
    const verdict = storability(res.status, headers, { authorization: hasHeader(input.headers, "authorization") }, policy);
    const declared = contentLength(res.headers);
    if (!verdict.store && canStream && res.status < 500) {
      return { kind: "stream", status: res.status, headers: withLength(headers, declared), body: res.body ?? emptyStream(), reason: verdict.reason };
    }
    const tooLarge = `body larger than --edge-max-object-size (${settings.maxObjectBytes} bytes)`;
    if (declared !== null && declared > settings.maxObjectBytes) return this.unheld(res, withLength(headers, declared), canStream, tooLarge, false);
    // a body is held in memory until it is stored: all fills together stay within the budget
    const reserve = declared ?? settings.maxObjectBytes;
    if (this.holding > 0 && this.holding + reserve > this.budget()) {
      return this.unheld(res, withLength(headers, declared), canStream, `other fills hold ${this.holding} bytes of bodies in memory`, true);
    }
    this.holding += reserve;
    let read: Awaited<ReturnType<typeof readCapped>>;
    try {
      read = await readCapped(res.body, settings.maxObjectBytes, settings.originTimeoutMs, clock);
    } catch (e) {
      return this.failed(e, stale, input);
    } finally {
      this.holding -= reserve;
    }
    if (read.kind === "over") return this.unheld({ ...res, body: read.stream }, withLength(headers, declared), canStream, tooLarge, false);
    const vary = varyNames(headerValue(headers, "vary"));
    const meta: ObjectMeta = {
      ...freshnessOf(res.status, headers, requestTime, responseTime, policy),
      status: res.status,
      headers,
      tags: surrogateKeys(headerValue(res.headers, "surrogate-key")),
      vary: vary === "*" ? [] : vary,
    };
    const entry = encodeObject(meta, read.bytes);
    if (!verdict.store) return res.status >= 500 ? { kind: "failed", entry } : { kind: "uncacheable", entry, reason: verdict.reason };
    const until = keepUntil(meta, headers, policy);
    if (until <= responseTime) return { kind: "uncacheable", entry, reason: "stale on arrival and nothing to revalidate with" };
    const key = meta.vary.length > 0 ? await this.variantSlot(input, meta.vary, until) : primaryKey(input.url);
    await this.write(key, entry, until);
    return { kind: "object", xcache: "MISS", entry, vary: meta.vary, varyValues: this.varyValues(meta.vary, input.headers) };
  }

  /** Bytes of bodies all fills may hold at once: four of the largest objects, at least 64 MiB. */
  private budget(): number {
    return Math.max(64 * 1024 * 1024, 4 * this.d.settings.maxObjectBytes);
  }

  /** A response whose body is not held: streamed to a local request, else dropped (the asker goes to the origin itself). */
  private unheld(res: OriginResponse, headers: HeaderList, canStream: boolean, reason: string, transient: boolean): FillOutcome {
    if (canStream) return { kind: "stream", status: res.status, headers, body: res.body ?? emptyStream(), reason, transient };
    discard(res.body);
    return { kind: "too-large", reason, transient };
  }

  /** The variant values of a request (matched against a coalesced fill's), "" without Vary. */
  varyValues(vary: readonly string[], headers: HeaderList): string {
    return vary.length === 0 ? "" : variantKey("", "", vary, (n) => headerValue(headers, n));
  }

  /** A 304: the stored response with the 304's fields, fresh again (RFC 9111 §4.3.4). */
  private async refreshed(input: FillInput, stale: StaleCopy, fields: HeaderList, requestTime: number, responseTime: number, policy: FreshnessPolicy): Promise<FillOutcome> {
    // a 304 without Date was generated now (as storedHeaders assumes for a 200 without one)
    const headers = replaceHeaders(stale.meta.headers, storedHeaders(fields, responseTime), NOT_UPDATED);
    const tagField = headerValue(fields, "surrogate-key");
    const meta: ObjectMeta = {
      ...freshnessOf(stale.meta.status, headers, requestTime, responseTime, policy),
      status: stale.meta.status,
      headers,
      tags: tagField === null ? stale.meta.tags : surrogateKeys(tagField),
      vary: stale.meta.vary,
    };
    const entry = encodeObject(meta, stale.body);
    const until = keepUntil(meta, headers, policy);
    if (until > responseTime) await this.write(stale.key, entry, until);
    return { kind: "object", xcache: "REVALIDATED", entry, vary: meta.vary, varyValues: this.varyValues(meta.vary, input.headers) };
  }

  /** An origin that did not answer: the stale copy where stale-if-error allows, else 502/504. */
  private failed(e: unknown, stale: StaleCopy | null, input: FillInput): FillOutcome {
    const code = e instanceof OriginError ? e.code : "unreachable";
    const { stats, clock } = this.d;
    stats.originErrors[code] = (stats.originErrors[code] ?? 0) + 1;
    if (stale !== null && usableOnError(stale.meta, clock.now())) {
      return { kind: "object", xcache: "STALE", entry: stale.entry, vary: stale.meta.vary, varyValues: this.varyValues(stale.meta.vary, input.headers) };
    }
    const message = e instanceof Error ? e.message : String(e);
    return { kind: "error", status: code === "timeout" ? 504 : 502, message };
  }

  /**
   * The store key of a variant: the primary entry's vary spec names the
   * generation (a new spec, with a new generation, when there is none or it
   * names other headers); the spec outlives its variants by --edge-keep.
   */
  private async variantSlot(input: FillInput, vary: string[], until: number): Promise<string> {
    const primary = primaryKey(input.url);
    const raw = this.d.store.read(primary);
    const current = raw === null ? null : decodeEntry(raw);
    let generation: string;
    if (current?.kind === "vary" && current.spec.vary.join(",") === vary.join(",")) generation = current.spec.generation;
    else generation = `${this.d.clock.now().toString(36)}${this.d.rng.int(0x7fffffff).toString(36)}`;
    await this.write(primary, encodeVarySpec({ vary, generation }), until + this.d.settings.keepMs);
    return variantKey(primary, generation, vary, (n) => headerValue(input.headers, n));
  }

  private async write(key: string, entry: Uint8Array, until: number): Promise<void> {
    try {
      await this.d.store.write(key, entry, until);
      this.d.stats.stores++;
    } catch (e) {
      this.d.stats.storeErrors++;
      this.d.log?.warn("edge object not stored", { key: key.slice(0, 200), reason: e instanceof Error ? e.message : String(e) });
    }
  }
}

/** The response fields kept with an object: end-to-end, without Age and the surrogate fields; Date added when missing. */
function storedHeaders(fields: HeaderList, responseTime: number): HeaderList {
  const out = endToEnd(fields, NOT_STORED);
  if (!hasHeader(out, "date")) out.push(["date", new Date(responseTime).toUTCString()]);
  return out;
}

/** `headers` plus the origin's Content-Length, for a body passed through unchanged (the client then knows its size). */
function withLength(headers: HeaderList, declared: number | null): HeaderList {
  return declared === null ? headers : [...headers, ["content-length", String(declared)]];
}

/** The Content-Length of a response, or null when absent or malformed. */
function contentLength(fields: HeaderList): number | null {
  const v = headerValue(fields, "content-length");
  return v !== null && /^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : null;
}

/** Surrogate-Key tags: space-separated, at most 64, each at most 256 characters. */
function surrogateKeys(value: string | null): string[] {
  if (value === null) return [];
  const tags = new Set<string>();
  for (const t of value.split(/\s+/)) if (t !== "" && t.length <= 256 && tags.size < MAX_TAGS) tags.add(t);
  return [...tags];
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}
