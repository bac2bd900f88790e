/**
 * Peer protocol entry lists: the binary blob round-trips every field
 * (deletions, expiries, large versions, several maps, UTF-8 map names,
 * empty keys and values), rejects truncated or padded input, and the
 * decoder still accepts the older msgpack array of entry maps.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { Packr } from "msgpackr";
import { decodeRequest, decodeResponse, type EntryState, encodePeer, packEntries, unpackEntries } from "../../../core/cluster/peer-protocol.ts";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const plain = (es: EntryState[]) =>
  es.map((e) => ({ ...e, kind: e.kind ?? 0, key: Array.from(e.key), value: e.value === null ? null : Array.from(e.value) }));

const entry = fc.record({
  map: fc.oneof(fc.constant("default"), fc.string({ maxLength: 12 }), fc.constant("größe·map")),
  key: fc.uint8Array({ maxLength: 40 }),
  // the value's kind travels with it: 0 string, 1 hash, 2 set (the value is then a compact blob)
  kind: fc.constantFrom(0, 1, 2),
  value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  expireAt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 47 })),
  version: fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constant(1_763_900_000_000 * 65_536)),
});

describe("peer protocol entry lists", () => {
  test("packEntries/unpackEntries round-trip (property)", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 50 }), (es) => {
        expect(plain(unpackEntries(packEntries(es)))).toEqual(plain(es));
      }),
      { numRuns: 300 },
    );
  });

  test("apply and entries messages carry the list through encodePeer", () => {
    const es: EntryState[] = [
      { map: "default", key: bytes("a"), value: bytes("1"), expireAt: 0, version: 7 },
      { map: "users", key: bytes("b"), value: null, expireAt: 0, version: 9 },
      { map: "default", key: new Uint8Array(0), value: new Uint8Array(0), expireAt: 1_900_000_000_000, version: 2 ** 52 + 1 },
    ];
    const req = decodeRequest(encodePeer({ t: "apply", entries: es }));
    expect(req.t).toBe("apply");
    if (req.t === "apply") expect(plain(req.entries)).toEqual(plain(es));
    const res = decodeResponse(encodePeer({ t: "entries", entries: es, next: { map: "users", idx: 41 } }));
    expect(res).toMatchObject({ t: "entries", next: { map: "users", idx: 41 } });
    if (res.t === "entries") expect(plain(res.entries)).toEqual(plain(es));
  });

  test("anti-entropy's cutoff travels with digest and range requests; without one (an older sender) every version counts", () => {
    const v = 1_796_000_000_000 * 4096 + 17;
    expect(decodeRequest(encodePeer({ t: "digest", partitions: [1, 2], before: v }))).toMatchObject({ t: "digest", partitions: [1, 2], before: v });
    expect(decodeRequest(encodePeer({ t: "range", ranges: [1, 3], values: false, before: v }))).toEqual({ t: "range", ranges: [1, 3], values: false, before: v });
    expect(decodeRequest(encodePeer({ t: "digest", partitions: [1] }))).toMatchObject({ t: "digest", before: undefined });
    const packr = new Packr({ useRecords: false });
    expect(decodeRequest(packr.pack({ t: "range", ranges: [0, 0], values: false, before: "soon" }))).toMatchObject({ before: undefined });
  });

  test("strict quorum traffic keeps its sender, strictness and view through the codec", () => {
    const es: EntryState[] = [{ map: "default", key: bytes("a"), value: bytes("1"), expireAt: 0, version: 7 }];
    const apply = decodeRequest(encodePeer({ t: "apply", entries: es, from: "n1:7000", strict: true, view: 0xdeadbeef }));
    expect(apply).toMatchObject({ t: "apply", from: "n1:7000", strict: true, view: 0xdeadbeef });
    const fetch = decodeRequest(encodePeer({ t: "fetch", keys: [{ map: "default", key: bytes("a") }], from: "n2:7000", strict: true, view: 0 }));
    expect(fetch).toMatchObject({ t: "fetch", from: "n2:7000", strict: true, view: 0 });
    const none = decodeRequest(encodePeer({ t: "fetch", keys: [], from: "n2:7000", strict: true }));
    expect(none.t === "fetch" && none.view).toBeUndefined();
    // the answers say whether the replica suspects the requester (its owner lease must not count them then)
    expect(decodeResponse(encodePeer({ t: "applied", taken: 1, suspect: true }))).toEqual({ t: "applied", taken: 1, suspect: true });
    expect(decodeResponse(encodePeer({ t: "entries", entries: es, next: null, suspect: true }))).toMatchObject({ t: "entries", suspect: true });
    const plainAnswer = decodeResponse(encodePeer({ t: "entries", entries: es, next: null }));
    expect(plainAnswer.t === "entries" && plainAnswer.suspect).toBeUndefined();
  });

  test("truncated, padded or bad-index input is rejected", () => {
    const b = packEntries([{ map: "m", key: bytes("key"), value: bytes("value"), expireAt: 0, version: 1 }]);
    for (let cut = 0; cut < b.length; cut++) expect(() => unpackEntries(b.subarray(0, cut))).toThrow(TypeError);
    const padded = new Uint8Array(b.length + 1);
    padded.set(b);
    expect(() => unpackEntries(padded)).toThrow(TypeError);
    const badMap = b.slice();
    badMap[6 + 2 + 1] = 5; // entry's map index → 5, only 1 name
    expect(() => unpackEntries(badMap)).toThrow(TypeError);
  });

  test("the older msgpack array of entry maps still decodes", () => {
    const packr = new Packr({ useRecords: false, moreTypes: false });
    const old = packr.pack({ t: "apply", entries: [{ map: "default", key: bytes("k"), value: bytes("v"), expireAt: 0, version: 3 }] });
    const req = decodeRequest(old);
    expect(req.t).toBe("apply");
    if (req.t === "apply") expect(plain(req.entries)).toEqual(plain([{ map: "default", key: bytes("k"), value: bytes("v"), expireAt: 0, version: 3 }]));
  });
});
