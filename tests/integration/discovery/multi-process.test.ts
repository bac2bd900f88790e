/** Three node processes find (and reach) each other through consul self-registration and through dnsmasq SRV records. */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ConsulFixture } from "../../fixtures/consul-server.ts";
import { DnsmasqFixture } from "../../fixtures/dnsmasq.ts";
import { endpointSlice, K8sFixture } from "../../fixtures/k8s-server.ts";
import { until } from "../../unit/discovery/contract.ts";

interface Node {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  self: string;
  /** Latest {peers, reached} line. */
  view: { peers: string[]; reached: string[] };
}

const procs: Subprocess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill("SIGKILL");
    await p.exited;
  }
});

async function spawnNode(kind: string, section: unknown, env: Record<string, string> = {}): Promise<Node> {
  const proc = Bun.spawn([process.execPath, "tests/integration/discovery/peer-node.ts"], {
    env: { ...process.env, ...env, SHOAL_TEST_DISCOVERY: kind, SHOAL_TEST_SECTION: JSON.stringify(section) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  procs.push(proc);
  const node: Node = { proc, self: "", view: { peers: [], reached: [] } };
  (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk);
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.self) node.self = msg.self;
        else node.view = msg;
      }
    }
  })();
  await until(() => node.self !== "", 10_000, "node to listen");
  return node;
}

const sees = (n: Node, others: Node[]) => () =>
  JSON.stringify([...n.view.peers].sort()) === JSON.stringify([n, ...others].map((o) => o.self).sort()) &&
  n.view.reached.length === others.length;

describe("multi-process discovery", () => {
  test("consul: three nodes self-register and find each other; SIGTERM deregisters, SIGKILL drops out by TTL", async () => {
    const consul = ConsulFixture.start({ aclToken: "t" });
    try {
      const section = { addr: consul.url, service: "shoal", token: "t", register: true, wait: "2s", retry: "100ms" };
      const nodes = [await spawnNode("consul", section), await spawnNode("consul", section), await spawnNode("consul", section)];
      for (const n of nodes) await until(sees(n, nodes.filter((o) => o !== n)), 10_000, `${n.self} to see all three`);
      const [a, b, c] = nodes as [Node, Node, Node];
      c.proc.kill("SIGTERM");
      await c.proc.exited;
      await until(sees(a, [b]), 5_000, "graceful leave to be seen");
      expect(consul.serviceIds()).toHaveLength(2);
      b.proc.kill("SIGKILL");
      await until(sees(a, []), 5_000, "crashed node to drop out once its TTL check is critical");
    } finally {
      await consul.stop();
    }
  });

  test("dns: three nodes find each other through dnsmasq SRV records; a removed record drops a node", async () => {
    const dnsmasq = await DnsmasqFixture.start({});
    try {
      const section = { name: "_shoal._tcp.shoal.test", server: dnsmasq.server, interval: "100ms" };
      const nodes = [await spawnNode("dns", section), await spawnNode("dns", section), await spawnNode("dns", section)];
      const records = (ns: Node[]) => ({
        srv: ns.map((n, i) => ({ name: "_shoal._tcp.shoal.test", target: `node${i}.shoal.test`, port: Number(n.self.split(":")[1]) })),
        hosts: Object.fromEntries(ns.map((_, i) => [`node${i}.shoal.test`, ["127.0.0.1"]])),
      });
      await dnsmasq.setRecords(records(nodes));
      for (const n of nodes) await until(sees(n, nodes.filter((o) => o !== n)), 10_000, `${n.self} to see all three`);
      await dnsmasq.setRecords(records(nodes.slice(0, 2)));
      await until(sees(nodes[0]!, [nodes[1]!]), 5_000, "removed record to drop node 3");
    } finally {
      await dnsmasq.close();
    }
  });

  test("kubernetes: three in-cluster nodes find each other through EndpointSlices; a not-ready endpoint drops out", async () => {
    const k8s = await K8sFixture.start("tok");
    const dir = mkdtempSync(join(tmpdir(), "shoal-k8s-mp-"));
    try {
      writeFileSync(join(dir, "token"), "tok");
      writeFileSync(join(dir, "ca.crt"), k8s.cert.cert);
      writeFileSync(join(dir, "namespace"), "shoal");
      const env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(k8s.port) };
      const section = { service: "shoal-peers", serviceAccountDir: dir, retry: "100ms" };
      const nodes = [await spawnNode("kubernetes", section, env), await spawnNode("kubernetes", section, env), await spawnNode("kubernetes", section, env)];
      const publish = (readyCount: number) =>
        nodes.forEach((n, i) => {
          const port = Number(n.self.split(":")[1]);
          k8s.apply("shoal", endpointSlice(`shoal-peers-${i}`, "shoal-peers", [{ ip: "127.0.0.1", ready: i < readyCount }], port));
        });
      publish(3);
      for (const n of nodes) await until(sees(n, nodes.filter((o) => o !== n)), 10_000, `${n.self} to see all three`);
      publish(2);
      await until(sees(nodes[0]!, [nodes[1]!]), 5_000, "not-ready endpoint to drop out");
    } finally {
      await k8s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
