/**
 * DNS that survives real resolvers, against a real dnsmasq: an A-only name
 * whose AAAA (and SRV) queries dnsmasq REFUSES (it has no upstream), SRV
 * answers whose additional section carries the targets' addresses (no extra
 * queries), answers too large for UDP (TC bit → TCP), and the search list /
 * ndots of resolv.conf. dnsmasq's own query log is the witness of what was asked.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createDnsDiscovery, dnsSchema } from "../../../plugins/discovery/dns.ts";
import { DnsClient } from "../../../plugins/discovery/dns-client.ts";
import { exchangeUdp } from "../../../plugins/discovery/dns-transport.ts";
import { decodeResponse, encodeQuery, RecordType, type RecordTypeCode } from "../../../plugins/discovery/dns-wire.ts";
import { parseResolvConf } from "../../../plugins/discovery/resolv-conf.ts";
import { DnsmasqFixture, type DnsmasqOptions, type DnsmasqRecords } from "../../fixtures/dnsmasq.ts";
import { RecordingLogger } from "../../unit/discovery/contract.ts";

const started: DnsmasqFixture[] = [];
afterAll(async () => {
  for (const d of started) await d.close();
});

async function dnsmasq(records: DnsmasqRecords, options: DnsmasqOptions = {}, hosts: string[] = []): Promise<DnsmasqFixture> {
  const d = await DnsmasqFixture.start(records, hosts, { logQueries: true, ...options });
  started.push(d);
  return d;
}

/** One raw UDP question to dnsmasq: the premise of each test, checked rather than assumed. */
async function rawAsk(d: DnsmasqFixture, name: string, type: RecordTypeCode) {
  return decodeResponse(await exchangeUdp({ host: "127.0.0.1", port: d.port }, encodeQuery(77, name, type), 1000, () => true));
}

/** Runs one discovery lookup (start + stop) and returns the list, the status and the warnings. */
async function discoverOnce(config: Record<string, unknown>) {
  const logger = new RecordingLogger();
  const d = createDnsDiscovery(dnsSchema.parse(config), logger);
  let peers: string[] = [];
  await d.start((p) => {
    peers = p.map((x) => x.address);
  });
  const status = d.status!();
  await d.stop();
  return { peers, status, detail: status.lastResult?.detail as Record<string, unknown> | undefined, logger };
}

describe("dns discovery against resolvers that refuse, truncate and search", () => {
  test("an A-only name whose AAAA and SRV queries are REFUSED (dnsmasq without upstream) is found through its A records", async () => {
    const d = await dnsmasq({ hosts: { "peers.example.net": ["127.0.0.5", "127.0.0.6"] } }, { localZone: false });
    expect((await rawAsk(d, "peers.example.net", RecordType.AAAA)).rcode).toBe(5); // REFUSED, as in the field
    expect((await rawAsk(d, "peers.example.net", RecordType.SRV)).rcode).toBe(5);
    d.clearQueryLog();

    const { peers, status, detail, logger } = await discoverOnce({ name: "peers.example.net", server: d.server });
    expect(peers).toEqual(["127.0.0.5:3322", "127.0.0.6:3322"]);
    expect(logger.warnings()).toBe(0);
    expect(status.lastError).toBeNull();
    expect(detail?.records).toBe("A/AAAA");
    expect(detail?.notes).toEqual([
      expect.stringMatching(/^SRV lookup failed \(SRV .*REFUSED from 127\.0\.0\.1:\d+\); used A\/AAAA$/),
      expect.stringMatching(/^AAAA lookup failed \(.*REFUSED.*\); used the A answer$/),
    ]);
    expect(d.queryLog().sort()).toEqual(["A peers.example.net", "AAAA peers.example.net", "SRV peers.example.net"]);
  });

  test("a name every query of which is refused is an outage: a warning and lastError naming REFUSED, no empty list reported as truth", async () => {
    const d = await dnsmasq({}, { localZone: false });
    const { peers, status, logger } = await discoverOnce({ name: "nobody.example.net", server: d.server });
    expect(peers).toEqual([]);
    expect(logger.warnings()).toBe(1);
    expect(status.lastResult).toBeNull();
    expect(status.lastError?.message).toContain("REFUSED");
    expect(status.failuresSinceResult).toBe(1);
  });

  test("SRV answer with additional records: the targets' addresses come from it and nothing else is asked", async () => {
    const SRV = "_shoal._tcp.shoal.test";
    const d = await dnsmasq({
      srv: [
        { name: SRV, target: "a.shoal.test", port: 4001, priority: 10, weight: 5 },
        { name: SRV, target: "b.shoal.test", port: 4002, priority: 10, weight: 9 },
        { name: SRV, target: "c.shoal.test", port: 4003, priority: 20, weight: 0 },
      ],
      hosts: { "a.shoal.test": ["127.0.0.11"], "b.shoal.test": ["127.0.0.12", "::12"], "c.shoal.test": ["127.0.0.13"] },
    });
    const premise = await rawAsk(d, SRV, RecordType.SRV);
    expect(premise.additionals.filter((r) => r.type === RecordType.A || r.type === RecordType.AAAA).length).toBe(4);
    d.clearQueryLog();

    const { peers, detail } = await discoverOnce({ name: SRV, server: d.server });
    expect(peers).toEqual(["127.0.0.12:4002", "[::12]:4002", "127.0.0.11:4001", "127.0.0.13:4003"]);
    expect(d.queryLog()).toEqual([`SRV ${SRV}`]);
    expect(detail).toMatchObject({ records: "SRV", targets: 3, fromAdditional: 3, queries: 1, transport: "udp" });
  });

  test("80 SRV records (too big for one UDP answer even with EDNS0): the truncated reply is retried over TCP and every peer arrives", async () => {
    const SRV = "_big._tcp.shoal.test";
    const records: DnsmasqRecords = { srv: [], hosts: {} };
    const expected: string[] = [];
    for (let i = 1; i <= 80; i++) {
      records.srv!.push({ name: SRV, target: `n${i}.shoal.test`, port: 6000 + i, priority: 10, weight: 10 });
      records.hosts![`n${i}.shoal.test`] = [`127.0.2.${i}`];
      expected.push(`127.0.2.${i}:${6000 + i}`);
    }
    const d = await dnsmasq(records);
    expect((await rawAsk(d, SRV, RecordType.SRV)).truncated).toBe(true);

    const { peers, detail, logger } = await discoverOnce({ name: SRV, server: d.server });
    expect(logger.warnings()).toBe(0);
    expect([...peers].sort()).toEqual([...expected].sort());
    expect(detail).toMatchObject({ transport: "tcp", targets: 80 });
  });

  test("60 A records with --edns-packet-max=512: truncated over UDP, whole over TCP", async () => {
    const ips = Array.from({ length: 60 }, (_, i) => `127.0.3.${i + 1}`);
    const d = await dnsmasq({}, { ednsPacketMax: 512 }, ips.map((ip) => `${ip} many.shoal.test`));
    expect((await rawAsk(d, "many.shoal.test", RecordType.A)).truncated).toBe(true);
    const { peers, detail } = await discoverOnce({ name: "many.shoal.test", server: d.server, port: 7000 });
    expect(peers).toEqual([...ips].sort().map((ip) => `${ip}:7000`));
    expect(detail).toMatchObject({ records: "A/AAAA", transport: "tcp" });
  });

  test("resolv.conf search list and ndots: a short name is tried under each search domain in order, a long one as given first", async () => {
    const d = await dnsmasq({ hosts: { "peers.shoal.test": ["127.0.0.21"], "peers.other.test": ["127.0.0.99"] } }, { localZone: false });
    const conf = parseResolvConf("nameserver 127.0.0.1\nsearch missing.test shoal.test other.test\noptions ndots:2 attempts:1\n");
    // resolv.conf has no port syntax: point its one nameserver at this dnsmasq's port
    const client = new DnsClient({ ...conf, nameservers: [{ host: "127.0.0.1", port: d.port }] });

    const short = await client.addresses("peers");
    expect(short.addresses).toEqual(["127.0.0.21"]);
    expect(short.name).toBe("peers.shoal.test");
    expect(d.queryLog().filter((q) => q.startsWith("A "))).toEqual(["A peers.missing.test", "A peers.shoal.test"]);

    d.clearQueryLog();
    const long = await client.addresses("peers.shoal.test");
    expect(long.addresses).toEqual(["127.0.0.21"]);
    expect(d.queryLog().filter((q) => q.startsWith("A "))).toEqual(["A peers.shoal.test"]);

    d.clearQueryLog();
    const absolute = await client.srv("_x._tcp.peers.").catch((e: Error) => e);
    expect(absolute).toBeInstanceOf(Error); // refused, and with a trailing dot no search domain is tried
    expect(d.queryLog()).toEqual(["SRV _x._tcp.peers"]);
  });

  test("a second nameserver answers when the first is down", async () => {
    const d = await dnsmasq({ hosts: { "peers.shoal.test": ["127.0.0.31"] } });
    const client = new DnsClient({ nameservers: [{ host: "127.0.0.1", port: 9 }, { host: "127.0.0.1", port: d.port }], timeoutMs: 300, attempts: 1 });
    const got = await client.addresses("peers.shoal.test");
    expect(got.addresses).toEqual(["127.0.0.31"]);
    expect(got.server).toBe(d.server);
  });
});
