/**
 * DNS wire format (RFC 1035, SRV RFC 2782, AAAA RFC 3596): builds one-question
 * queries and parses answers, following name compression pointers.
 */

/** Record types the discovery DNS client asks for. */
export const RecordType = { A: 1, AAAA: 28, SRV: 33 } as const;
/** One of {@link RecordType}'s values. */
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

/** A parsed resource record (only A, AAAA and SRV carry data). */
export type DnsRecord =
  | { name: string; type: 1 | 28; ttl: number; address: string }
  | { name: string; type: 33; ttl: number; priority: number; weight: number; port: number; target: string }
  | { name: string; type: number; ttl: number };

/** A parsed DNS response. */
export interface DnsResponse {
  id: number;
  /** RCODE: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED. */
  rcode: number;
  truncated: boolean;
  answers: DnsRecord[];
  additionals: DnsRecord[];
}

/** Thrown for a malformed message. */
export class DnsFormatError extends Error {
  override name = "DnsFormatError";
}

/** UDP payload size advertised with EDNS0 (RFC 6891), so larger SRV sets fit without TCP. */
export const EDNS_UDP_SIZE = 4096;

/** Builds a recursive-desired query for `name` and `type` with message id `id`, with an EDNS0 OPT record. */
export function encodeQuery(id: number, name: string, type: RecordTypeCode): Uint8Array {
  const labels = name.replace(/\.$/, "").split(".").filter((l) => l.length > 0);
  const enc = new TextEncoder();
  const parts = labels.map((l) => enc.encode(l));
  for (const p of parts) if (p.length > 63) throw new DnsFormatError(`label too long in ${name}`);
  const qnameLength = parts.reduce((n, p) => n + 1 + p.length, 1);
  const out = new Uint8Array(12 + qnameLength + 4 + 11);
  const view = new DataView(out.buffer);
  view.setUint16(0, id);
  view.setUint16(2, 0x0100); // RD
  view.setUint16(4, 1); // QDCOUNT
  view.setUint16(10, 1); // ARCOUNT: the OPT record
  let o = 12;
  for (const p of parts) {
    out[o++] = p.length;
    out.set(p, o);
    o += p.length;
  }
  out[o++] = 0;
  view.setUint16(o, type);
  view.setUint16(o + 2, 1); // class IN
  // OPT: root name, type 41, class = UDP payload size, ttl 0 (no flags), rdlength 0.
  view.setUint16(o + 5, 41);
  view.setUint16(o + 7, EDNS_UDP_SIZE);
  return out;
}

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it in the original stream. */
export function readName(msg: Uint8Array, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  const dec = new TextDecoder();
  let o = offset;
  let next = -1;
  for (let jumps = 0; jumps < 64; jumps++) {
    if (o >= msg.length) throw new DnsFormatError("name runs past the end of the message");
    const len = msg[o]!;
    if (len === 0) {
      return { name: labels.join("."), next: next === -1 ? o + 1 : next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (o + 1 >= msg.length) throw new DnsFormatError("truncated compression pointer");
      if (next === -1) next = o + 2;
      o = ((len & 0x3f) << 8) | msg[o + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new DnsFormatError(`unsupported label type 0x${len.toString(16)}`);
    labels.push(dec.decode(msg.subarray(o + 1, o + 1 + len)));
    o += 1 + len;
  }
  throw new DnsFormatError("too many compression pointers (loop?)");
}

function formatIPv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best === -1) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

function readRecord(msg: Uint8Array, view: DataView, offset: number): { record: DnsRecord; next: number } {
  const { name, next: o } = readName(msg, offset);
  if (o + 10 > msg.length) throw new DnsFormatError("truncated resource record");
  const type = view.getUint16(o);
  const ttl = view.getUint32(o + 4);
  const rdlength = view.getUint16(o + 8);
  const rd = o + 10;
  if (rd + rdlength > msg.length) throw new DnsFormatError("rdata runs past the end of the message");
  const next = rd + rdlength;
  if (type === RecordType.A && rdlength === 4) {
    return { record: { name, type, ttl, address: [...msg.subarray(rd, rd + 4)].join(".") }, next };
  }
  if (type === RecordType.AAAA && rdlength === 16) {
    return { record: { name, type, ttl, address: formatIPv6(msg.subarray(rd, rd + 16)) }, next };
  }
  if (type === RecordType.SRV && rdlength >= 7) {
    const target = readName(msg, rd + 6).name;
    const srv = { priority: view.getUint16(rd), weight: view.getUint16(rd + 2), port: view.getUint16(rd + 4) };
    return { record: { name, type, ttl, ...srv, target }, next };
  }
  return { record: { name, type, ttl }, next };
}

/** Parses a response message. @throws DnsFormatError when malformed. */
export function decodeResponse(msg: Uint8Array): DnsResponse {
  if (msg.length < 12) throw new DnsFormatError("message shorter than a DNS header");
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = view.getUint16(2);
  const counts = [view.getUint16(4), view.getUint16(6), view.getUint16(8), view.getUint16(10)] as const;
  let o = 12;
  for (let i = 0; i < counts[0]; i++) o = readName(msg, o).next + 4;
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const { record, next } = readRecord(msg, view, o);
      sections[s]!.push(record);
      o = next;
    }
  }
  return {
    id: view.getUint16(0),
    rcode: flags & 0x0f,
    truncated: (flags & 0x0200) !== 0,
    answers: sections[0]!,
    additionals: sections[2]!,
  };
}
