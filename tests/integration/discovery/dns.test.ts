/** dns plugin against a real dnsmasq on a loopback port (SRV via restart, A via addn-hosts + SIGHUP). */
import { afterAll, describe, expect, test } from "bun:test";
import { createDnsDiscovery, dnsSchema } from "../../../plugins/discovery/dns.ts";
import { type DnsmasqFixture as Dnsmasq, DnsmasqFixture, type DnsmasqRecords } from "../../fixtures/dnsmasq.ts";
import { type DiscoveryHarness, RecordingLogger, runDiscoveryContract, until } from "../../unit/discovery/contract.ts";

const SRV = "_shoal._tcp.shoal.test";

/** Maps "127.0.0.N:port" peers onto SRV records with targets nN.shoal.test → 127.0.0.N. */
function recordsFor(peers: string[]): DnsmasqRecords {
  const records: Required<DnsmasqRecords> = { srv: [], hosts: {} };
  for (const p of peers) {
    const [ip, port] = p.split(":") as [string, string];
    const target = `n${ip.split(".")[3]}.shoal.test`;
    records.srv.push({ name: SRV, target, port: Number(port), priority: 10, weight: 10 });
    records.hosts[target] = [ip];
  }
  return records;
}

runDiscoveryContract("dns (dnsmasq, SRV)", async (initial): Promise<DiscoveryHarness> => {
  const dnsmasq = await DnsmasqFixture.start(recordsFor(initial));
  const logger = new RecordingLogger();
  const config = dnsSchema.parse({ name: SRV, server: dnsmasq.server, interval: "100ms", timeout: "200ms" });
  return {
    discovery: createDnsDiscovery(config, logger),
    logger,
    setPeers: (peers) => dnsmasq.setRecords(recordsFor(peers)),
    breakSource: () => dnsmasq.down(),
    healSource: () => dnsmasq.up(),
    close: () => dnsmasq.close(),
  };
});

describe("dns plugin (dnsmasq)", () => {
  const started: Dnsmasq[] = [];
  afterAll(async () => {
    for (const d of started) await d.close();
  });

  test("orders SRV answers by priority, then weight descending, and resolves targets through the same server", async () => {
    const dnsmasq = await DnsmasqFixture.start({
      srv: [
        { name: SRV, target: "low.shoal.test", port: 4001, priority: 20, weight: 100 },
        { name: SRV, target: "light.shoal.test", port: 4002, priority: 10, weight: 1 },
        { name: SRV, target: "heavy.shoal.test", port: 4003, priority: 10, weight: 50 },
        { name: SRV, target: "unresolved.shoal.test", port: 4004, priority: 30, weight: 0 },
      ],
      hosts: { "low.shoal.test": ["127.0.0.31"], "light.shoal.test": ["127.0.0.32"], "heavy.shoal.test": ["::33"] },
    });
    started.push(dnsmasq);
    const d = createDnsDiscovery(dnsSchema.parse({ name: SRV, server: dnsmasq.server }), new RecordingLogger());
    let got: string[] = [];
    await d.start((peers) => {
      got = peers.map((p) => p.address);
    });
    await d.stop();
    expect(got).toEqual(["[::33]:4003", "127.0.0.32:4002", "127.0.0.31:4001", "unresolved.shoal.test:4004"]);
  });

  test("a name without SRV records uses A/AAAA with the default port; hosts-file changes are seen after SIGHUP", async () => {
    const dnsmasq = await DnsmasqFixture.start({}, ["127.0.0.41 peers.shoal.test", "127.0.0.42 peers.shoal.test"]);
    started.push(dnsmasq);
    const config = dnsSchema.parse({ name: "peers.shoal.test", server: dnsmasq.server, interval: "100ms" });
    const d = createDnsDiscovery(config, new RecordingLogger());
    const reports: string[][] = [];
    let seenAt = 0;
    await d.start((peers) => {
      seenAt = performance.now();
      reports.push(peers.map((p) => p.address));
    });
    expect(reports[0]).toEqual(["127.0.0.41:3322", "127.0.0.42:3322"]);
    const t0 = performance.now();
    await dnsmasq.setHosts(["127.0.0.42 peers.shoal.test", "127.0.0.43 peers.shoal.test", "::44 peers.shoal.test"]);
    await until(() => reports.length === 2, 5000, "hosts change");
    console.log(`dns: A-record change noticed after ${(seenAt - t0).toFixed(1)} ms (interval 100 ms)`);
    await d.stop();
    expect(reports[1]).toEqual(["127.0.0.42:3322", "127.0.0.43:3322", "[::44]:3322"]);
  });

  test("30 SRV records (over 512 bytes) arrive whole thanks to EDNS0", async () => {
    const peers = Array.from({ length: 30 }, (_, i) => `127.0.1.${i + 1}:${5000 + i}`);
    const dnsmasq = await DnsmasqFixture.start(recordsFor(peers));
    started.push(dnsmasq);
    const logger = new RecordingLogger();
    const d = createDnsDiscovery(dnsSchema.parse({ name: SRV, server: dnsmasq.server }), logger);
    let got: string[] = [];
    await d.start((p) => {
      got = p.map((x) => x.address);
    });
    await d.stop();
    expect(logger.warnings()).toBe(0);
    expect(got.sort()).toEqual([...peers].sort());
  });

  test("an unknown name in a local zone is an empty list, not an outage", async () => {
    const dnsmasq = await DnsmasqFixture.start({});
    started.push(dnsmasq);
    const logger = new RecordingLogger();
    const d = createDnsDiscovery(dnsSchema.parse({ name: "nobody.shoal.test", server: dnsmasq.server }), logger);
    let got: string[] | undefined;
    await d.start((peers) => {
      got = peers.map((p) => p.address);
    });
    await d.stop();
    expect(got).toEqual([]);
    expect(logger.warnings()).toBe(0);
  });
});
