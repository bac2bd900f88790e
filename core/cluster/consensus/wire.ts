/**
 * The consensus channel's messages (Raft and owner leases) and their
 * msgpack encoding. Decoding validates every field: a malformed message is
 * rejected whole (the simulator corrupts bytes; a real link carries an HMAC,
 * but a bug elsewhere must not crash a node).
 */
import { pack, unpack } from "msgpackr";
import type { MemberConfig, MemberRef } from "./member-config.ts";
import type { LeaseMessage } from "./owner-lease.ts";
import type { ClusterClaim, ClusterId, LogBase, LogEntry, RaftMessage } from "./raft.ts";

/** One message on the consensus channel. */
export type ConsensusMessage = { k: "raft"; m: RaftMessage } | { k: "lease"; m: LeaseMessage };

/** Encodes a message for the transport. */
export function encodeConsensus(msg: ConsensusMessage): Uint8Array {
  return pack(msg);
}

/** Decodes and validates a message; throws Error naming the problem on malformed input. */
export function decodeConsensus(bytes: Uint8Array): ConsensusMessage {
  const v = unpack(bytes) as { k?: unknown; m?: unknown };
  if (typeof v !== "object" || v === null) throw new Error("consensus: not a message");
  if (v.k === "raft") return { k: "raft", m: raftMessage(v.m) };
  if (v.k === "lease") return { k: "lease", m: leaseMessage(v.m) };
  throw new Error("consensus: unknown message kind");
}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`consensus: ${what} is not an object`);
  return v as Obj;
}

function int(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`consensus: ${what} is not a whole number`);
  return v as number;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw new Error(`consensus: ${what} is not a boolean`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 1024) throw new Error(`consensus: ${what} is not a name`);
  return v;
}

function ref(v: unknown, what: string): MemberRef {
  const o = obj(v, what);
  const boot = int(o.boot, `${what}.boot`);
  if (boot > 0xffffffff) throw new Error(`consensus: ${what}.boot out of range`);
  return { name: str(o.name, `${what}.name`), boot };
}

function refs(v: unknown, what: string): MemberRef[] {
  if (!Array.isArray(v) || v.length > 65535) throw new Error(`consensus: ${what} is not a list`);
  return v.map((x, i) => ref(x, `${what}[${i}]`));
}

function config(v: unknown, what: string): MemberConfig {
  const o = obj(v, what);
  return { members: refs(o.members, `${what}.members`), voters: refs(o.voters, `${what}.voters`) };
}

function cid(v: unknown, what: string): ClusterId | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, what);
  return { gen: int(o.gen, `${what}.gen`), id: int(o.id, `${what}.id`) };
}

function claim(v: unknown, what: string): ClusterClaim | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, what);
  const c = cid(o.cid, `${what}.cid`);
  if (c === null) throw new Error(`consensus: ${what} without a cluster`);
  return { cid: c, size: int(o.size, `${what}.size`), led: bool(o.led, `${what}.led`) };
}

function base(v: unknown, what: string): LogBase {
  const o = obj(v, what);
  return { index: int(o.index, `${what}.index`), term: int(o.term, `${what}.term`), config: config(o.config, `${what}.config`), epoch: int(o.epoch, `${what}.epoch`) };
}

function entries(v: unknown): LogEntry[] {
  if (!Array.isArray(v) || v.length > 10_000) throw new Error("consensus: entries is not a list");
  return v.map((e, i) => {
    const o = obj(e, `entries[${i}]`);
    const entry: LogEntry = { term: int(o.term, `entries[${i}].term`), config: config(o.config, `entries[${i}].config`) };
    if (o.noop === true) entry.noop = true;
    return entry;
  });
}

function raftMessage(v: unknown): RaftMessage {
  const o = obj(v, "raft message");
  const header = { from: ref(o.from, "from"), cid: cid(o.cid, "cid"), size: int(o.size, "size"), led: bool(o.led, "led") };
  switch (o.t) {
    case "prevote":
    case "vote":
      return { ...header, t: o.t, term: int(o.term, "term"), to: int(o.to, "to"), lastIndex: int(o.lastIndex, "lastIndex"), lastTerm: int(o.lastTerm, "lastTerm") };
    case "vote-res":
      return { ...header, t: "vote-res", term: int(o.term, "term"), pre: bool(o.pre, "pre"), granted: bool(o.granted, "granted") };
    case "append": {
      const m: RaftMessage = {
        ...header,
        t: "append",
        term: int(o.term, "term"),
        to: int(o.to, "to"),
        prevIndex: int(o.prevIndex, "prevIndex"),
        prevTerm: int(o.prevTerm, "prevTerm"),
        entries: entries(o.entries),
        commit: int(o.commit, "commit"),
      };
      if (o.base !== undefined && o.base !== null) m.base = base(o.base, "base");
      return m;
    }
    case "append-res":
      return { ...header, t: "append-res", term: int(o.term, "term"), ok: bool(o.ok, "ok"), match: int(o.match, "match") };
    case "join":
      return { ...header, t: "join", wants: claim(o.wants, "wants") };
    case "leave":
      return { ...header, t: "leave" };
    case "hint":
      return { ...header, t: "hint", term: int(o.term, "term"), leader: o.leader === null ? null : str(o.leader, "leader"), base: base(o.base, "base") };
    default:
      throw new Error("consensus: unknown raft message");
  }
}

function leaseMessage(v: unknown): LeaseMessage {
  const o = obj(v, "lease message");
  const common = { from: ref(o.from, "from"), cid: cid(o.cid, "cid"), epoch: int(o.epoch, "epoch"), seq: int(o.seq, "seq") };
  if (o.t === "lease-req") return { t: "lease-req", ...common };
  if (o.t === "lease-res") return { t: "lease-res", ...common, granted: bool(o.granted, "granted") };
  throw new Error("consensus: unknown lease message");
}
