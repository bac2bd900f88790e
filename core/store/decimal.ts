/**
 * INCRBYFLOAT arithmetic the way Redis shows it: Redis adds two long doubles
 * and prints them with "%.17Lf" minus trailing zeros. Exact decimal addition
 * rounded to 17 places gives the same text for every decimal input a user
 * types; only sums past double range differ in their last digits (Redis
 * prints the binary long double's expansion there).
 */

interface Decimal {
  /** value = m * 10^e */
  m: bigint;
  e: number;
}

const DEC = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const MAX_EXP = 4932; // long double range

/** Parses a decimal literal exactly; null for hex, inf, nan or malformed text. */
export function parseDecimal(s: string): Decimal | null {
  const g = DEC.exec(s);
  if (!g || (g[2] === "" && (g[3] === undefined || g[3] === ""))) return null;
  const frac = g[3] ?? "";
  const exp = g[4] === undefined ? 0 : Number(g[4]);
  if (!Number.isFinite(exp) || Math.abs(exp) > MAX_EXP + 100) return null;
  let m = BigInt((g[2] || "0") + frac);
  if (g[1] === "-") m = -m;
  return { m, e: exp - frac.length };
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** a + b, exactly. */
export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const e = Math.min(a.e, b.e);
  return { m: a.m * pow10(a.e - e) + b.m * pow10(b.e - e), e };
}

/** Formats like printf("%.17Lf") with trailing zeros (and a bare point) removed; null past long double range. */
export function formatDecimal(d: Decimal): string | null {
  let { m, e } = d;
  if (e < -17) {
    const div = pow10(-17 - e);
    const neg = m < 0n;
    let q = (neg ? -m : m) / div;
    const r = (neg ? -m : m) % div;
    if (r * 2n > div || (r * 2n === div && q % 2n === 1n)) q += 1n;
    m = neg ? -q : q;
    e = -17;
  }
  const neg = m < 0n;
  let digits = (neg ? -m : m).toString();
  if (e > 0) digits += "0".repeat(e);
  if (digits.length - Math.max(0, -e) > MAX_EXP) return null;
  let int = digits;
  let frac = "";
  if (e < 0) {
    const pad = digits.padStart(-e + 1, "0");
    int = pad.slice(0, pad.length + e);
    frac = pad.slice(pad.length + e).replace(/0+$/, "");
  }
  const body = frac ? `${int}.${frac}` : int;
  return neg && body !== "0" ? `-${body}` : body;
}
