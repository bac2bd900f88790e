/**
 * DNS discovery as a host's own resolver sees it: three `dist/shoal` hosts
 * with NO --dns-server read /etc/resolv.conf (each host's own, bind-mounted
 * by `ip netns exec` from /etc/netns/<ns>/resolv.conf): a nameserver in a
 * fourth host and a search list, so the short name `shoal` becomes
 * `shoal.shoal.test` after `shoal.missing.test` is refused. That dnsmasq has
 * A records only and no upstream, so it answers AAAA (and SRV) with REFUSED,
 * as it does in the field. The three must form one cluster, and GET
 * /v1/cluster must say what discovery saw, from where and when.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { CLIENT_OPS } from "../../helpers/netns-client-ops.ts";
import { describeIf } from "../../helpers/prerequisites.ts";
import { startDnsmasqIn } from "./dnsmasq-host.ts";
import { OPS } from "./ops.ts";
import { HTTP_PORT, requireLab, ShoalHosts, UNAVAILABLE } from "./shoal-hosts.ts";

let s: ShoalHosts | undefined;
const netnsDirs: string[] = [];
afterEach(async () => {
  await s?.destroy();
  s = undefined;
  for (const d of netnsDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface DiscoveryView {
  plugin: string;
  lastResult: { peers: string[]; at: number; detail: Record<string, unknown> } | null;
  lastError: { message: string } | null;
}

describeIf(UNAVAILABLE)("dns discovery through each host's /etc/resolv.conf", () => {
  test("A-only dnsmasq that REFUSES AAAA, reached through resolv.conf's nameserver and search list: one cluster, and /v1/cluster says what discovery saw", async () => {
    requireLab();
    s = await ShoalHosts.create({ hosts: 3, clients: 1 });
    const lab = s;
    const dnsHost = lab.lab.clients[0]!;
    const ips = lab.hosts.map((h) => h.ip);
    const dns = await startDnsmasqIn(lab.lab, dnsHost, lab.agent, { hosts: { "shoal.shoal.test": ips } }, "shoal.shoal.test", { localZone: false });
    for (const h of lab.hosts) {
      const dir = `/etc/netns/${h.ns}`; // `ip netns exec` bind-mounts these files over /etc
      mkdirSync(dir, { recursive: true });
      netnsDirs.push(dir);
      writeFileSync(`${dir}/resolv.conf`, `# ${h.name}\nnameserver ${dnsHost.ip}\nsearch missing.test shoal.test\noptions ndots:1 timeout:1\n`);
    }
    const before = Date.now();
    await Promise.all(lab.hosts.map((h) => lab.start(h, ["--discovery", "dns", "--dns-name", "shoal", "--dns-interval", "1s"])));
    try {
      await lab.agent.call(OPS, "waitCluster", [ips, HTTP_PORT, lab.hosts.map((h) => lab.peer(h)), 30_000]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${lab.logs()}`);
    }
    for (const h of lab.hosts) {
      const res = await lab.agent.call<{ status: number; body: string }>(CLIENT_OPS, "http", [`http://${h.ip}:${HTTP_PORT}/v1/cluster`]);
      const d = (JSON.parse(res.body) as { discovery: DiscoveryView }).discovery;
      expect(d.plugin).toBe("dns");
      expect(d.lastError).toBeNull();
      expect(d.lastResult?.peers).toEqual([...ips].sort().map((ip) => `${ip}:3322`));
      expect(d.lastResult!.at).toBeGreaterThanOrEqual(before);
      expect(d.lastResult!.at).toBeLessThanOrEqual(Date.now());
      expect(d.lastResult?.detail).toMatchObject({
        name: "shoal.shoal.test",
        records: "A/AAAA",
        server: `${dnsHost.ip}:53`,
        resolvConf: "/etc/resolv.conf",
        search: ["missing.test", "shoal.test"],
      });
      expect(String(d.lastResult?.detail.notes)).toContain("AAAA lookup failed");
      expect(String(d.lastResult?.detail.notes)).toContain("REFUSED");
      // the log says it too: which resolv.conf and servers, and the first list with where it came from
      const out = lab.nodes.get(h.name)!.output();
      expect(out).toContain(`discovery.dns.resolver from=/etc/resolv.conf nameservers=["${dnsHost.ip}:53"]`);
      expect(out).toMatch(/discovery changed plugin=dns peers=3 .*source=\{"name":"shoal\.shoal\.test","records":"A\/AAAA"/);
    }
    await dns.stop();
  }, 90_000);
});
