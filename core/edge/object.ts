/**
 * Stored entries of the edge map, as bytes (they live in a named map like any
 * value, travel between nodes in one peer frame, and are replicated):
 *
 *   object:    0x01, u32 meta length (LE), meta (msgpack {@link ObjectMeta}), body
 *   vary spec: 0x02, msgpack {@link VarySpec}
 *
 * The body is the last part, so delivering it is a subarray, not a copy.
 */
import { Packr } from "msgpackr";
import type { Freshness } from "./freshness.ts";
import type { HeaderList } from "./headers.ts";

/** What is stored with a cached response besides its body. */
export interface ObjectMeta extends Freshness {
  status: number;
  /** End-to-end response fields as the origin sent them (no hop-by-hop fields, no Age). */
  headers: HeaderList;
  /** Surrogate-Key tags, for purges by tag. */
  tags: string[];
  /** Vary header names (lower-case, sorted); empty when the response does not vary. */
  vary: string[];
}

/** The primary entry of a URL whose responses vary: the header names and the generation of its variants. */
export interface VarySpec {
  vary: string[];
  generation: string;
}

/** A decoded stored entry. */
export type StoredEntry = { kind: "object"; meta: ObjectMeta; body: Uint8Array } | { kind: "vary"; spec: VarySpec };

const OBJECT = 1;
const VARY = 2;
const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encodes a response for the store. */
export function encodeObject(meta: ObjectMeta, body: Uint8Array): Uint8Array {
  const m = packr.pack(meta);
  const out = new Uint8Array(5 + m.length + body.length);
  out[0] = OBJECT;
  new DataView(out.buffer).setUint32(1, m.length, true);
  out.set(m, 5);
  out.set(body, 5 + m.length);
  return out;
}

/** Encodes a vary spec for the primary entry. */
export function encodeVarySpec(spec: VarySpec): Uint8Array {
  const m = packr.pack(spec);
  const out = new Uint8Array(1 + m.length);
  out[0] = VARY;
  out.set(m, 1);
  return out;
}

/** Decodes a stored entry; null for bytes that are not one (a foreign value in the map, or corruption). */
export function decodeEntry(bytes: Uint8Array): StoredEntry | null {
  try {
    if (bytes[0] === OBJECT && bytes.length >= 5) {
      const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, true);
      if (5 + len > bytes.length) return null;
      const meta = packr.unpack(bytes.subarray(5, 5 + len)) as ObjectMeta;
      if (typeof meta?.status !== "number" || !Array.isArray(meta.headers)) return null;
      return { kind: "object", meta, body: bytes.subarray(5 + len) };
    }
    if (bytes[0] === VARY) {
      const spec = packr.unpack(bytes.subarray(1)) as VarySpec;
      if (!Array.isArray(spec?.vary) || typeof spec.generation !== "string") return null;
      return { kind: "vary", spec };
    }
  } catch {
    return null;
  }
  return null;
}
