/**
 * What a node bound to a wildcard advertises, on real (namespace) hosts:
 * the host's one address when it has one; exit 2 naming --advertise when it
 * has several; and an IPv6-only cluster (bound to ::, advertising fd88::x)
 * whose CLUSTER NODES, MOVED and peers use IPv6 addresses that redis-cli -c
 * and ioredis Cluster follow.
 */
import { afterEach, expect, test } from "bun:test";
import { CLIENT_OPS } from "../../helpers/netns-client-ops.ts";
import { describeIf } from "../../helpers/prerequisites.ts";
import { redisCliPath } from "../../helpers/processes.ts";
import { type NodeView, OPS, type WriteResult } from "./ops.ts";
import { HTTP_PORT, RESP_PORT, requireLab, ShoalHosts, UNAVAILABLE } from "./shoal-hosts.ts";

describeIf(UNAVAILABLE)("advertised addresses on namespace hosts", () => {
  let s: ShoalHosts | undefined;
  // each test builds its own lab: a failed one must not leave its namespaces to the next
  afterEach(async () => {
    await s?.destroy();
    s = undefined;
  });

  test("wildcard bind without --advertise: the host's one address, or exit 2 naming --advertise when it has several", async () => {
    requireLab();
    s = await ShoalHosts.create({ hosts: 2, clients: 1 });
    const [h0, h1] = s.hosts as [(typeof s.hosts)[0], (typeof s.hosts)[0]];
    const peers = s.hosts.map((h) => s!.peer(h)).join(",");
    // h0 has one address: it advertises it
    await s.start(h0, ["--peers", peers], { advertise: false });
    const view = await s.agent.call<NodeView>(OPS, "nodeView", [h0.ip, HTTP_PORT]);
    expect(view.self).toBe(`${h0.ip}:3322`);
    // h1 gets a second address: which one other hosts should use cannot be guessed
    s.lab.addAddress(h1!, "10.88.1.11/24");
    const r = await s.lab.run(h1!, s.serveArgs(h1!, ["--peers", peers], { advertise: false }), { timeoutMs: 15_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--advertise");
    expect(r.stderr).toContain("10.88.0.11 (eth0)");
    expect(r.stderr).toContain("10.88.1.11 (eth0)");
    // with --advertise it starts and joins h0
    await s.start(h1!, ["--peers", peers]);
    await s.agent.call(OPS, "waitCluster", [[h0.ip, h1!.ip], HTTP_PORT, [s.peer(h0), s.peer(h1!)], 20_000]);
  }, 60_000);

  test("IPv6: three hosts bound to :: advertising fd88::x form one cluster that redis-cli -c and ioredis Cluster follow", async () => {
    requireLab();
    s = await ShoalHosts.create({ hosts: 3, clients: 1, ipv6: true });
    const lab = s;
    const hosts = lab.hosts;
    const peers = hosts.map((h) => lab.peer(h, true)).join(",");
    await Promise.all(hosts.map((h) => lab.start(h, ["--peers", peers, "--replica-count", "2"], { v6: true })));
    const views = await lab.agent.call<NodeView[]>(OPS, "waitCluster", [hosts.map((h) => `[${h.ip6}]`), HTTP_PORT, hosts.map((h) => lab.peer(h, true)), 30_000]);
    expect(views.map((v) => v.self)).toEqual(hosts.map((h) => `[${h.ip6}]:3322`));

    // CLUSTER NODES prints ip:port@cport as Redis does for IPv6 (no brackets; clients split at the last colon)
    const nodes = (await lab.agent.call<string>(CLIENT_OPS, "resp", [hosts[0]!.ip6, RESP_PORT, ["CLUSTER", "NODES"]])) as string;
    const addrs = nodes
      .trim()
      .split("\n")
      .map((l) => l.split(" ")[1]!)
      .sort();
    expect(addrs).toEqual(hosts.map((h) => `${h.ip6}:${RESP_PORT}@3322`).sort());

    const w = await lab.agent.call<WriteResult>(OPS, "writeKeys", [hosts[0]!.ip6, RESP_PORT, "v6", 0, 300]);
    expect(w.acked.length).toBe(300);
    const cluster = await lab.agent.call<{ wrong: string[]; nodes: string[] }>(OPS, "readKeysCluster", [[{ host: hosts[1]!.ip6, port: RESP_PORT }], "v6", w.acked]);
    expect(cluster.wrong).toEqual([]);
    expect(cluster.nodes.sort()).toEqual(hosts.map((h) => `${h.ip6}:${RESP_PORT}`).sort());

    const cli = redisCliPath();
    if (!cli) throw new Error("redis-cli is needed (apt-get install redis-tools)");
    const script = Array.from({ length: 60 }, (_, i) => `READWRITE\nGET v6:${i}\n`).join("");
    const r = await lab.lab.run(lab.lab.clients[0]!, [cli, "-c", "-h", hosts[2]!.ip6!, "-p", String(RESP_PORT)], { stdin: script, timeoutMs: 30_000 });
    const lines = r.stdout.split("\n").filter((l) => l !== "OK" && l !== "");
    const redirects = lines.filter((l) => l.startsWith("-> Redirected"));
    expect(lines.filter((l) => !l.startsWith("-> Redirected"))).toEqual(Array.from({ length: 60 }, (_, i) => `v6-value-${i}`));
    expect(redirects.length).toBeGreaterThan(0);
    for (const l of redirects) expect(hosts.map((h) => `${h.ip6}:${RESP_PORT}`)).toContain(l.split(" located at ")[1]!);
  }, 60_000);
});
