/**
 * Membership messages and their msgpack encoding. Every message carries
 * piggybacked updates; requests are answered on the same transport request.
 */
import { pack, unpack } from "msgpackr";

/** Liveness of a member as seen locally. */
export type MemberStatus = "alive" | "suspect" | "dead" | "left";

/** One disseminated fact: `name` is `status` at `incarnation`, as reported by `from`. */
export interface MemberUpdate {
  name: string;
  status: MemberStatus;
  incarnation: number;
  from: string;
}

/** Peer messages of the membership protocol. */
export type MembershipMessage =
  /** Direct probe; `suspect` is set when the prober suspects the target (Lifeguard buddy system). */
  | { t: "ping"; target: string; gossip: MemberUpdate[] }
  /** Ask the receiver to probe `target` on the sender's behalf. */
  | { t: "ping-req"; target: string; gossip: MemberUpdate[] }
  | { t: "ack"; gossip: MemberUpdate[] }
  /** `refused`: the helper's own probe found nothing listening (connection refused), it did not merely time out. */
  | { t: "nack"; gossip: MemberUpdate[]; refused?: boolean }
  /** One-way gossip round. */
  | { t: "gossip"; gossip: MemberUpdate[] }
  /** Push-pull: the sender's full state; answered with the receiver's (or `same` if checksums match). */
  | { t: "sync"; checksum: number; states: MemberUpdate[]; join?: boolean }
  | { t: "sync-reply"; same: boolean; states: MemberUpdate[] };

const STATUSES: ReadonlySet<string> = new Set(["alive", "suspect", "dead", "left"]);

/** Encodes a message for the transport. */
export function encodeMessage(m: MembershipMessage): Uint8Array {
  return pack(m);
}

/** Decodes and validates a message; throws Error naming the problem on malformed input. */
export function decodeMessage(bytes: Uint8Array): MembershipMessage {
  const m = unpack(bytes) as MembershipMessage;
  if (typeof m !== "object" || m === null || typeof m.t !== "string") throw new Error("membership: not a message");
  const list = "gossip" in m ? m.gossip : "states" in m ? m.states : undefined;
  if (!Array.isArray(list)) throw new Error(`membership: ${m.t} without an update list`);
  for (const u of list) {
    if (
      typeof u?.name !== "string" ||
      !STATUSES.has(u.status) ||
      !Number.isSafeInteger(u.incarnation) ||
      typeof u.from !== "string"
    ) {
      throw new Error(`membership: malformed update in ${m.t}`);
    }
  }
  return m;
}
