/**
 * Discovery across hosts: three `dist/shoal` nodes bound to 0.0.0.0 with
 * --advertise find each other through a real dnsmasq running in a fourth
 * host (A records only, then SRV records) and through the Consul fixture run
 * as a process in that host (each node registers its advertised address).
 * Each cluster must agree on the three members and serve ioredis Cluster
 * from the client host at the advertised addresses.
 */
import { afterEach, expect, test } from "bun:test";
import { CLIENT_OPS } from "../../helpers/netns-client-ops.ts";
import type { Host } from "../../helpers/netns-hosts.ts";
import { describeIf } from "../../helpers/prerequisites.ts";
import { startDnsmasqIn } from "./dnsmasq-host.ts";
import { OPS, type WriteResult } from "./ops.ts";
import { HTTP_PORT, RESP_PORT, requireLab, ShoalHosts, UNAVAILABLE } from "./shoal-hosts.ts";

let s: ShoalHosts | undefined;
afterEach(async () => {
  await s?.destroy();
  s = undefined;
});

/** Starts a node per host with `args`, waits for one cluster of all three, writes 300 keys through h0 and reads them with ioredis Cluster. */
async function formsOneCluster(lab: ShoalHosts, args: (h: Host) => string[]): Promise<void> {
  const hosts = lab.hosts;
  await Promise.all(hosts.map((h) => lab.start(h, args(h))));
  try {
    await lab.agent.call(OPS, "waitCluster", [hosts.map((h) => h.ip), HTTP_PORT, hosts.map((h) => lab.peer(h)), 30_000]);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${lab.logs()}`);
  }
  const w = await lab.agent.call<WriteResult>(OPS, "writeKeys", [hosts[0]!.ip, RESP_PORT, "disc", 0, 300]);
  expect(w.acked.length).toBe(300);
  const r = await lab.agent.call<{ wrong: string[]; nodes: string[] }>(OPS, "readKeysCluster", [[{ host: hosts[1]!.ip, port: RESP_PORT }], "disc", w.acked]);
  expect(r.wrong).toEqual([]);
  expect(r.nodes.sort()).toEqual(hosts.map((h) => `${h.ip}:${RESP_PORT}`).sort());
}

describeIf(UNAVAILABLE)("discovery across namespace hosts", () => {
  test("DNS with A records only (dnsmasq in another host)", async () => {
    requireLab();
    s = await ShoalHosts.create({ hosts: 3, clients: 1 });
    const lab = s;
    const dns = await startDnsmasqIn(lab.lab, lab.lab.clients[0]!, lab.agent, { hosts: { "shoal.shoal.test": lab.hosts.map((h) => h.ip) } }, "shoal.shoal.test");
    await formsOneCluster(lab, () => ["--discovery", "dns", "--dns-name", "shoal.shoal.test", "--dns-server", dns.server, "--dns-interval", "1s"]);
  }, 60_000);

  test("DNS with SRV records naming each host (dnsmasq in another host)", async () => {
    requireLab();
    s = await ShoalHosts.create({ hosts: 3, clients: 1 });
    const lab = s;
    const records = {
      srv: lab.hosts.map((h) => ({ name: "_shoal._tcp.shoal.test", target: `${h.name}.shoal.test`, port: 3322 })),
      hosts: Object.fromEntries(lab.hosts.map((h) => [`${h.name}.shoal.test`, [h.ip]])),
    };
    const dns = await startDnsmasqIn(lab.lab, lab.lab.clients[0]!, lab.agent, records, "h0.shoal.test");
    await formsOneCluster(lab, () => ["--discovery", "dns", "--dns-name", "_shoal._tcp.shoal.test", "--dns-server", dns.server, "--dns-interval", "1s"]);
  }, 60_000);

  test("Consul (the fixture as a process in another host); nodes register their advertised address", async () => {
    requireLab();
    s = await ShoalHosts.create({ hosts: 3, clients: 1 });
    const lab = s;
    const c0 = lab.lab.clients[0]!;
    const consul = lab.lab.spawn(c0, [process.execPath, "tests/fixtures/consul-server.ts", "--host", c0.ip, "--port", "8500"]);
    await lab.agent.call(CLIENT_OPS, "waitHttp", [`http://${c0.ip}:8500/v1/health/service/shoal`, 200, 10_000]).catch((err: Error) => {
      throw new Error(`${err.message}\n${consul.output()}`);
    });
    await formsOneCluster(lab, () => ["--discovery", "consul", "--consul-addr", `http://${c0.ip}:8500`, "--consul-service", "shoal", "--consul-register"]);
    const body = await lab.agent.call<{ status: number; body: string }>(CLIENT_OPS, "http", [`http://${c0.ip}:8500/v1/health/service/shoal?passing`]);
    const registered = (JSON.parse(body.body) as { Service: { Address: string; Port: number } }[]).map((e) => `${e.Service.Address}:${e.Service.Port}`).sort();
    expect(registered).toEqual(lab.hosts.map((h) => lab.peer(h)).sort());
  }, 60_000);
});
