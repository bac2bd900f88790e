/**
 * HTTP header lists as the edge cache keeps them: `[name, value]` pairs with
 * lower-case names, in order (a name may repeat, as Set-Cookie does). Plain
 * arrays travel between nodes and into the store as they are.
 */

/** Header fields, lower-case names, in order. */
export type HeaderList = [string, string][];

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection and are
 * never stored or forwarded. Content-Length is recomputed by whoever sends
 * the body, so it is dropped as well.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
]);

/** The value of `name` (lower-case), repeated fields joined with ", "; null when absent. */
export function headerValue(list: readonly (readonly [string, string])[], name: string): string | null {
  let out: string | null = null;
  for (const [n, v] of list) if (n === name) out = out === null ? v : `${out}, ${v}`;
  return out;
}

/** Whether `name` (lower-case) is present. */
export function hasHeader(list: readonly (readonly [string, string])[], name: string): boolean {
  for (const [n] of list) if (n === name) return true;
  return false;
}

/**
 * The end-to-end fields of `list`: hop-by-hop fields, the fields a
 * `Connection` header names, and every name in `drop` are left out.
 */
export function endToEnd(list: readonly (readonly [string, string])[], drop: ReadonlySet<string> = new Set()): HeaderList {
  const named = new Set<string>();
  for (const [n, v] of list) {
    if (n !== "connection") continue;
    for (const t of v.split(",")) named.add(t.trim().toLowerCase());
  }
  const out: HeaderList = [];
  for (const [n, v] of list) if (!HOP_BY_HOP.has(n) && !named.has(n) && !drop.has(n)) out.push([n, v]);
  return out;
}

/** `list` with every field named in `names` replaced by the fields of `replacement` of that name. */
export function replaceHeaders(list: readonly [string, string][], replacement: readonly [string, string][], keep: ReadonlySet<string>): HeaderList {
  const names = new Set(replacement.map(([n]) => n).filter((n) => !keep.has(n)));
  const out: HeaderList = list.filter(([n]) => !names.has(n));
  for (const [n, v] of replacement) if (names.has(n)) out.push([n, v]);
  return out;
}

/** Splits a comma-separated field value into trimmed, non-empty items (no quoted-string awareness). */
export function listItems(value: string | null): string[] {
  if (value === null) return [];
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
