/**
 * The data protocol between cluster nodes (msgpackr on the wire):
 *
 * - `exec` runs a client command on the receiving node (the partition owner)
 *   and answers with the raw RESP reply bytes, so forwarding is byte-exact.
 * - `apply` hands entry states (a value with its expiry and version, or a
 *   deletion) to a replica or a new holder; the receiver keeps the newest
 *   version per key (last-writer-wins) and answers with how many it took.
 * - `fetch` asks for the receiver's state of some keys (a quorum read); the
 *   answer has one entry per key, a deletion at version 0 when unknown.
 * - `hello` asks for the receiver's client (RESP) address, for MOVED/ASK and
 *   CLUSTER SLOTS/NODES.
 * - `pull` pages through the receiver's entries of some partitions (a
 *   joining node's initial sync); `after` is the cursor of the previous page.
 * - `undo` takes back a write whose quorum failed: for each entry, the
 *   receiver restores the given earlier state if the key is still at the
 *   failed write's version (`versions[i]`), and answers how many it undid.
 * - `digest` asks for the receiver's digests of some partitions
 *   (digest.ts); `range` for its entries (or only their versions) in some
 *   partition key-hash ranges; `forget` drops tombstones anti-entropy found
 *   on every holder (each only if still at the given version). Together
 *   they are anti-entropy (anti-entropy.ts).
 */
import { Packr } from "msgpackr";
import { EntryBatch, MAX_MAPS } from "./entry-batch.ts";
import {
  compactKind,
  decodeCompactApplied,
  decodeCompactApply,
  decodeCompactEntries,
  encodeCompactApplied,
  encodeCompactApply,
  encodeCompactEntries,
  isCompact,
} from "./peer-compact.ts";

/** One key's state: a value, or `null` for a deletion (tombstone). */
export interface EntryState {
  map: string;
  key: Uint8Array;
  /**
   * Kind of the value (core/store/collection.ts Kind): 0 or absent a string,
   * 1 a hash, 2 a set — whose `value` is then its canonical compact blob.
   */
  kind?: number;
  value: Uint8Array | null;
  /** Absolute expiry in Unix ms, 0 for none. */
  expireAt: number;
  /** Hybrid-logical-clock version of the write. */
  version: number;
}

/** Requests a node answers on the data channel. */
export type PeerRequest =
  /** `user`: the ACL user the client is logged in as on the node it is connected to; the command runs as that user. */
  | { t: "exec"; args: Uint8Array[]; proto: number; hops: number; owned?: boolean; user?: string }
  /**
   * `strict`: a client write's replication; taken only if the receiver's
   * table names `from` as the owner (and, with `view`, only if the
   * receiver's table has the same members: {@link PartitionTable.viewId}).
   */
  | {
      t: "apply";
      entries: EntryState[];
      /** Sending side only: the entry list already in wire form ({@link EntryBatch.finish}); `entries` is then ignored. */
      packed?: Uint8Array;
      from?: string;
      strict?: boolean;
      view?: number;
    }
  /**
   * `strict`: served only if the receiver's table names `from` a holder of
   * every partition asked for (`asOwner`: their owner).
   */
  | { t: "pull"; partitions: number[]; after: PullCursor | null; from?: string; strict?: boolean; asOwner?: boolean }
  /** `strict`: a quorum read; answered only if the receiver's table names `from` as the owner (and has the same `view`). */
  | { t: "fetch"; keys: { map: string; key: Uint8Array }[]; from?: string; strict?: boolean; view?: number }
  | { t: "hello" }
  | { t: "undo"; entries: EntryState[]; versions: number[]; from?: string }
  /**
   * `strict` (a restarted node's catch-up): answered only once the receiver's table names `from` a holder of every
   * partition. `before`: only entries at a version up to it count (anti-entropy leaves writes still in flight out).
   */
  | { t: "digest"; partitions: number[]; from?: string; strict?: boolean; before?: number }
  /** `ranges`: pairs partition, range (flat); `values`: full states, else versions only (value null); `before` as for `digest`. */
  | { t: "range"; ranges: number[]; values: boolean; before?: number }
  | { t: "forget"; entries: EntryState[] }
  /** buckets.ts: the children's digests of key-hash buckets (flat: partition, depth, prefix per bucket). */
  | { t: "buckets"; buckets: number[] }
  /** buckets.ts: the full states of the entries in key-hash buckets (flat, as for `buckets`). */
  | { t: "bucketEntries"; buckets: number[] };

/** Position in a node's entries: map name and entry index to resume after. */
export interface PullCursor {
  map: string;
  idx: number;
}

/** Answers to {@link PeerRequest}s. */
export type PeerResponse =
  | { t: "reply"; resp: Uint8Array }
  /** `suspect`: the answering member suspects the requester (it may declare it dead soon). */
  | { t: "applied"; taken: number; suspect?: boolean }
  | {
      t: "entries";
      entries: EntryState[];
      /** Sending side only: the entry list already in wire form ({@link EntryBatch.finish}); `entries` is then ignored. */
      packed?: Uint8Array;
      next: PullCursor | null;
      suspect?: boolean;
    }
  | { t: "hello"; host: string; port: number }
  /** Digest words (count, XOR, sum per range) of `partitions`, in order (digest.ts). */
  | { t: "digests"; partitions: number[]; words: Uint32Array }
  /** Children's digests of the buckets asked for, in order (16 × count, XOR, sum per bucket). */
  | { t: "bucketDigests"; words: Uint32Array }
  | { t: "error"; message: string };

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Encodes a request or response. Entry lists (`apply`, `entries`) travel as
 * one binary blob ({@link packEntries}) instead of a msgpack map per entry:
 * a joining node decodes a million of them, and per-entry maps cost more
 * than the apply itself. `apply` and `applied`, one pair per replicated
 * batch, use the compact binary form of peer-compact.ts; the rest msgpack.
 */
export function encodePeer(msg: PeerRequest | PeerResponse): Uint8Array {
  if (msg.t === "apply") return encodeCompactApply(msg, msg.packed ?? packEntries(msg.entries));
  if (msg.t === "applied") return encodeCompactApplied(msg.taken, msg.suspect === true);
  if (msg.t === "entries" && msg.packed) return encodeCompactEntries(msg.next, msg.suspect === true, msg.packed);
  if (msg.t === "entries" || msg.t === "undo" || msg.t === "forget") return packr.pack({ ...msg, entries: packEntries(msg.entries) });
  if (msg.t === "digests" || msg.t === "bucketDigests") return packr.pack({ ...msg, words: new Uint8Array(msg.words.buffer, msg.words.byteOffset, msg.words.byteLength) });
  return packr.pack(msg);
}

const fromUtf8 = new TextDecoder();

/**
 * Entry states as one buffer: u32 entry count, u16 map-name count, each
 * name as u16 length + UTF-8; then per entry u16 holding the map index
 * (low 14 bits) and the value's kind (high 2 bits: 0 string, 1 hash, 2
 * set), u32 key length, key, i32 value length (−1 for a deletion), value,
 * f64 expireAt, f64 version (little-endian). Throws RangeError past 16,384
 * distinct maps. (Replication builds the same bytes as it goes: {@link EntryBatch}.)
 */
export function packEntries(entries: readonly EntryState[]): Uint8Array {
  let size = 0;
  for (const e of entries) size += 26 + e.key.length + (e.value?.length ?? 0);
  const batch = new EntryBatch(Math.max(64, size));
  for (const e of entries) batch.add(e);
  return batch.finish();
}

/** Decodes {@link packEntries}; keys and values are views into `b`. Throws TypeError on malformed input. */
export function unpackEntries(b: Uint8Array): EntryState[] {
  const bad = (): never => {
    throw new TypeError("peer protocol: malformed entry list");
  };
  if (b.length < 6) bad();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = dv.getUint32(0, true);
  const nameCount = dv.getUint16(4, true);
  let o = 6;
  const names: string[] = [];
  for (let i = 0; i < nameCount; i++) {
    if (o + 2 > b.length) bad();
    const len = dv.getUint16(o, true);
    if (o + 2 + len > b.length) bad();
    names.push(fromUtf8.decode(b.subarray(o + 2, o + 2 + len)));
    o += 2 + len;
  }
  const out: EntryState[] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (o + 10 > b.length) bad();
    const head = dv.getUint16(o, true);
    const map = names[head & (MAX_MAPS - 1)] ?? bad();
    const kind = head >> 14;
    const keyLen = dv.getUint32(o + 2, true);
    o += 6;
    if (o + keyLen + 4 > b.length) bad();
    const key = b.subarray(o, o + keyLen);
    o += keyLen;
    const valueLen = dv.getInt32(o, true);
    o += 4;
    let value: Uint8Array | null = null;
    if (valueLen >= 0) {
      if (o + valueLen > b.length) bad();
      value = b.subarray(o, o + valueLen);
      o += valueLen;
    } else if (valueLen !== -1) bad();
    if (o + 16 > b.length) bad();
    out[i] = { map, key, kind, value, expireAt: dv.getFloat64(o, true), version: dv.getFloat64(o + 8, true) };
    o += 16;
  }
  if (o !== b.length) bad();
  return out;
}

/** An entry list as received: the binary blob, or (older peers) a msgpack array of entry maps. */
function decodeEntries(raw: unknown): EntryState[] {
  if (raw instanceof Uint8Array) return unpackEntries(raw);
  if (Array.isArray(raw)) return raw.map(asEntry);
  throw new TypeError("peer protocol: malformed entry list");
}

/** Decodes a request; throws TypeError on malformed input. */
export function decodeRequest(bytes: Uint8Array): PeerRequest {
  if (isCompact(bytes)) {
    const { head, entries } = decodeCompactApply(bytes);
    return { t: "apply", entries: unpackEntries(entries), from: head.from, strict: head.strict === true, view: head.view };
  }
  const m = packr.unpack(bytes) as PeerRequest;
  if (m?.t === "exec" && Array.isArray(m.args)) {
    const user = typeof m.user === "string" ? m.user : undefined;
    return { t: "exec", args: m.args.map(asBytes), proto: m.proto === 3 ? 3 : 2, hops: Number(m.hops) || 0, owned: m.owned === true, user };
  }
  if (m?.t === "apply" && m.entries) {
    const from = typeof m.from === "string" ? m.from : undefined;
    return { t: "apply", entries: decodeEntries(m.entries), from, strict: m.strict === true, view: viewOf(m.view) };
  }
  if (m?.t === "hello") return { t: "hello" };
  if (m?.t === "digest" && Array.isArray(m.partitions)) {
    const before = typeof m.before === "number" && m.before >= 0 ? m.before : undefined;
    return { t: "digest", partitions: intList(m.partitions), from: typeof m.from === "string" ? m.from : undefined, strict: m.strict === true, before };
  }
  if (m?.t === "range" && Array.isArray(m.ranges)) {
    const ranges = intList(m.ranges);
    if (ranges.length % 2 !== 0) throw new TypeError("peer protocol: malformed range request");
    return { t: "range", ranges, values: m.values === true, before: typeof m.before === "number" && m.before >= 0 ? m.before : undefined };
  }
  if (m?.t === "forget" && m.entries) return { t: "forget", entries: decodeEntries(m.entries) };
  if ((m?.t === "buckets" || m?.t === "bucketEntries") && Array.isArray(m.buckets)) {
    const buckets = intList(m.buckets);
    if (buckets.length % 3 !== 0) throw new TypeError("peer protocol: malformed bucket request");
    return { t: m.t, buckets };
  }
  if (m?.t === "undo" && m.entries && Array.isArray(m.versions)) {
    const entries = decodeEntries(m.entries);
    const versions = m.versions.map(Number);
    if (versions.length !== entries.length || !versions.every((v) => Number.isSafeInteger(v) && v > 0)) throw new TypeError("peer protocol: malformed undo");
    return { t: "undo", entries, versions, from: typeof m.from === "string" ? m.from : undefined };
  }
  if (m?.t === "fetch" && Array.isArray(m.keys)) {
    const keys = m.keys.map((k) => ({ map: String(k?.map), key: asBytes(k?.key) }));
    return { t: "fetch", keys, from: typeof m.from === "string" ? m.from : undefined, strict: m.strict === true, view: viewOf(m.view) };
  }
  if (m?.t === "pull" && Array.isArray(m.partitions)) {
    const from = typeof m.from === "string" ? m.from : undefined;
    return { t: "pull", partitions: m.partitions, after: m.after ?? null, from, strict: m.strict === true, asOwner: m.asOwner === true };
  }
  throw new TypeError("peer protocol: malformed request");
}

function viewOf(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** Decodes a response; throws TypeError on malformed input. */
export function decodeResponse(bytes: Uint8Array): PeerResponse {
  if (isCompact(bytes)) {
    if (compactKind(bytes) !== 3) return decodeCompactApplied(bytes);
    const page = decodeCompactEntries(bytes);
    const res: PeerResponse = { t: "entries", entries: unpackEntries(page.entries), next: page.next };
    if (page.suspect) res.suspect = true;
    return res;
  }
  const m = packr.unpack(bytes) as PeerResponse;
  if (m?.t === "reply") return { t: "reply", resp: asBytes(m.resp) };
  if (m?.t === "entries" && m.entries) {
    const res: PeerResponse = { t: "entries", entries: decodeEntries(m.entries), next: m.next ?? null };
    if (m.suspect === true) res.suspect = true;
    return res;
  }
  if (m?.t === "hello" && typeof m.host === "string" && Number.isInteger(m.port)) return { t: "hello", host: m.host, port: m.port };
  if (m?.t === "bucketDigests") {
    const raw = m.words as unknown;
    if (!(raw instanceof Uint8Array) || raw.byteLength % 4 !== 0) throw new TypeError("peer protocol: malformed bucket digests");
    const words = new Uint32Array(raw.byteLength / 4);
    new Uint8Array(words.buffer).set(raw);
    return { t: "bucketDigests", words };
  }
  if (m?.t === "digests" && Array.isArray(m.partitions)) {
    const raw = m.words as unknown;
    if (!(raw instanceof Uint8Array) || raw.byteLength % 4 !== 0) throw new TypeError("peer protocol: malformed digests");
    const words = new Uint32Array(raw.byteLength / 4);
    new Uint8Array(words.buffer).set(raw);
    return { t: "digests", partitions: intList(m.partitions), words };
  }
  if (m?.t === "applied" || m?.t === "error") return m;
  throw new TypeError("peer protocol: malformed response");
}

/** A list of non-negative integers below 2^31; throws TypeError otherwise. */
function intList(v: unknown[]): number[] {
  return v.map((x) => {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > 0x7fffffff) throw new TypeError("peer protocol: expected integers");
    return x;
  });
}

function asEntry(e: EntryState): EntryState {
  return { ...e, key: asBytes(e.key), value: e.value === null ? null : asBytes(e.value) };
}

/** msgpackr yields Buffer on Bun/Node; normalise to a plain Uint8Array view. */
function asBytes(b: unknown): Uint8Array {
  if (b instanceof Uint8Array) return b;
  throw new TypeError("peer protocol: expected bytes");
}
