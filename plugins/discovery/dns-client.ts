/**
 * The DNS client the dns plugin uses: asks the configured servers in order
 * (UDP, retried over TCP when a reply is truncated), applies the search list
 * and ndots like a stub resolver (resolv.conf(5)), and looks up A and AAAA
 * independently so a server that refuses one type (dnsmasq with no upstream
 * answers AAAA for an A-only name with REFUSED) does not hide the other.
 * NXDOMAIN and "no records" are empty answers; a source that cannot answer
 * (every server timed out, refused or failed) throws {@link DnsLookupError}.
 */

import { exchangeTcp, exchangeUdp, type NameServer, serverText } from "./dns-transport.ts";
import { type DnsRecord, type DnsResponse, decodeResponse, encodeQuery, RecordType, type RecordTypeCode } from "./dns-wire.ts";

/** An SRV answer. */
export interface SrvAnswer {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** How a lookup went: enough to say in /v1/cluster and the log what discovery saw. */
export interface LookupTrace {
  /** The name that answered (after search-list expansion), or the last one tried. */
  name: string;
  /** The server that answered last. */
  server?: string;
  /** "tcp" when an answer came over TCP after a truncated UDP reply. */
  transport?: "udp" | "tcp";
  /** Messages sent (UDP and TCP exchanges, every server and attempt). */
  queries: number;
  /** Things worth knowing that did not fail the lookup ("AAAA: REFUSED by …; used the A answer"). */
  notes: string[];
}

/** SRV records of a name, with the addresses the server volunteered in the additional section. */
export interface SrvLookup extends LookupTrace {
  records: SrvAnswer[];
  /** Target name (lower case, no trailing dot) → A/AAAA addresses from the additional section. */
  additional: Map<string, string[]>;
}

/** A and AAAA addresses of a name. */
export interface AddressLookup extends LookupTrace {
  addresses: string[];
}

/** What the dns plugin needs from a resolver. */
export interface DnsResolver {
  srv(name: string): Promise<SrvLookup>;
  /** A and AAAA addresses of `name`; one type failing while the other answers is a note, not an error. */
  addresses(name: string): Promise<AddressLookup>;
}

/** Every server failed to answer a query; the message names each server and what it did. */
export class DnsLookupError extends Error {
  override readonly name = "DnsLookupError";
  constructor(
    message: string,
    readonly queries: number,
  ) {
    super(message);
  }
}

/** Options of a {@link DnsClient}. */
export interface DnsClientOptions {
  nameservers: NameServer[];
  /** Search domains (resolv.conf `search`). */
  search?: string[];
  /** resolv.conf `ndots` (default 1). */
  ndots?: number;
  /** Per-message timeout in ms (default 1000). */
  timeoutMs?: number;
  /** Rounds over the servers for timeouts and network errors (default 2). */
  attempts?: number;
}

const RCODE_TEXT: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED" };
const TYPE_TEXT: Record<number, string> = { 1: "A", 28: "AAAA", 33: "SRV" };

/** One answered query of one exact name. */
interface Answered {
  response: DnsResponse;
  server: string;
  transport: "udp" | "tcp";
}

/** Queries one or more servers, with search list, ndots and TCP fallback. */
export class DnsClient implements DnsResolver {
  private nextId = Math.floor(Math.random() * 0xffff);
  private readonly search: string[];
  private readonly ndots: number;
  private readonly timeoutMs: number;
  private readonly attempts: number;

  constructor(private readonly options: DnsClientOptions) {
    if (options.nameservers.length === 0) throw new Error("DnsClient: no nameserver to ask");
    this.search = options.search ?? [];
    this.ndots = options.ndots ?? 1;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.attempts = options.attempts ?? 2;
  }

  async srv(name: string): Promise<SrvLookup> {
    const r = await this.lookup(name, RecordType.SRV);
    const records = r.records.flatMap((x) => ("target" in x ? [{ priority: x.priority, weight: x.weight, port: x.port, target: x.target }] : []));
    const additional = new Map<string, string[]>();
    for (const x of r.additionals) {
      if (!("address" in x)) continue;
      const key = x.name.toLowerCase().replace(/\.$/, "");
      additional.set(key, [...(additional.get(key) ?? []), x.address]);
    }
    return { ...r.trace, records, additional };
  }

  async addresses(name: string): Promise<AddressLookup> {
    const [a, aaaa] = await Promise.allSettled([this.lookup(name, RecordType.A), this.lookup(name, RecordType.AAAA)]);
    const queries = [a, aaaa].reduce((n, r) => n + (r.status === "fulfilled" ? r.value.trace.queries : ((r.reason as DnsLookupError).queries ?? 0)), 0);
    if (a.status === "rejected" && aaaa.status === "rejected") {
      throw new DnsLookupError(`A: ${errorText(a.reason)}; AAAA: ${errorText(aaaa.reason)}`, queries);
    }
    const answered = [a, aaaa].flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const notes = answered.flatMap((r) => r.trace.notes);
    if (a.status === "rejected") notes.push(`A lookup failed (${errorText(a.reason)}); used the AAAA answer`);
    if (aaaa.status === "rejected") notes.push(`AAAA lookup failed (${errorText(aaaa.reason)}); used the A answer`);
    const addresses = answered.flatMap((r) => r.records.flatMap((x) => ("address" in x ? [x.address] : [])));
    const first = answered.find((r) => r.records.length > 0) ?? answered[0]!;
    return { ...first.trace, queries, notes, addresses };
  }

  /** Answers of one exact name (no search list); [] for NXDOMAIN or no data. */
  async query(name: string, type: RecordTypeCode): Promise<DnsRecord[]> {
    return (await this.ask(name, type, { n: 0 })).response.answers.filter((r) => r.type === type);
  }

  /** The names to try for `name`, in order (resolv.conf(5) search and ndots). */
  candidates(name: string): string[] {
    if (name.endsWith(".")) return [name.slice(0, -1)];
    const dots = name.split(".").length - 1;
    const searched = this.search.map((d) => `${name}.${d}`);
    return dots >= this.ndots ? [name, ...searched] : [...searched, name];
  }

  /** Tries each candidate name until one has records of `type`; throws when none answered and some failed. */
  private async lookup(name: string, type: RecordTypeCode): Promise<{ records: DnsRecord[]; additionals: DnsRecord[]; trace: LookupTrace }> {
    const count = { n: 0 };
    const failures: string[] = [];
    let empty: { records: DnsRecord[]; additionals: DnsRecord[]; trace: LookupTrace } | undefined;
    for (const candidate of this.candidates(name)) {
      try {
        const got = await this.ask(candidate, type, count);
        const records = got.response.answers.filter((r) => r.type === type);
        const result = {
          records,
          additionals: got.response.additionals,
          trace: { name: candidate, server: got.server, transport: got.transport, queries: 0, notes: [] as string[] },
        };
        if (records.length > 0) return { ...result, trace: { ...result.trace, queries: count.n } };
        empty ??= result;
      } catch (err) {
        failures.push(`${candidate}: ${errorText(err)}`);
      }
    }
    if (empty === undefined) throw new DnsLookupError(`${TYPE_TEXT[type]} ${failures.join("; ")}`, count.n);
    // nothing found anywhere: an empty answer, unless a candidate could not be asked (its records may exist)
    if (failures.length > 0) throw new DnsLookupError(`${TYPE_TEXT[type]} ${failures.join("; ")}`, count.n);
    return { ...empty, trace: { ...empty.trace, name, queries: count.n } };
  }

  /** Asks the servers in order for one exact name; NOERROR and NXDOMAIN are answers, anything else tries the next server. */
  private async ask(name: string, type: RecordTypeCode, count: { n: number }): Promise<Answered> {
    const problems = new Map<string, string>();
    const refused = new Set<string>();
    for (let round = 0; round < this.attempts; round++) {
      for (const ns of this.options.nameservers) {
        const server = serverText(ns);
        if (refused.has(server)) continue;
        try {
          const got = await this.exchange(ns, name, type, count);
          const rcode = got.response.rcode;
          if (rcode === 0 || rcode === 3) return got;
          refused.add(server); // an rcode is the server's considered answer: asking it again gives the same
          problems.set(server, `${RCODE_TEXT[rcode] ?? `rcode ${rcode}`} from ${server}${got.transport === "tcp" ? " over TCP" : ""}`);
        } catch (err) {
          problems.set(server, errorText(err));
        }
      }
      if (refused.size === this.options.nameservers.length) break;
    }
    throw new DnsLookupError([...problems.values()].join(", "), count.n);
  }

  /** One query to one server: UDP, then TCP when the UDP reply has the TC bit. */
  private async exchange(ns: NameServer, name: string, type: RecordTypeCode, count: { n: number }): Promise<Answered> {
    this.nextId = (this.nextId + 1) & 0xffff;
    const id = this.nextId;
    const query = encodeQuery(id, name, type);
    count.n++;
    const udp = await exchangeUdp(ns, query, this.timeoutMs, (reply) => reply.length >= 2 && ((reply[0]! << 8) | reply[1]!) === id);
    const first = decodeResponse(udp);
    if (!first.truncated) return { response: first, server: serverText(ns), transport: "udp" };
    count.n++;
    const tcp = decodeResponse(await exchangeTcp(ns, query, this.timeoutMs));
    if (tcp.id !== id) throw new Error(`TCP answer from ${serverText(ns)} has id ${tcp.id}, expected ${id}`);
    if (tcp.truncated) throw new Error(`TCP answer from ${serverText(ns)} is truncated too`);
    return { response: tcp, server: serverText(ns), transport: "tcp" };
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
