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
 */
import { Packr } from "msgpackr";

/** One key's state: a value, or `null` for a deletion (tombstone). */
export interface EntryState {
  map: string;
  key: Uint8Array;
  value: Uint8Array | null;
  /** Absolute expiry in Unix ms, 0 for none. */
  expireAt: number;
  /** Hybrid-logical-clock version of the write. */
  version: number;
}

/** Requests a node answers on the data channel. */
export type PeerRequest =
  | { t: "exec"; args: Uint8Array[]; proto: number; hops: number; owned?: boolean }
  | { t: "apply"; entries: EntryState[] }
  | { t: "pull"; partitions: number[]; after: PullCursor | null }
  | { t: "fetch"; keys: { map: string; key: Uint8Array }[] }
  | { t: "hello" };

/** Position in a node's entries: map name and entry index to resume after. */
export interface PullCursor {
  map: string;
  idx: number;
}

/** Answers to {@link PeerRequest}s. */
export type PeerResponse =
  | { t: "reply"; resp: Uint8Array }
  | { t: "applied"; taken: number }
  | { t: "entries"; entries: EntryState[]; next: PullCursor | null }
  | { t: "hello"; host: string; port: number }
  | { t: "error"; message: string };

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encodes a request or response. */
export function encodePeer(msg: PeerRequest | PeerResponse): Uint8Array {
  return packr.pack(msg);
}

/** Decodes a request; throws TypeError on malformed input. */
export function decodeRequest(bytes: Uint8Array): PeerRequest {
  const m = packr.unpack(bytes) as PeerRequest;
  if (m?.t === "exec" && Array.isArray(m.args)) {
    return { t: "exec", args: m.args.map(asBytes), proto: m.proto === 3 ? 3 : 2, hops: Number(m.hops) || 0, owned: m.owned === true };
  }
  if (m?.t === "apply" && Array.isArray(m.entries)) return { t: "apply", entries: m.entries.map(asEntry) };
  if (m?.t === "hello") return { t: "hello" };
  if (m?.t === "fetch" && Array.isArray(m.keys)) {
    return { t: "fetch", keys: m.keys.map((k) => ({ map: String(k?.map), key: asBytes(k?.key) })) };
  }
  if (m?.t === "pull" && Array.isArray(m.partitions)) return { t: "pull", partitions: m.partitions, after: m.after ?? null };
  throw new TypeError("peer protocol: malformed request");
}

/** Decodes a response; throws TypeError on malformed input. */
export function decodeResponse(bytes: Uint8Array): PeerResponse {
  const m = packr.unpack(bytes) as PeerResponse;
  if (m?.t === "reply") return { t: "reply", resp: asBytes(m.resp) };
  if (m?.t === "entries" && Array.isArray(m.entries)) return { t: "entries", entries: m.entries.map(asEntry), next: m.next ?? null };
  if (m?.t === "hello" && typeof m.host === "string" && Number.isInteger(m.port)) return { t: "hello", host: m.host, port: m.port };
  if (m?.t === "applied" || m?.t === "error") return m;
  throw new TypeError("peer protocol: malformed response");
}

function asEntry(e: EntryState): EntryState {
  return { ...e, key: asBytes(e.key), value: e.value === null ? null : asBytes(e.value) };
}

/** msgpackr yields Buffer on Bun/Node; normalise to a plain Uint8Array view. */
function asBytes(b: unknown): Uint8Array {
  if (b instanceof Uint8Array) return b;
  throw new TypeError("peer protocol: expected bytes");
}
