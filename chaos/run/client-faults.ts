/**
 * Client-side faults of `shoal chaos --real --run` (Toxiproxy's set), applied
 * by the proxies in front of every node's RESP and HTTP port to the
 * connections the user's application makes. One parser for the flag
 * (`--client-faults latency=200ms,jitter=50ms,reset=1%`), the control
 * endpoint's body (the same text, or a JSON object of the same keys) and the
 * report. Pure: no I/O.
 *
 *   latency=<d>      added to every reply chunk (server → client), so each round trip takes at least this long
 *   jitter=<d>       ± up to this much on top of latency (uniform; never below 0)
 *   bandwidth=<size> replies paced to this many bytes per second per connection (64kb = 64 KiB/s)
 *   reset=<pct>      chance per request chunk that the connection is reset (TCP RST to the client) instead of forwarded
 *   timeout=<pct>    share of connections that go silent: accepted, then nothing is forwarded either way (half-open)
 *   slice=<size>     replies cut into pieces of about this many bytes (±50%), written one by one
 *   slice-delay=<d>  pause between two slices [1ms]
 */
import { closestName } from "../../core/config-names.ts";
import { formatDuration, formatSize, parseDuration, parseSize } from "../../core/units.ts";

/** The client faults in force (all zero = none). */
export interface ClientFaults {
  /** ms added to each reply chunk. */
  latencyMs: number;
  /** ± ms around latencyMs. */
  jitterMs: number;
  /** Reply bytes per second per connection; 0 = unlimited. */
  bandwidthBps: number;
  /** 0..100: chance per request chunk of a reset. */
  resetPct: number;
  /** 0..100: share of connections that never answer. */
  timeoutPct: number;
  /** Average slice size of replies in bytes; 0 = no slicing. */
  sliceBytes: number;
  /** Pause between slices, ms. */
  sliceDelayMs: number;
}

/** No client fault. */
export const NO_CLIENT_FAULTS: Readonly<ClientFaults> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  bandwidthBps: 0,
  resetPct: 0,
  timeoutPct: 0,
  sliceBytes: 0,
  sliceDelayMs: 1,
});

/** A bad client-fault spec; the message names the key, the value and what is expected. */
export class ClientFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClientFaultError";
  }
}

type Kind = "duration" | "size" | "percent";

/** The keys, in canonical order: what each sets and its largest value. */
const KEYS: Record<string, { field: keyof ClientFaults; kind: Kind; max: number }> = {
  latency: { field: "latencyMs", kind: "duration", max: 600_000 },
  jitter: { field: "jitterMs", kind: "duration", max: 600_000 },
  bandwidth: { field: "bandwidthBps", kind: "size", max: 1024 ** 4 },
  reset: { field: "resetPct", kind: "percent", max: 100 },
  timeout: { field: "timeoutPct", kind: "percent", max: 100 },
  slice: { field: "sliceBytes", kind: "size", max: 1024 ** 3 },
  "slice-delay": { field: "sliceDelayMs", kind: "duration", max: 60_000 },
};

/** The keys a spec may use. */
export const CLIENT_FAULT_KEYS: readonly string[] = Object.keys(KEYS);

const EXAMPLE = "latency=200ms,jitter=50ms,bandwidth=64kb,reset=1%,timeout=5%,slice=16";

function parseValue(key: string, kind: Kind, text: string): number {
  const t = text.trim();
  if (kind === "percent") {
    const m = /^(\d+(?:\.\d+)?)%$/.exec(t);
    if (!m) throw new ClientFaultError(`${key} expects a percentage such as 1% or 0.5%, got ${JSON.stringify(text)}`);
    return Number(m[1]);
  }
  const v = kind === "duration" ? parseDuration(t) : parseSize(t);
  if (v === null) {
    const eg = kind === "duration" ? "200ms, 1.5s or 2m" : "16, 64kb or 1mb";
    throw new ClientFaultError(`${key} expects a ${kind} such as ${eg}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/**
 * Parses `key=value,key=value` (or `none` / empty for no faults). Keys not
 * named keep their default (0, slice-delay 1ms). Throws {@link ClientFaultError}.
 */
export function parseClientFaults(text: string): ClientFaults {
  const out: ClientFaults = { ...NO_CLIENT_FAULTS };
  const trimmed = text.trim();
  if (trimmed === "" || trimmed === "none") return out;
  if (trimmed.length > 1000) throw new ClientFaultError(`the spec is ${trimmed.length} characters long; at most 1000`);
  const seen = new Set<string>();
  for (const part of trimmed.split(",")) {
    const item = part.trim();
    if (item === "") throw new ClientFaultError(`empty item in ${JSON.stringify(text)}; separate key=value pairs with single commas, e.g. ${EXAMPLE}`);
    const eq = item.indexOf("=");
    if (eq < 0) throw new ClientFaultError(`${JSON.stringify(item)} is not key=value; e.g. ${EXAMPLE}`);
    const key = item.slice(0, eq).trim().toLowerCase();
    setKey(out, seen, key, item.slice(eq + 1));
  }
  return check(out);
}

/**
 * The same from a JSON object (`{"latency": "200ms", "reset": "1%"}`); a
 * number is read like the same text (a bare duration is milliseconds, a
 * bare size bytes; percentages need the `%`). Throws {@link ClientFaultError}.
 */
export function clientFaultsFromJson(value: unknown): ClientFaults {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ClientFaultError(`expected a JSON object such as {"latency": "200ms", "reset": "1%"}, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  const out: ClientFaults = { ...NO_CLIENT_FAULTS };
  const seen = new Set<string>();
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string" && typeof v !== "number") throw new ClientFaultError(`${key} expects a string or a number, got ${JSON.stringify(v)}`);
    setKey(out, seen, key.toLowerCase(), String(v));
  }
  return check(out);
}

function setKey(out: ClientFaults, seen: Set<string>, key: string, value: string): void {
  const spec = KEYS[key];
  if (!spec) {
    const near = closestName(key, CLIENT_FAULT_KEYS);
    throw new ClientFaultError(`unknown client fault ${JSON.stringify(key)}${near ? `; did you mean ${near}?` : ""} (known: ${CLIENT_FAULT_KEYS.join(", ")})`);
  }
  if (seen.has(key)) throw new ClientFaultError(`${key} is given twice`);
  seen.add(key);
  const v = parseValue(key, spec.kind, value);
  if (v > spec.max) {
    const max = spec.kind === "percent" ? "100%" : spec.kind === "duration" ? formatDuration(spec.max) : formatSize(spec.max);
    throw new ClientFaultError(`${key} is at most ${max}, got ${JSON.stringify(value.trim())}`);
  }
  out[spec.field] = v;
}

function check(f: ClientFaults): ClientFaults {
  if (f.sliceBytes === 0 && f.sliceDelayMs !== NO_CLIENT_FAULTS.sliceDelayMs) {
    throw new ClientFaultError("slice-delay needs slice=<size> (the size of the pieces replies are cut into)");
  }
  return f;
}

/** True when `f` changes nothing. */
export function isNoFault(f: ClientFaults): boolean {
  return f.latencyMs === 0 && f.jitterMs === 0 && f.bandwidthBps === 0 && f.resetPct === 0 && f.timeoutPct === 0 && f.sliceBytes === 0;
}

/** The canonical text of `f` (`none` when nothing is set); parseClientFaults(format(f)) equals f. */
export function formatClientFaults(f: ClientFaults): string {
  if (isNoFault(f)) return "none";
  const parts: string[] = [];
  for (const [key, spec] of Object.entries(KEYS)) {
    const v = f[spec.field];
    if (key === "slice-delay" ? f.sliceBytes === 0 || v === NO_CLIENT_FAULTS.sliceDelayMs : v === 0) continue;
    parts.push(`${key}=${spec.kind === "percent" ? `${v}%` : spec.kind === "duration" ? formatDuration(v) : formatSize(v)}`);
  }
  return parts.join(",");
}
