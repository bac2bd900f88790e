/**
 * The consensus channel's messages survive encoding, and anything malformed
 * is refused with an error (never half-decoded).
 */
import { describe, expect, test } from "bun:test";
import { pack } from "msgpackr";
import { type ConsensusMessage, decodeConsensus, encodeConsensus } from "../../../core/cluster/consensus/wire.ts";

const header = { from: { name: "n1:3322", boot: 7 }, cid: { gen: 1, id: 42 }, size: 3, led: true };

describe("consensus wire", () => {
  test.each<ConsensusMessage>([
    { k: "raft", m: { ...header, t: "join", wants: null } },
    { k: "raft", m: { ...header, t: "leave" } },
    { k: "raft", m: { ...header, t: "vote-res", term: 3, pre: false, granted: true } },
    { k: "raft", m: { ...header, t: "append-res", term: 3, ok: true, match: 9 } },
    { k: "lease", m: { t: "lease-req", from: header.from, cid: header.cid, epoch: 4, seq: 1 } },
  ])("%p round-trips", (msg) => {
    expect(decodeConsensus(encodeConsensus(msg))).toEqual(msg);
  });

  test("malformed messages are refused", () => {
    expect(() => decodeConsensus(pack({ k: "raft", m: { ...header, t: "nope" } }))).toThrow();
    expect(() => decodeConsensus(pack({ k: "raft", m: { t: "leave" } }))).toThrow();
    expect(() => decodeConsensus(new Uint8Array([0xc1, 0x00]))).toThrow();
  });
});
