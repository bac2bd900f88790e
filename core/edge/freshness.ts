/**
 * Freshness per RFC 9111 (and RFC 5861's stale-while-revalidate and
 * stale-if-error) for a shared cache: whether a response may be stored, how
 * long it stays fresh, its age, and what may be done with it once stale.
 * Pure: every time is passed in (Unix ms from the injected clock).
 */

import { type Directives, deltaMs, parseCacheControl } from "./cache-control.ts";
import { varyNames } from "./cache-key.ts";
import { type HeaderList, hasHeader, headerValue } from "./headers.ts";

/** Status codes this cache understands and may store (RFC 9110 §15; 206 is not handled, so never stored). */
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 451, 500, 501, 502, 503, 504]);
/** Heuristically cacheable status codes (RFC 9110 §15.1): cacheable without explicit freshness. */
const HEURISTIC = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 451, 501]);
/** Most a heuristic lifetime from Last-Modified may be (RFC 9111 §4.2.2 leaves the bound to the cache). */
const HEURISTIC_CAP_MS = 86_400_000;

/** The per-route settings freshness depends on. */
export interface FreshnessPolicy {
  /** Freshness of responses without explicit freshness (route `ttl` or --edge-ttl); 0 = Last-Modified heuristic only. */
  defaultTtlMs: number;
  /** How long a stale object with a validator is kept for revalidation (--edge-keep). */
  keepMs: number;
}

/** The freshness facts of a stored response, computed once when it is stored (or refreshed by a 304). */
export interface Freshness {
  /** Local wall time the request to the origin was sent, Unix ms. */
  requestTime: number;
  /** Local wall time the response arrived, Unix ms. */
  responseTime: number;
  /** Freshness lifetime (RFC 9111 §4.2.1), ms. */
  lifetimeMs: number;
  /** corrected_initial_age (RFC 9111 §4.2.3), ms. */
  initialAgeMs: number;
  /** stale-while-revalidate window after the lifetime, ms. */
  swrMs: number;
  /** stale-if-error window after the lifetime, ms. */
  sieMs: number;
  /** must-revalidate or proxy-revalidate: never served stale. */
  mustRevalidate: boolean;
  /** no-cache: validated with the origin before every use. */
  noCache: boolean;
}

/** Why a response is (not) stored. */
export type Storability = { store: true } | { store: false; reason: string };

/** The request directives that matter to a shared cache. */
export interface RequestFacts {
  /** The request carried Authorization (RFC 9111 §3.5). */
  authorization: boolean;
}

/**
 * Whether a shared cache may store a response to a GET (RFC 9111 §3):
 * an understood status other than 206, no `no-store` or `private`, no
 * `Vary: *`, no Set-Cookie (as nginx and Varnish do: it is per-user), with
 * Authorization only if `public`, `s-maxage` or `must-revalidate` allows it,
 * and explicit freshness, `public`, or a heuristically cacheable status.
 */
export function storability(status: number, headers: HeaderList, req: RequestFacts, policy: FreshnessPolicy): Storability {
  if (!UNDERSTOOD.has(status)) return { store: false, reason: `status ${status} is not stored` };
  const cc = parseCacheControl(headerValue(headers, "cache-control"));
  if (cc.has("no-store")) return { store: false, reason: "Cache-Control: no-store" };
  if (cc.has("private")) return { store: false, reason: "Cache-Control: private" };
  if (varyNames(headerValue(headers, "vary")) === "*") return { store: false, reason: "Vary: *" };
  if (hasHeader(headers, "set-cookie")) return { store: false, reason: "Set-Cookie" };
  if (req.authorization && !cc.has("public") && !cc.has("s-maxage") && !cc.has("must-revalidate")) {
    return { store: false, reason: "request had Authorization" };
  }
  const explicit = cc.has("s-maxage") || cc.has("max-age") || hasHeader(headers, "expires");
  if (!explicit && !cc.has("public") && !HEURISTIC.has(status)) return { store: false, reason: `status ${status} without explicit freshness` };
  if (!explicit && !cc.has("no-cache") && heuristicLifetime(status, headers, policy) === 0 && !hasValidator(headers)) {
    return { store: false, reason: "no freshness information and no validator" };
  }
  return { store: true };
}

/** Freshness of a response received at `responseTime` for a request sent at `requestTime`. */
export function freshnessOf(status: number, headers: HeaderList, requestTime: number, responseTime: number, policy: FreshnessPolicy): Freshness {
  const cc = parseCacheControl(headerValue(headers, "cache-control"));
  const date = httpDate(headerValue(headers, "date")) ?? responseTime;
  return {
    requestTime,
    responseTime,
    lifetimeMs: lifetime(cc, status, headers, date, policy),
    initialAgeMs: initialAge(headers, date, requestTime, responseTime),
    swrMs: deltaMs(cc, "stale-while-revalidate") ?? 0,
    sieMs: deltaMs(cc, "stale-if-error") ?? 0,
    mustRevalidate: cc.has("must-revalidate") || cc.has("proxy-revalidate"),
    noCache: cc.has("no-cache"),
  };
}

/** RFC 9111 §4.2.1: s-maxage, then max-age, then Expires − Date, then the heuristic. */
function lifetime(cc: Directives, status: number, headers: HeaderList, date: number, policy: FreshnessPolicy): number {
  const shared = deltaMs(cc, "s-maxage") ?? deltaMs(cc, "max-age");
  if (shared !== undefined) return shared;
  const expires = headerValue(headers, "expires");
  if (expires !== null) {
    const at = httpDate(expires);
    return at === null ? 0 : Math.max(0, at - date); // an invalid Expires (such as "0") means already expired
  }
  return heuristicLifetime(status, headers, policy, date);
}

/** The configured default TTL, else 10% of the time since Last-Modified (capped at a day); 0 when neither applies. */
function heuristicLifetime(status: number, headers: HeaderList, policy: FreshnessPolicy, date?: number): number {
  if (!HEURISTIC.has(status) && !parseCacheControl(headerValue(headers, "cache-control")).has("public")) return 0;
  if (policy.defaultTtlMs > 0) return policy.defaultTtlMs;
  const modified = httpDate(headerValue(headers, "last-modified"));
  const now = date ?? httpDate(headerValue(headers, "date"));
  if (modified === null || now === null || now <= modified) return 0;
  return Math.min(HEURISTIC_CAP_MS, Math.floor((now - modified) / 10));
}

/** corrected_initial_age of RFC 9111 §4.2.3. */
function initialAge(headers: HeaderList, date: number, requestTime: number, responseTime: number): number {
  const apparent = Math.max(0, responseTime - date);
  const ageText = headerValue(headers, "age");
  const ageValue = ageText !== null && /^\d+$/.test(ageText.trim()) ? Number(ageText.trim()) * 1000 : 0;
  const corrected = ageValue + Math.max(0, responseTime - requestTime);
  return Math.max(apparent, corrected);
}

/** current_age (RFC 9111 §4.2.3) at `now`, ms. */
export function currentAgeMs(f: Freshness, now: number): number {
  return f.initialAgeMs + Math.max(0, now - f.responseTime);
}

/** What a cached response may be used for at a given time. */
export type FreshState = "fresh" | "stale-while-revalidate" | "stale";

/**
 * `fresh`: serve it; `stale-while-revalidate`: serve it and revalidate in the
 * background; `stale`: validate (or refetch) before use. no-cache makes every
 * use a validation; must-revalidate forbids serving it stale.
 */
export function stateAt(f: Freshness, now: number): FreshState {
  if (f.noCache) return "stale";
  const age = currentAgeMs(f, now);
  if (age < f.lifetimeMs) return "fresh";
  if (!f.mustRevalidate && age < f.lifetimeMs + f.swrMs) return "stale-while-revalidate";
  return "stale";
}

/** Whether a stale response may answer when its revalidation failed (stale-if-error, RFC 5861 §4). */
export function usableOnError(f: Freshness, now: number): boolean {
  return !f.mustRevalidate && !f.noCache && currentAgeMs(f, now) < f.lifetimeMs + f.sieMs;
}

/**
 * Until when (Unix ms) the store keeps the response: its freshness plus the
 * longest stale window it may still be used in (stale-while-revalidate,
 * stale-if-error, and --edge-keep when it has a validator to revalidate
 * with). At or before `now` means it is not worth storing.
 */
export function keepUntil(f: Freshness, headers: HeaderList, policy: FreshnessPolicy): number {
  const freshFor = f.noCache ? 0 : f.lifetimeMs - f.initialAgeMs;
  const stale = Math.max(f.mustRevalidate ? 0 : Math.max(f.swrMs, f.sieMs), hasValidator(headers) ? policy.keepMs : 0);
  return f.responseTime + Math.max(0, freshFor) + stale;
}

/** Whether the response carries a validator (ETag or Last-Modified) for a conditional request. */
export function hasValidator(headers: HeaderList): boolean {
  return hasHeader(headers, "etag") || hasHeader(headers, "last-modified");
}

/** Parses an HTTP-date (IMF-fixdate and the obsolete forms Date.parse reads); null when invalid. */
export function httpDate(text: string | null): number | null {
  if (text === null) return null;
  const t = text.trim();
  if (!/[a-z]/i.test(t)) return null; // bare numbers ("0", "-1") are not dates
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}
