/**
 * Parsing of human-written durations ("500ms", "5s", "2m") and sizes
 * ("64kb", "512mb", "1gb") used by configuration. Pure functions.
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Binary multiples, Redis-style: "kb" and "k" are both 1024 bytes. */
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

const QUANTITY = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/;

function parseQuantity(input: number | string, units: Record<string, number>, bare: number): number | null {
  if (typeof input === "number") {
    return Number.isFinite(input) && input >= 0 ? Math.round(input * bare) : null;
  }
  const match = QUANTITY.exec(input.trim().toLowerCase());
  if (!match) return null;
  const factor = match[2] === "" ? bare : units[match[2]!];
  if (factor === undefined) return null;
  const value = Number(match[1]) * factor;
  return Number.isSafeInteger(Math.round(value)) ? Math.round(value) : null;
}

/**
 * Parses a duration into milliseconds. Accepts a non-negative number of
 * milliseconds or a string such as "250ms", "5s", "2m", "1h", "1d"
 * (decimals allowed: "1.5s"). Returns null when the input is not a duration.
 */
export function parseDuration(input: number | string): number | null {
  return parseQuantity(input, DURATION_UNITS, 1);
}

/**
 * Parses a size into bytes. Accepts a non-negative number of bytes or a string
 * such as "512", "64kb", "512mb", "1gb" (1kb = 1024 bytes, like Redis).
 * Returns null when the input is not a size.
 */
export function parseSize(input: number | string): number | null {
  return parseQuantity(input, SIZE_UNITS, 1);
}

/** Formats milliseconds compactly for help text and logs: 30000 → "30s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  for (const [unit, factor] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}

/** Formats bytes compactly for help text and logs: 65536 → "64kb", 1000 → "1000". */
export function formatSize(bytes: number): string {
  if (bytes === 0) return "0";
  for (const [unit, factor] of [
    ["gb", 1024 ** 3],
    ["mb", 1024 ** 2],
    ["kb", 1024],
  ] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
