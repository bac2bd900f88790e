import { describe, expect, test } from "bun:test";
import { deltaMs, parseCacheControl } from "../../../core/edge/cache-control.ts";
import { primaryKey, urlOfKey, variantKey, varyNames } from "../../../core/edge/cache-key.ts";
import { currentAgeMs, freshnessOf, keepUntil, stateAt, storability, usableOnError } from "../../../core/edge/freshness.ts";
import type { HeaderList } from "../../../core/edge/headers.ts";

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const date = (ms: number) => new Date(ms).toUTCString();
const policy = { defaultTtlMs: 0, keepMs: 3_600_000 };
const h = (...pairs: [string, string][]): HeaderList => [["date", date(T0)], ...pairs];
const noAuth = { authorization: false };

describe("Cache-Control parsing", () => {
  test("directives, arguments, quotes and case", () => {
    const d = parseCacheControl('Max-Age=60, no-cache="set-cookie, x", s-maxage = 5,private');
    expect(d.get("max-age")).toBe("60");
    expect(d.get("no-cache")).toBe("set-cookie, x");
    expect(d.get("s-maxage")).toBe("5");
    expect(d.get("private")).toBe(true);
    expect(deltaMs(d, "max-age")).toBe(60_000);
  });
  test("the first of a repeated directive wins; a malformed argument counts as 0", () => {
    expect(deltaMs(parseCacheControl("max-age=10, max-age=99"), "max-age")).toBe(10_000);
    expect(deltaMs(parseCacheControl("max-age=abc"), "max-age")).toBe(0);
    expect(deltaMs(parseCacheControl("max-age"), "max-age")).toBe(0);
    expect(deltaMs(parseCacheControl(""), "max-age")).toBeUndefined();
  });
});

describe("storability (RFC 9111 §3)", () => {
  const ok = (status: number, headers: HeaderList, req = noAuth) => storability(status, headers, req, policy).store;
  test("explicit freshness stores; no-store, private, Set-Cookie, Vary: * and 206 do not", () => {
    expect(ok(200, h(["cache-control", "max-age=60"]))).toBe(true);
    expect(ok(200, h(["cache-control", "max-age=60, no-store"]))).toBe(false);
    expect(ok(200, h(["cache-control", "private, max-age=60"]))).toBe(false);
    expect(ok(200, h(["cache-control", "max-age=60"], ["set-cookie", "a=1"]))).toBe(false);
    expect(ok(200, h(["cache-control", "max-age=60"], ["vary", "Accept, *"]))).toBe(false);
    expect(ok(206, h(["cache-control", "max-age=60"]))).toBe(false);
  });
  test("without explicit freshness: heuristic statuses with Last-Modified or a default TTL only", () => {
    expect(ok(200, h())).toBe(false);
    expect(ok(200, h(["last-modified", date(T0 - 100_000)]))).toBe(true);
    expect(storability(200, h(), noAuth, { ...policy, defaultTtlMs: 5000 }).store).toBe(true);
    expect(ok(302, h(["last-modified", date(T0 - 100_000)]))).toBe(false);
    expect(ok(302, h(["cache-control", "max-age=5"]))).toBe(true);
    expect(ok(500, h(["cache-control", "max-age=5"]))).toBe(true);
    expect(ok(418, h(["cache-control", "max-age=5"]))).toBe(false);
  });
  test("a request with Authorization is stored only with public, s-maxage or must-revalidate", () => {
    const auth = { authorization: true };
    expect(ok(200, h(["cache-control", "max-age=60"]), auth)).toBe(false);
    expect(ok(200, h(["cache-control", "public, max-age=60"]), auth)).toBe(true);
    expect(ok(200, h(["cache-control", "s-maxage=60"]), auth)).toBe(true);
  });
});

describe("freshness lifetime and age (RFC 9111 §4.2)", () => {
  const f = (headers: HeaderList, p = policy, req = T0, res = T0) => freshnessOf(200, headers, req, res, p);
  test("s-maxage wins over max-age, which wins over Expires", () => {
    expect(f(h(["cache-control", "max-age=60, s-maxage=5"], ["expires", date(T0 + 999_000)])).lifetimeMs).toBe(5000);
    expect(f(h(["cache-control", "max-age=60"], ["expires", date(T0 + 999_000)])).lifetimeMs).toBe(60_000);
    expect(f(h(["expires", date(T0 + 30_000)])).lifetimeMs).toBe(30_000);
  });
  test("an invalid Expires means already expired", () => {
    expect(f(h(["expires", "0"])).lifetimeMs).toBe(0);
  });
  test("heuristic: the default TTL, else 10% of the Last-Modified age", () => {
    expect(f(h(["last-modified", date(T0 - 1_000_000)])).lifetimeMs).toBe(100_000);
    expect(f(h(["last-modified", date(T0 - 1_000_000)]), { ...policy, defaultTtlMs: 7000 }).lifetimeMs).toBe(7000);
  });
  test("age counts the Age field, the response delay and the apparent age", () => {
    const fr = f(h(["cache-control", "max-age=60"], ["age", "10"]), policy, T0, T0 + 2000);
    expect(fr.initialAgeMs).toBe(12_000);
    expect(currentAgeMs(fr, T0 + 5000)).toBe(15_000);
    const late = freshnessOf(200, [["date", date(T0 - 30_000)], ["cache-control", "max-age=60"]], T0, T0, policy);
    expect(late.initialAgeMs).toBe(30_000);
  });
  test("states: fresh, stale-while-revalidate, stale; must-revalidate and no-cache forbid stale use", () => {
    const fr = f(h(["cache-control", "max-age=10, stale-while-revalidate=5, stale-if-error=60"]));
    expect(stateAt(fr, T0 + 9_999)).toBe("fresh");
    expect(stateAt(fr, T0 + 12_000)).toBe("stale-while-revalidate");
    expect(stateAt(fr, T0 + 16_000)).toBe("stale");
    expect(usableOnError(fr, T0 + 69_000)).toBe(true);
    expect(usableOnError(fr, T0 + 71_000)).toBe(false);
    const strict = f(h(["cache-control", "max-age=10, must-revalidate, stale-while-revalidate=5, stale-if-error=60"]));
    expect(stateAt(strict, T0 + 12_000)).toBe("stale");
    expect(usableOnError(strict, T0 + 12_000)).toBe(false);
    expect(stateAt(f(h(["cache-control", "no-cache, max-age=60"])), T0)).toBe("stale");
  });
  test("kept for the stale windows, and for --edge-keep when there is a validator", () => {
    const headers = h(["cache-control", "max-age=10, stale-if-error=60"]);
    expect(keepUntil(f(headers), headers, policy)).toBe(T0 + 70_000);
    const tagged = h(["cache-control", "max-age=10"], ["etag", '"v1"']);
    expect(keepUntil(f(tagged), tagged, policy)).toBe(T0 + 10_000 + 3_600_000);
    const bare = h(["cache-control", "max-age=0"]);
    expect(keepUntil(f(bare), bare, policy)).toBe(T0);
  });
});

describe("cache keys", () => {
  test("the primary key is the origin URL under a hash tag that survives a } in the query", () => {
    expect(primaryKey("http://o:1/a?b=1")).toBe("{http://o:1/a?b=1}");
    const k = primaryKey("http://o:1/a?x=}");
    expect(k.indexOf("}")).toBe(k.length - 1);
    expect(urlOfKey(k)).toBe("http://o:1/a?x=}");
  });
  test("Vary names are normalized; variant keys share the primary's hash tag", () => {
    expect(varyNames("Accept-Encoding,  accept-language, Accept-Encoding")).toEqual(["accept-encoding", "accept-language"]);
    expect(varyNames("*")).toBe("*");
    const headers: Record<string, string> = { "accept-encoding": "gzip,  br" };
    const k = variantKey("{u}", "g1", ["accept-encoding"], (n) => headers[n] ?? null);
    expect(k).toBe("{u}#g1:accept-encoding=gzip,br\n");
  });
});
