/**
 * Three compiled binaries form one cluster through each built-in discovery
 * plugin: static (--peers), dns (a real dnsmasq with SRV records), consul (the
 * HTTP fixture, nodes self-register) and kubernetes (the HTTPS fixture with
 * EndpointSlices, reached through a kubeconfig named in shoal.yaml
 * discovery_options). Each case checks that every node reports members:3 and
 * that a key written through node A reads back through node C, and prints the
 * discovery-driven join time (spawn of all three → members:3 everywhere).
 * DNS changes: an added SRV record makes the others join a node that found
 * nobody itself; discovery only seeds membership and SWIM decides liveness, so
 * a live node whose SRV record disappears stays a member until it dies.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsulFixture } from "../fixtures/consul-server.ts";
import { DnsmasqFixture } from "../fixtures/dnsmasq.ts";
import { endpointSlice, K8sFixture } from "../fixtures/k8s-server.ts";
import { freePorts, sleep } from "../helpers/ports.ts";
import { type ServerProcess, spawnShoal } from "../helpers/processes.ts";
import { RawClient } from "../helpers/raw-client.ts";
import { requireBinary } from "./binary.ts";

const BIN = requireBinary();
const nodes: ServerProcess[] = [];
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
/** plugin → ms from spawning the three nodes until all report members:3. */
const joinTimes: Record<string, number> = {};

afterAll(async () => {
  for (const n of nodes) await n.stop(500);
  for (const c of cleanups) await c().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  console.log(`discovery join times in ms (spawn of 3 nodes → members:3 on all): ${JSON.stringify(joinTimes)}`);
});

/** The `members` count of the last "partition table rebuilt" line, or 0. */
function lastMembers(n: ServerProcess): number {
  const line = n
    .output()
    .split("\n")
    .filter((l) => l.includes("partition table rebuilt"))
    .at(-1);
  const m = line ? /"members":(\d+)/.exec(line) : null;
  return m ? Number(m[1]) : 0;
}

/** Polls `fn` until true or `limitMs` passes. */
async function until(fn: () => boolean, limitMs: number, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (fn()) return true;
    await sleep(stepMs);
  }
  return fn();
}

interface Cluster {
  nodes: ServerProcess[];
  peerPorts: number[];
}

/** `shoal serve` arguments of one loopback node: RESP, HTTP and peer ports, a name, then `extra`. */
function serveArgs(name: string, port: number, httpPort: number, peerPort: number, extra: string[]): string[] {
  return [
    "serve",
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--http-port",
    String(httpPort),
    "--peer-port",
    String(peerPort),
    "--node-name",
    name,
    "--preset",
    "local",
    "--log-format",
    "json",
    ...extra,
  ];
}

/** Starts one node on fresh ports (peer port given) and tracks it for afterAll. */
async function startOne(name: string, peerPort: number, extra: string[]): Promise<ServerProcess> {
  const [port, httpPort] = (await freePorts(2)) as [number, number];
  const n = await spawnShoal({ binary: BIN, args: serveArgs(name, port, httpPort, peerPort, extra), port, httpPort });
  nodes.push(n);
  return n;
}

/** Picks ports for three nodes; `extra(i, peerPorts)` gives the discovery arguments of node i. */
async function startThree(plugin: string, extra: (i: number, peerPorts: number[]) => string[], peerPorts?: number[]): Promise<Cluster> {
  const ports = await freePorts(9);
  const peers = peerPorts ?? ports.slice(6, 9);
  const args = (i: number): string[] => serveArgs(`${plugin}-${i}`, ports[i]!, ports[3 + i]!, peers[i]!, extra(i, peers));
  const started = Date.now();
  const spawned = await Promise.allSettled(
    [0, 1, 2].map((i) => spawnShoal({ binary: BIN, args: args(i), port: ports[i]!, httpPort: ports[3 + i]! })),
  );
  const mine: ServerProcess[] = [];
  for (const s of spawned) if (s.status === "fulfilled") mine.push(s.value);
  nodes.push(...mine);
  const failed = spawned.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const formed = await until(() => mine.every((n) => lastMembers(n) === 3), 15_000);
  if (!formed) throw new Error(`${plugin}: no 3-member cluster:\n${mine.map((n) => n.output().slice(-1500)).join("\n---\n")}`);
  joinTimes[plugin] = Date.now() - started;
  return { nodes: mine, peerPorts: peers };
}

/** SET through node A, GET through node C. */
async function writeAReadC(c: Cluster, key: string): Promise<void> {
  const a = await RawClient.connect(c.nodes[0]!.port);
  const z = await RawClient.connect(c.nodes[2]!.port);
  try {
    expect(await a.call(["SET", key, `v-${key}`], 5000)).toBe("+OK\r\n");
    const value = `v-${key}`;
    expect(await z.call(["GET", key], 5000)).toBe(`$${value.length}\r\n${value}\r\n`);
  } finally {
    a.close();
    z.close();
  }
}

/** SIGTERM every node (SIGKILL after `graceMs`); returns the exit codes. */
async function stopAll(c: Cluster, graceMs = 1000): Promise<number[]> {
  return Promise.all(c.nodes.map((n) => n.stop(graceMs)));
}

describe("e2e: three binaries form one cluster through each discovery plugin", () => {
  test("static (--peers)", async () => {
    const c = await startThree("static", (_i, peers) => ["--peers", peers.map((p) => `127.0.0.1:${p}`).join(",")]);
    for (const n of c.nodes) expect(lastMembers(n)).toBe(3);
    await writeAReadC(c, "static-key");
    await stopAll(c);
  });

  test("dns (dnsmasq SRV): an added record joins a node; a removed record does not evict a live member", async () => {
    const ports = await freePorts(4);
    const NAME = "_shoal._tcp.shoal.test";
    const srv = (ps: number[]) => ({
      srv: ps.map((p) => ({ name: NAME, target: `node-${p}.shoal.test`, port: p })),
      hosts: Object.fromEntries(ps.map((p) => [`node-${p}.shoal.test`, ["127.0.0.1"]])),
    });
    const dns = await DnsmasqFixture.start(srv(ports.slice(0, 3)));
    cleanups.push(() => dns.close());
    const dnsArgs = (name: string) => ["--discovery", "dns", "--dns-name", name, "--dns-server", dns.server, "--dns-interval", "200ms"];
    const c = await startThree("dns", () => dnsArgs(NAME), ports.slice(0, 3));
    for (const n of c.nodes) expect(lastMembers(n)).toBe(3);
    await writeAReadC(c, "dns-key");

    // Added record: a fourth node that discovers nobody itself (its own name has no records)
    // is joined by the others once its SRV record appears.
    const fourth = await startOne("dns-3", ports[3]!, dnsArgs("_nobody._tcp.shoal.test"));
    await sleep(600); // 3 polls: nothing lists it yet
    expect(lastMembers(c.nodes[0]!)).toBe(3);
    const added = Date.now(); // includes the dnsmasq restart (its SRV records are read only at start)
    await dns.setRecords(srv(ports));
    const grown = await until(() => [...c.nodes, fourth].every((n) => lastMembers(n) === 4), 10_000);
    expect(grown).toBe(true);
    joinTimes["dns record added → members:4"] = Date.now() - added;

    // Removed record: discovery only seeds, SWIM decides liveness, so node 2 (alive) stays a member.
    await dns.setRecords(srv([ports[0]!, ports[1]!, ports[3]!]));
    await sleep(1500); // ≥ 7 DNS polls at 200ms
    for (const n of [...c.nodes, fourth]) expect(lastMembers(n)).toBe(4);
    await writeAReadC(c, "dns-key-after-removal");

    // A node that really dies is removed by SWIM (not by DNS; it is already out of DNS). The
    // member that suspects it first may get no Lifeguard confirmations and then waits the maximum
    // suspicion timeout (suspicionMaxTimeoutMult 6 × 3 s with --preset local; seen: 19 s), hence 30 s.
    const killed = Date.now();
    c.nodes[2]!.proc.kill("SIGKILL");
    await c.nodes[2]!.exited;
    const survivors = [c.nodes[0]!, c.nodes[1]!, fourth];
    const shrunk = await until(() => survivors.every((n) => lastMembers(n) === 3), 30_000, 50);
    joinTimes["dns kill -9 → members:3 on all survivors"] = Date.now() - killed;
    if (!shrunk) console.error(`after kill -9: members ${survivors.map(lastMembers)}\n${survivors.map((n) => n.output().slice(-3000)).join("\n---\n")}`);
    expect(shrunk).toBe(true);
    await Promise.all([stopAll(c), fourth.stop(1000)]);
  });

  test("consul (fixture; nodes self-register with --consul-register)", async () => {
    const consul = ConsulFixture.start();
    cleanups.push(() => consul.stop());
    const c = await startThree("consul", () => [
      "--discovery",
      "consul",
      "--consul-addr",
      consul.url,
      "--consul-service",
      "shoal",
      "--consul-register",
    ]);
    for (const n of c.nodes) expect(lastMembers(n)).toBe(3);
    expect(consul.serviceIds()).toEqual(["consul-0", "consul-1", "consul-2"]);
    await writeAReadC(c, "consul-key");
    // graceful leave (SIGTERM, generous grace so a loaded machine does not turn it into SIGKILL) deregisters
    const codes = await stopAll(c, 10_000);
    const left = consul.serviceIds();
    if (left.length > 0) console.error(`still registered: ${left}; exit codes ${codes}\n${c.nodes.map((n) => n.output().slice(-1500)).join("\n---\n")}`);
    expect(left).toEqual([]);
  });

  test("kubernetes (HTTPS fixture, EndpointSlices, kubeconfig via shoal.yaml discovery_options)", async () => {
    const k8s = await K8sFixture.start("e2e-token");
    cleanups.push(() => k8s.stop());
    const ports = await freePorts(3);
    // EndpointSlice ports are per slice: one slice per node, since all three share 127.0.0.1.
    ports.forEach((p, i) => {
      k8s.apply("shoal", endpointSlice(`shoal-${i}`, "shoal", [{ ip: "127.0.0.1", ready: true, pod: `shoal-${i}` }], p));
    });
    const dir = mkdtempSync(join(tmpdir(), "shoal-e2e-k8s-"));
    dirs.push(dir);
    writeFileSync(join(dir, "ca.pem"), k8s.cert.cert);
    writeFileSync(
      join(dir, "kubeconfig"),
      [
        "apiVersion: v1",
        "kind: Config",
        "current-context: test",
        "clusters:",
        "- name: test",
        `  cluster: { server: "${k8s.url}", certificate-authority: ca.pem }`,
        "users:",
        "- name: test",
        "  user: { token: e2e-token }",
        "contexts:",
        "- name: test",
        "  context: { cluster: test, user: test, namespace: shoal }",
        "",
      ].join("\n"),
    );
    const yaml = join(dir, "shoal.yaml");
    writeFileSync(yaml, `discovery_options:\n  kubeconfig: ${join(dir, "kubeconfig")}\n`);
    const c = await startThree(
      "kubernetes",
      () => ["--config", yaml, "--discovery", "kubernetes", "--k8s-namespace", "shoal", "--k8s-service", "shoal"],
      ports,
    );
    for (const n of c.nodes) expect(lastMembers(n)).toBe(3);
    await writeAReadC(c, "k8s-key");
    await stopAll(c);
  });
});
