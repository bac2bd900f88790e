import { describe, expect, test } from "bun:test";
import { DnsFormatError, decodeResponse, encodeQuery, RecordType, readName } from "../../../plugins/discovery/dns-wire.ts";

/** Builds a response to encodeQuery(7, "_s._tcp.x", SRV) with one SRV answer whose target is compressed. */
function srvResponse(): Uint8Array {
  const q = encodeQuery(7, "_s._tcp.x", RecordType.SRV);
  const bytes = [...q.subarray(0, q.length - 11)]; // question only: drop the OPT record
  bytes[11] = 0; // ARCOUNT = 0
  bytes[2] = 0x81; // QR + RD
  bytes[3] = 0x80; // RA, NOERROR
  bytes[7] = 2; // ANCOUNT = 2
  // answer 1: name = pointer to offset 12, SRV, IN, ttl 30
  const target = [2, 110, 49, 0xc0, 20]; // "n1" + pointer to "x" (offset 12 + 3 ("_s") + 5 ("_tcp") = 20)
  const rdata = [0, 10, 0, 5, 0x0c, 0xfa, ...target]; // prio 10, weight 5, port 3322
  bytes.push(0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 30, 0, rdata.length, ...rdata);
  // answer 2: AAAA for the same name, ::1
  bytes.push(0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 30, 0, 16, ...new Array(15).fill(0), 1);
  return new Uint8Array(bytes);
}

describe("dns wire format", () => {
  test("encodes a query with RD, one question, labels and type", () => {
    const q = encodeQuery(0x1234, "a.bc.", RecordType.AAAA);
    expect([...q]).toEqual([
      ...[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1],
      ...[1, 97, 2, 98, 99, 0, 0, 28, 0, 1],
      ...[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0], // EDNS0 OPT, 4096-byte payload
    ]);
  });

  test("parses SRV with a compressed target and formats IPv6", () => {
    const res = decodeResponse(srvResponse());
    expect(res.id).toBe(7);
    expect(res.rcode).toBe(0);
    expect(res.answers[0]).toEqual({
      name: "_s._tcp.x",
      type: 33,
      ttl: 30,
      priority: 10,
      weight: 5,
      port: 3322,
      target: "n1.x",
    });
    expect(res.answers[1]).toEqual({ name: "_s._tcp.x", type: 28, ttl: 30, address: "::1" });
  });

  test("rejects truncated messages and pointer loops", () => {
    const msg = srvResponse();
    expect(() => decodeResponse(msg.subarray(0, msg.length - 4))).toThrow(DnsFormatError);
    expect(() => readName(new Uint8Array([0xc0, 0]), 0)).toThrow(/too many compression pointers/);
    expect(() => decodeResponse(new Uint8Array(5))).toThrow(/shorter than a DNS header/);
  });

  test("flags a truncated answer", () => {
    const msg = srvResponse();
    msg[2]! |= 0x02;
    expect(decodeResponse(msg).truncated).toBe(true);
  });

  test("rejects labels over 63 bytes", () => {
    expect(() => encodeQuery(1, `${"a".repeat(64)}.x`, RecordType.A)).toThrow(/label too long/);
  });
});
