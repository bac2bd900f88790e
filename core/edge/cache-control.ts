/**
 * Cache-Control field parsing (RFC 9111 §5.2): directive names are
 * case-insensitive, arguments are tokens or quoted strings, and commas inside
 * quotes do not split. Pure.
 */

/** Directive name (lower-case) → its argument, or `true` when it has none. */
export type Directives = Map<string, string | true>;

/** Parses a Cache-Control value (repeated fields already joined with ", "); null or "" gives no directives. */
export function parseCacheControl(value: string | null): Directives {
  const out: Directives = new Map();
  if (value === null || value === "") return out;
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value[i] === "," || value[i] === " " || value[i] === "\t")) i++;
    let j = i;
    while (j < n && value[j] !== "=" && value[j] !== ",") j++;
    const name = value.slice(i, j).trim().toLowerCase();
    let arg: string | true = true;
    if (j < n && value[j] === "=") {
      j++;
      while (j < n && (value[j] === " " || value[j] === "\t")) j++;
      if (value[j] === '"') {
        let k = j + 1;
        let text = "";
        while (k < n && value[k] !== '"') {
          if (value[k] === "\\" && k + 1 < n) k++;
          text += value[k];
          k++;
        }
        arg = text;
        j = k + 1;
        while (j < n && value[j] !== ",") j++;
      } else {
        let k = j;
        while (k < n && value[k] !== ",") k++;
        arg = value.slice(j, k).trim();
        j = k;
      }
    }
    // RFC 9111 §4.2.1: with a directive given twice, use the first occurrence
    if (name !== "" && !out.has(name)) out.set(name, arg);
    i = j + 1;
  }
  return out;
}

/**
 * A delta-seconds argument in milliseconds; undefined when the directive is
 * absent. A directive present with a malformed or missing argument counts as
 * 0 (the most restrictive reading, RFC 9111 §1.2.2); huge values are capped
 * at 2^31 seconds as RFC 9111 asks.
 */
export function deltaMs(d: Directives, name: string): number | undefined {
  const arg = d.get(name);
  if (arg === undefined) return undefined;
  if (arg === true || !/^\d+$/.test(arg)) return 0;
  return Math.min(Number(arg), 2 ** 31) * 1000;
}
