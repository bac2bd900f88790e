import { describe, expect, test } from "bun:test";
import { ContentTypeTable, DEFAULT_CONTENT_TYPE } from "../../../core/http/content-types.ts";
import { etagOf, ifNoneMatchHits, valueHash } from "../../../core/http/etag.ts";
import { BadRequest, checkName, parseFlag, parseIntParam, parseTtl, readBodyCapped } from "../../../core/http/params.ts";

describe("parseTtl", () => {
  test("bare numbers are seconds; units ms/s/m/h/d", () => {
    expect(parseTtl("10", "?ttl=")).toBe(10_000);
    expect(parseTtl("10s", "?ttl=")).toBe(10_000);
    expect(parseTtl("500ms", "?ttl=")).toBe(500);
    expect(parseTtl("1.5s", "?ttl=")).toBe(1500);
    expect(parseTtl("2m", "?ttl=")).toBe(120_000);
    expect(parseTtl("1h", "?ttl=")).toBe(3_600_000);
    expect(parseTtl("1d", "?ttl=")).toBe(86_400_000);
  });
  test("rejects garbage, zero, negative and absurd TTLs with the source named", () => {
    for (const bad of ["", "abc", "-1", "0", "0ms", "10x", "1e3", "0.0001s", "1000000d", "10 s s"]) {
      expect(() => parseTtl(bad, "X-Shoal-TTL")).toThrow(BadRequest);
    }
    expect(() => parseTtl("abc", "X-Shoal-TTL")).toThrow(/X-Shoal-TTL.*"abc"/);
  });
});

describe("query parameters", () => {
  test("flags", () => {
    expect(parseFlag(undefined, "nx")).toBe(false);
    expect(parseFlag("1", "nx")).toBe(true);
    expect(parseFlag("", "nx")).toBe(true);
    expect(parseFlag("0", "nx")).toBe(false);
    expect(() => parseFlag("maybe", "nx")).toThrow(/\?nx= expects 1 or 0/);
  });
  test("integers in range", () => {
    expect(parseIntParam(undefined, "count", 10, 1, 100)).toBe(10);
    expect(parseIntParam("42", "count", 10, 1, 100)).toBe(42);
    for (const bad of ["0", "101", "-3", "1.5", "x"]) expect(() => parseIntParam(bad, "count", 10, 1, 100)).toThrow(BadRequest);
  });
  test("name length limit counts UTF-8 bytes", () => {
    expect(() => checkName("", "key", 8)).toThrow(/must not be empty/);
    checkName("abcdefgh", "key", 8);
    expect(() => checkName("abcdefghi", "key", 8)).toThrow(/9 bytes; the limit is 8/);
    expect(() => checkName("ééééé", "key", 8)).toThrow(/10 bytes/);
  });
});

describe("readBodyCapped", () => {
  test("reads up to the limit and refuses past it with 413", async () => {
    const ok = await readBodyCapped(new Request("http://x/", { method: "PUT", body: new Uint8Array(8) }), 8);
    expect(ok.length).toBe(8);
    const err = await readBodyCapped(new Request("http://x/", { method: "PUT", body: new Uint8Array(9) }), 8).catch((e) => e);
    expect(err).toBeInstanceOf(BadRequest);
    expect(err.status).toBe(413);
  });
  test("a streamed body without Content-Length is cut at the limit", async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulls++;
        if (pulls > 100) c.close();
        else c.enqueue(new Uint8Array(1024));
      },
    });
    const req = new Request("http://x/", { method: "PUT", body, duplex: "half" } as RequestInit);
    const err = await readBodyCapped(req, 4096).catch((e) => e);
    expect(err.status).toBe(413);
    expect(pulls).toBeLessThan(10);
  });
});

describe("ETag", () => {
  test("same bytes same tag; one bit or length changes it", () => {
    const a = new Uint8Array([1, 2, 3]);
    expect(valueHash(a)).toBe(valueHash(new Uint8Array([1, 2, 3])));
    expect(valueHash(a)).not.toBe(valueHash(new Uint8Array([1, 2, 2])));
    expect(valueHash(new Uint8Array(0))).not.toBe(valueHash(new Uint8Array(1)));
    expect(valueHash(a)).toMatch(/^[0-9a-f]{16}$/);
  });
  test("no collisions over 20k distinct small values", () => {
    const seen = new Set<string>();
    const enc = new TextEncoder();
    for (let i = 0; i < 20_000; i++) seen.add(valueHash(enc.encode(`value-${i}`)));
    expect(seen.size).toBe(20_000);
  });
  test("If-None-Match: list, weak prefix and *", () => {
    const tag = etagOf("00112233aabbccdd", 3);
    expect(ifNoneMatchHits(tag, tag)).toBe(true);
    expect(ifNoneMatchHits(`"zz", W/${tag}`, tag)).toBe(true);
    expect(ifNoneMatchHits("*", tag)).toBe(true);
    expect(ifNoneMatchHits(`"other"`, tag)).toBe(false);
  });
});

describe("ContentTypeTable", () => {
  test("serves the type only while the value hash matches", () => {
    const t = new ContentTypeTable(10);
    t.remember("m", "k", "image/png", "h1");
    expect(t.typeOf("m", "k", "h1")).toBe("image/png");
    expect(t.typeOf("m", "k", "h2")).toBe(DEFAULT_CONTENT_TYPE);
    expect(t.typeOf("other", "k", "h1")).toBe(DEFAULT_CONTENT_TYPE);
  });
  test("is bounded, oldest write dropped first; the default type is not stored", () => {
    const t = new ContentTypeTable(3);
    for (let i = 0; i < 5; i++) t.remember("m", `k${i}`, "text/plain", "h");
    expect(t.size).toBe(3);
    expect(t.typeOf("m", "k0", "h")).toBe(DEFAULT_CONTENT_TYPE);
    expect(t.typeOf("m", "k4", "h")).toBe("text/plain");
    t.remember("m", "k4", DEFAULT_CONTENT_TYPE, "h");
    expect(t.size).toBe(2);
  });
  test("map and key boundaries do not collide; forgetMap removes one map only", () => {
    const t = new ContentTypeTable(10);
    t.remember("a", "bc", "text/a", "h");
    t.remember("ab", "c", "text/b", "h");
    expect(t.typeOf("a", "bc", "h")).toBe("text/a");
    expect(t.typeOf("ab", "c", "h")).toBe("text/b");
    t.forgetMap("a");
    expect(t.typeOf("a", "bc", "h")).toBe(DEFAULT_CONTENT_TYPE);
    expect(t.typeOf("ab", "c", "h")).toBe("text/b");
  });
});
