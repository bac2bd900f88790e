import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { globMatch } from "../../../core/store/glob.ts";

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The plain recursive definition (exponential in the worst case: small inputs only). */
function reference(p: string, s: string): boolean {
  if (p.length === 0) return s.length === 0;
  const c = p[0]!;
  if (c === "*") {
    for (let k = 0; k <= s.length; k++) if (reference(p.slice(1), s.slice(k))) return true;
    return false;
  }
  if (s.length === 0) return false;
  if (c === "?" || c === s[0]) return reference(p.slice(1), s.slice(1));
  return false;
}

describe("globMatch", () => {
  test("agrees with the recursive definition for *, ? and literals (property)", () => {
    const alpha = fc.constantFrom("a", "b", "*", "?");
    fc.assert(
      fc.property(fc.array(alpha, { maxLength: 8 }), fc.array(fc.constantFrom("a", "b"), { maxLength: 10 }), (pp, ss) => {
        const p = pp.join("");
        const s = ss.join("");
        expect(globMatch(b(p), b(s))).toBe(reference(p, s));
      }),
      { numRuns: 3000 },
    );
  });

  test("classes, ranges, negation, escapes and nocase", () => {
    expect(globMatch(b("h[ae]llo"), b("hallo"))).toBe(true);
    expect(globMatch(b("h[^e]llo"), b("hello"))).toBe(false);
    expect(globMatch(b("h[a-b]llo"), b("hbllo"))).toBe(true);
    expect(globMatch(b("h[b-a]llo"), b("hallo"))).toBe(true);
    expect(globMatch(b("h\\*llo"), b("h*llo"))).toBe(true);
    expect(globMatch(b("h\\*llo"), b("hallo"))).toBe(false);
    expect(globMatch(b("HE*"), b("hello"), true)).toBe(true);
    expect(globMatch(b("*[0-9]"), b("key9"))).toBe(true);
  });

  test("pathological patterns finish quickly; past 1000 nested stars nothing matches, as in Redis", () => {
    const long = "a".repeat(50_000);
    expect(globMatch(b("*?".repeat(50_000)), b(long))).toBe(false);
    expect(globMatch(b(`${"a*".repeat(20)}b`), b("a".repeat(40)))).toBe(false);
    expect(globMatch(b(`${"*a".repeat(500)}*`), b("a".repeat(600)))).toBe(true);
  });
});
