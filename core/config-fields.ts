/**
 * Building blocks of the configuration schema: one zod type per kind of
 * value (integer range, duration, size, enum, list, …). Each accepts the
 * string form that flags and env give as well as the typed form YAML gives,
 * and carries its help metadata so help text is generated from the schema.
 */
import { z } from "zod";
import { parseDuration, parseSize } from "./units.ts";

/** Help metadata carried by every config field (read back with `schema.meta()`). */
export interface FieldMeta {
  [k: string]: unknown;
  /** Section of the help text. */
  group: string;
  /** One-line description. */
  description: string;
  /** Placeholder shown after the flag, e.g. "<port>". */
  arg: string;
  /** Value kind; "bool" flags may be given without a value. */
  kind: "int" | "duration" | "size" | "enum" | "string" | "bool" | "list" | "record";
  /** Default as a human would write it, for help text. */
  shown?: string;
  /** Only settable in shoal.yaml (no flag or env). */
  yamlOnly?: boolean;
  /** Default depends on --preset. */
  preset?: boolean;
  /** Other accepted names (camelCase), e.g. dnsSrv for dnsName (DESIGN.md's SHOAL_DNS_SRV). */
  aliases?: string[];
}

type Meta = Omit<FieldMeta, "arg" | "kind"> & { arg?: string };

const INTEGER = /^[+-]?\d+$/;

/** Integer in [min, max]; strings of digits are accepted. */
export function intField(min: number, max: number, meta: Meta) {
  const msg = `expected an integer ${min}-${max}`;
  return z
    .preprocess(
      (v) => (typeof v === "string" && INTEGER.test(v.trim()) ? Number(v) : v),
      z.number({ error: msg }).int({ error: msg }).min(min, { error: msg }).max(max, { error: msg }),
    )
    .meta({ arg: `<${min}-${max}>`, kind: "int", ...meta });
}

/** Duration stored as milliseconds; accepts ms numbers or "100ms"/"5s"/"2m". */
export function durationField(meta: Meta) {
  const msg = "expected a duration such as 500ms, 5s, 2m (or a number of milliseconds)";
  return z
    .preprocess(
      (v) => (typeof v === "number" || typeof v === "string" ? (parseDuration(v) ?? v) : v),
      z.number({ error: msg }).int({ error: msg }).min(0, { error: msg }),
    )
    .meta({ arg: "<duration>", kind: "duration", ...meta });
}

/** Size stored as bytes; accepts byte counts or "64kb"/"512mb"/"1gb". */
export function sizeField(meta: Meta) {
  const msg = "expected a size such as 64kb, 512mb, 1gb (or a number of bytes)";
  return z
    .preprocess(
      (v) => (typeof v === "number" || typeof v === "string" ? (parseSize(v) ?? v) : v),
      z.number({ error: msg }).int({ error: msg }).min(0, { error: msg }),
    )
    .meta({ arg: "<size>", kind: "size", ...meta });
}

/** One of a fixed set of strings (case-insensitive on input). */
export function enumField<const T extends readonly [string, ...string[]]>(values: T, meta: Meta) {
  const msg = `expected one of ${values.join("|")}`;
  return z
    .preprocess((v) => (typeof v === "string" ? v.trim().toLowerCase() : v), z.enum(values, { error: msg }))
    .meta({ arg: values.join("|"), kind: "enum", ...meta });
}

/** Non-empty string. */
export function stringField(meta: Meta) {
  const msg = "expected a non-empty string";
  return z
    .preprocess((v) => (typeof v === "number" ? String(v) : v), z.string({ error: msg }).min(1, { error: msg }))
    .meta({ arg: "<string>", kind: "string", ...meta });
}

/** Boolean; accepts true/false, yes/no, on/off, 1/0. */
export function boolField(meta: Meta) {
  const msg = "expected true or false";
  const words: Record<string, boolean> = { true: true, yes: true, on: true, "1": true, false: false, no: false, off: false, "0": false };
  return z
    .preprocess((v) => (typeof v === "string" ? (words[v.trim().toLowerCase()] ?? v) : v), z.boolean({ error: msg }))
    .meta({ arg: "[true|false]", kind: "bool", ...meta });
}

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/;

/** List of host:port addresses; accepts a comma-separated string or a YAML list. */
export function addressListField(meta: Meta) {
  const msg = "expected host:port addresses separated by commas";
  return z
    .preprocess(
      (v) =>
        typeof v === "string"
          ? v
              .split(",")
              .map((s) => s.trim())
              .filter((s) => s !== "")
          : v,
      z.array(z.string({ error: msg }).regex(HOST_PORT, { error: msg }), { error: msg }),
    )
    .meta({ arg: "<host:port,…>", kind: "list", ...meta });
}

/** The eviction settings of one map, as written in shoal.yaml under `maps.<name>`. */
export const MapOverride = z
  .object({
    ttlMs: durationField({ group: "maps", description: "default TTL" }).optional(),
    maxIdleMs: durationField({ group: "maps", description: "max idle time" }).optional(),
    maxKeys: intField(0, Number.MAX_SAFE_INTEGER, { group: "maps", description: "max keys" }).optional(),
    maxInuse: sizeField({ group: "maps", description: "max bytes in use" }).optional(),
    writeQuorum: intField(1, 16, { group: "maps", description: "copies that must ack a write" }).optional(),
    readQuorum: intField(1, 16, { group: "maps", description: "copies consulted on a read" }).optional(),
  })
  .strict();

/** Per-map eviction overrides (milliseconds and bytes; absent fields use the defaults). */
export type MapOverride = z.output<typeof MapOverride>;
