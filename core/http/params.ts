/**
 * Parsing of HTTP API inputs (TTL, flags, scan paging, request bodies).
 * Every parser either returns a value or throws {@link BadRequest} whose
 * message names the input and what is expected.
 */

/** A client error the HTTP API answers with 400 (or `status`) and a JSON body. */
export class BadRequest extends Error {
  /** HTTP status to answer with. */
  readonly status: 400 | 413 | 414;
  /** Machine-readable error code for the JSON body. */
  readonly code: string;

  constructor(message: string, status: 400 | 413 | 414 = 400, code = "BADREQUEST") {
    super(message);
    this.name = "BadRequest";
    this.status = status;
    this.code = code;
  }
}

const TTL_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const TTL_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
/** Largest TTL accepted: 100 years in ms (keeps expiry math exact in a double). */
const MAX_TTL_MS = 100 * 365 * 86_400_000;

/**
 * Parses a TTL: a bare number is seconds (`10`), or a number with a unit
 * `ms|s|m|h|d` (`500ms`, `1.5s`, `2h`). Returns milliseconds (integer >= 1).
 * @throws BadRequest on anything else, zero, or more than 100 years.
 */
export function parseTtl(raw: string, source: string): number {
  const m = TTL_RE.exec(raw.trim());
  if (!m) {
    throw new BadRequest(`${source}: expected seconds or a number with a unit (500ms, 10s, 5m, 2h, 1d), got "${raw}"`);
  }
  const ms = Math.round(Number(m[1]) * TTL_UNITS[m[2] ?? "s"]!);
  if (!(ms >= 1)) throw new BadRequest(`${source}: TTL must be at least 1ms, got "${raw}"`);
  if (ms > MAX_TTL_MS) throw new BadRequest(`${source}: TTL must be at most 100 years, got "${raw}"`);
  return ms;
}

/**
 * Parses a boolean query flag: absent → false; `1|true|yes|""` → true; `0|false|no` → false.
 * @throws BadRequest on other values.
 */
export function parseFlag(raw: string | undefined, name: string): boolean {
  if (raw === undefined) return false;
  const v = raw.toLowerCase();
  if (v === "" || v === "1" || v === "true" || v === "yes") return true;
  if (v === "0" || v === "false" || v === "no") return false;
  throw new BadRequest(`?${name}= expects 1 or 0, got "${raw}"`);
}

/**
 * Parses a non-negative integer query parameter within [min, max], or `fallback` when absent.
 * @throws BadRequest when it is not a decimal integer in range.
 */
export function parseIntParam(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d{1,16}$/.test(raw)) throw new BadRequest(`?${name}= expects an integer from ${min} to ${max}, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new BadRequest(`?${name}= expects an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

const encoder = new TextEncoder();

/**
 * Checks a map name, key or channel taken from the URL.
 * @throws BadRequest (400 when empty, 414 when longer than `maxBytes` UTF-8 bytes).
 */
export function checkName(value: string, what: "key" | "map" | "channel", maxBytes: number): void {
  if (value.length === 0) throw new BadRequest(`${what} must not be empty`);
  // UTF-8 is at most 3 bytes per UTF-16 unit; only encode when it could be too long.
  if (value.length * 3 > maxBytes) {
    const n = encoder.encode(value).length;
    if (n > maxBytes) {
      throw new BadRequest(`${what} is ${n} bytes; the limit is ${maxBytes} bytes`, 414, "KEYTOOLONG");
    }
  }
}

/**
 * Reads a request body up to `limit` bytes without buffering more than that.
 * @throws BadRequest(413) when the declared or actual length exceeds `limit`.
 */
export async function readBodyCapped(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw tooLarge(Number(declared), limit);
  }
  if (req.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(total, limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function tooLarge(size: number, limit: number): BadRequest {
  return new BadRequest(`body of ${size}+ bytes exceeds the max value size of ${limit} bytes`, 413, "TOOLARGE");
}
