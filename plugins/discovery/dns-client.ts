/**
 * Resolvers used by the dns plugin: a small UDP client that queries one
 * server (`--dns-server host:port`) and the system resolver (node:dns).
 * Both return [] for "no such name / no records" and throw when the source
 * cannot answer (timeout, SERVFAIL, REFUSED).
 */
import { createSocket } from "node:dgram";
import { promises as dns } from "node:dns";
import { isIPv6 } from "node:net";
import { type DnsRecord, decodeResponse, encodeQuery, RecordType, type RecordTypeCode } from "./dns-wire.ts";

/** An SRV answer. */
export interface SrvAnswer {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

/** What the dns plugin needs from a resolver. */
export interface DnsResolver {
  srv(name: string): Promise<SrvAnswer[]>;
  /** A and AAAA addresses of `name`. */
  addresses(name: string): Promise<string[]>;
}

const RCODE_TEXT: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 4: "NOTIMP", 5: "REFUSED" };

/** Sends queries over UDP to one server with a per-attempt timeout. */
export class UdpDnsResolver implements DnsResolver {
  private nextId = Math.floor(Math.random() * 0xffff);

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs = 1000,
    private readonly attempts = 2,
  ) {}

  async srv(name: string): Promise<SrvAnswer[]> {
    const answers = await this.query(name, RecordType.SRV);
    return answers.filter((r): r is Extract<DnsRecord, { type: 33 }> => r.type === RecordType.SRV);
  }

  async addresses(name: string): Promise<string[]> {
    const [a, aaaa] = await Promise.all([this.query(name, RecordType.A), this.query(name, RecordType.AAAA)]);
    return [...a, ...aaaa].flatMap((r) => ("address" in r ? [r.address] : []));
  }

  /** Answers of one query; [] for NXDOMAIN or no data. */
  async query(name: string, type: RecordTypeCode): Promise<DnsRecord[]> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      try {
        return await this.exchange(name, type);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  private exchange(name: string, type: RecordTypeCode): Promise<DnsRecord[]> {
    this.nextId = (this.nextId + 1) & 0xffff;
    const id = this.nextId;
    const socket = createSocket(isIPv6(this.host) ? "udp6" : "udp4");
    return new Promise<DnsRecord[]>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`DNS ${name} timed out after ${this.timeoutMs} ms (${this.host}:${this.port})`)),
        this.timeoutMs,
      );
      const finish = (err: Error | undefined, records?: DnsRecord[]) => {
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve(records ?? []);
      };
      socket.on("error", (err) => finish(err));
      socket.on("message", (msg) => {
        let res: ReturnType<typeof decodeResponse>;
        try {
          res = decodeResponse(new Uint8Array(msg));
        } catch {
          return; // not ours / garbage: keep waiting until the timeout
        }
        if (res.id !== id) return;
        if (res.truncated) {
          return finish(new Error(`DNS ${name}: answer truncated (TC) even with EDNS0; TCP fallback is not implemented`));
        }
        if (res.rcode === 3) return finish(undefined, []);
        if (res.rcode !== 0) return finish(new Error(`DNS ${name}: ${RCODE_TEXT[res.rcode] ?? `rcode ${res.rcode}`}`));
        finish(undefined, res.answers.filter((r) => r.type === type));
      });
      socket.send(encodeQuery(id, name, type), this.port, this.host, (err) => err && finish(err));
    });
  }
}

const NO_DATA = new Set(["ENODATA", "ENOTFOUND", "NXDOMAIN"]);

async function orEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (err) {
    if (NO_DATA.has((err as { code?: string }).code ?? "")) return [];
    throw err;
  }
}

/** The system resolver (/etc/resolv.conf). */
export class SystemDnsResolver implements DnsResolver {
  async srv(name: string): Promise<SrvAnswer[]> {
    return orEmpty(dns.resolveSrv(name)).then((rs) => rs.map((r) => ({ ...r, target: r.name })));
  }

  async addresses(name: string): Promise<string[]> {
    const [a, aaaa] = await Promise.all([orEmpty(dns.resolve4(name)), orEmpty(dns.resolve6(name))]);
    return [...a, ...aaaa];
  }
}
