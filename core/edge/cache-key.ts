/**
 * The hash stage: which stored entries a request can be answered from.
 *
 * The primary key is the origin URL the request maps to (origin + path +
 * query, as nginx's default `$scheme$proxy_host$request_uri`), so every edge
 * node, whatever port or Host it is reached by, finds the same object.
 * Stored under a Redis hash tag (`{<url>}`), the primary entry and all its
 * variants land in one partition, on one owner.
 *
 * A response with `Vary` is stored as a variant (RFC 9111 §4.1): the primary
 * entry then holds a {@link VarySpec} — the header names and a generation —
 * and each variant sits at `{<url>}#<generation>:<normalized values>`. A purge
 * drops the spec; the next one gets a new generation, so variants of the old
 * one are unreachable at once (they expire with their own TTL).
 */

/** Largest path + query accepted (longer requests get 414), bytes of UTF-16 text. */
export const MAX_TARGET_LENGTH = 8192;

/** The store key of the primary entry for an origin URL. */
export function primaryKey(originUrl: string): string {
  // "}" would end the hash tag early; origin URLs percent-encode it in paths, so this only touches queries
  return `{${originUrl.replaceAll("}", "%7D")}}`;
}

/** The origin URL a primary store key was made from (for purge replies and logs). */
export function urlOfKey(key: string): string {
  const end = key.indexOf("}");
  return key.slice(1, end < 0 ? key.length : end).replaceAll("%7D", "}");
}

/** Header names of a Vary value, lower-case, sorted, unique; "*" when it varies on everything. */
export function varyNames(value: string | null): string[] | "*" {
  if (value === null) return [];
  const names = new Set<string>();
  for (const part of value.split(",")) {
    const n = part.trim().toLowerCase();
    if (n === "*") return "*";
    if (n !== "") names.add(n);
  }
  return [...names].sort();
}

/**
 * The variant key of a request: the request's values of the `names` headers,
 * whitespace-normalized (RFC 9111 §4.1 allows combining and normalizing), under
 * the primary entry's hash tag and generation.
 */
export function variantKey(primary: string, generation: string, names: readonly string[], header: (name: string) => string | null): string {
  let values = "";
  for (const n of names) {
    const v = header(n);
    values += `${n}=${v === null ? "" : v.trim().replace(/\s*,\s*/g, ",").replace(/\s+/g, " ")}\n`;
  }
  return `${primary}#${generation}:${values}`;
}
