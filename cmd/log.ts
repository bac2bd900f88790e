/**
 * Structured logger for the binary: one line per event, either text
 * (`2026-11-23T10:00:00.000Z INFO event key=value`) or one JSON object per
 * line. Fields that look like secrets (names containing "pass", "token",
 * "secret" or "key" — except data keys such as `key`/`keys`) are redacted.
 */
import type { Logger } from "../core/discovery.ts";

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A Logger with a debug level. */
export interface ShoalLogger extends Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
}

/** Logger options; `write` and `now` are injectable for tests. */
export interface LoggerOptions {
  format?: "text" | "json";
  level?: LogLevel;
  /** Receives one finished line (no trailing newline). Default: console.log. */
  write?: (line: string) => void;
  /** Wall clock in ms. Default: Date.now. */
  now?: () => number;
}

/** Field names that hold data keys or counts of them, never credentials. */
const DATA_KEYS = new Set(["key", "keys", "keycount", "maxkeys", "keyspace", "maxkeybytes", "expiredkeys", "evictedkeys"]);

/** True when a field named `name` may hold a secret. */
export function isSecretField(name: string): boolean {
  const n = name.toLowerCase().replace(/[-_]/g, "");
  if (/pass|token|secret|credential|auth/.test(n)) return true;
  return n.includes("key") && !DATA_KEYS.has(n);
}

/** Copies `value` with secret-looking fields replaced by "[redacted]" (nested objects too). */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return value.message;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretField(k) && v !== undefined && v !== null && v !== "" ? "[redacted]" : redact(v, depth + 1);
  }
  return out;
}

function textValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v === null || v === undefined) return String(v);
  return JSON.stringify(v);
}

/** Creates a logger writing text or JSON lines. */
export function createLogger(opts: LoggerOptions = {}): ShoalLogger {
  const format = opts.format ?? "text";
  const min = RANK[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => console.log(line));
  const now = opts.now ?? Date.now;
  const emit = (level: LogLevel, event: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] < min) return;
    const time = new Date(now()).toISOString();
    const safe = fields === undefined ? {} : (redact(fields) as Record<string, unknown>);
    if (format === "json") {
      write(JSON.stringify({ time, level, event, ...safe }, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
      return;
    }
    let line = `${time} ${level.toUpperCase()} ${event}`;
    for (const [k, v] of Object.entries(safe)) if (v !== undefined) line += ` ${k}=${textValue(v)}`;
    write(line);
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
  };
}
