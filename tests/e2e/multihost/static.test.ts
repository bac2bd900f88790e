/**
 * Three `dist/shoal` processes on three namespace hosts, bound to 0.0.0.0
 * with --advertise and static --peers, form ONE cluster; a client on a
 * fourth host writes 5,000 keys through one node, reads them through
 * `redis-cli -c` (following MOVED across hosts) and ioredis Cluster; kill -9
 * of one node with RF=2 W=2 loses no acknowledged key; CLUSTER NODES/SLOTS
 * name only the hosts' real addresses.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Host } from "../../helpers/netns-hosts.ts";
import { describeIf } from "../../helpers/prerequisites.ts";
import { redisCliPath } from "../../helpers/processes.ts";
import { keyOf, type NodeView, OPS, valueFor, type WriteResult } from "./ops.ts";
import { HTTP_PORT, RESP_PORT, requireLab, ShoalHosts, UNAVAILABLE } from "./shoal-hosts.ts";

const KEYS = 5000;

describeIf(UNAVAILABLE)("three hosts, static peers, bound to 0.0.0.0 with --advertise", () => {
  let s: ShoalHosts;
  let hosts: Host[];
  const ips = () => hosts.map((h) => h.ip);

  beforeAll(async () => {
    requireLab();
    s = await ShoalHosts.create({ hosts: 3, clients: 1 });
    hosts = s.hosts;
    const peers = hosts.map((h) => s.peer(h)).join(",");
    await Promise.all(hosts.map((h) => s.start(h, ["--peers", peers, "--replica-count", "2", "--write-quorum", "2"])));
  }, 60_000);

  afterAll(async () => {
    await s?.destroy();
  });

  test("they form one cluster named by the hosts' addresses", async () => {
    const views = await s.agent.call<NodeView[]>(OPS, "waitCluster", [ips(), HTTP_PORT, hosts.map((h) => s.peer(h)), 30_000]);
    expect(views.map((v) => v.self)).toEqual(hosts.map((h) => s.peer(h)));
    expect(new Set(views.map((v) => v.checksum)).size).toBe(1);
  }, 40_000);

  test("CLUSTER NODES and CLUSTER SLOTS name only the hosts' real addresses", async () => {
    for (const h of hosts) {
      const nodes = (await s.agent.call<string>("tests/helpers/netns-client-ops.ts", "resp", [h.ip, RESP_PORT, ["CLUSTER", "NODES"]])) as string;
      const addrs = nodes
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[1]!)
        .sort();
      expect(addrs).toEqual(hosts.map((x) => `${x.ip}:${RESP_PORT}@3322`).sort());
      expect(nodes).not.toMatch(/0\.0\.0\.0|127\.\d+\.\d+\.\d+/);
      const slots = (await s.agent.call<unknown[][]>("tests/helpers/netns-client-ops.ts", "resp", [h.ip, RESP_PORT, ["CLUSTER", "SLOTS"]])) as unknown[][];
      const masters = new Set(slots.map((r) => (r[2] as unknown[])[0]));
      expect([...masters].sort()).toEqual(ips().sort());
      let covered = 0;
      for (const r of slots) covered += (r[1] as number) - (r[0] as number) + 1;
      expect(covered).toBe(16384);
      const shards = JSON.stringify(await s.agent.call("tests/helpers/netns-client-ops.ts", "resp", [h.ip, RESP_PORT, ["CLUSTER", "SHARDS"]]));
      for (const x of hosts) expect(shards).toContain(`"${x.ip}"`);
      expect(shards).not.toMatch(/0\.0\.0\.0|127\.\d+\.\d+\.\d+/);
    }
  }, 30_000);

  let written: WriteResult;
  test("a client on a fourth host writes 5,000 keys through one node", async () => {
    written = await s.agent.call<WriteResult>(OPS, "writeKeys", [hosts[0]!.ip, RESP_PORT, "static", 0, KEYS]);
    expect(written.errors).toEqual([]);
    expect(written.acked.length).toBe(KEYS);
  }, 90_000);

  test("redis-cli -c on the client host reads them all through another node, following MOVED across hosts", async () => {
    const cli = redisCliPath();
    if (!cli) throw new Error("redis-cli is needed (apt-get install redis-tools)");
    const before = await s.agent.call<number>(OPS, "movedCount", [ips(), HTTP_PORT]);
    // READWRITE marks each connection as a cluster client (as CLUSTER SLOTS would), so the nodes answer MOVED instead of forwarding
    const script = Array.from({ length: KEYS }, (_, i) => `READWRITE\nGET ${keyOf("static", i)}\n`).join("");
    const r = await s.lab.run(s.lab.clients[0]!, [cli, "-c", "-h", hosts[1]!.ip, "-p", String(RESP_PORT)], { stdin: script, timeoutMs: 60_000 });
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n").filter((l) => l !== "OK" && l !== "");
    // redis-cli prints "-> Redirected to slot [N] located at host:port" each time it follows a MOVED
    const redirects = lines.filter((l) => l.startsWith("-> Redirected"));
    const values = lines.filter((l) => !l.startsWith("-> Redirected"));
    expect(values.length).toBe(KEYS);
    const wrong = values.filter((v, i) => v !== valueFor("static", i));
    expect(wrong.slice(0, 5)).toEqual([]);
    const targets = new Set(redirects.map((l) => l.split(" located at ")[1]));
    expect([...targets].sort()).toEqual(hosts.map((h) => `${h.ip}:${RESP_PORT}`).sort());
    expect(redirects.length).toBeGreaterThan(KEYS / 5); // keys alternate between the three hosts
    const moved = (await s.agent.call<number>(OPS, "movedCount", [ips(), HTTP_PORT])) - before;
    expect(moved).toBe(redirects.length);
  }, 90_000);

  test("ioredis Cluster on the client host reads them all, connecting to the advertised addresses", async () => {
    const r = await s.agent.call<{ wrong: string[]; nodes: string[] }>(OPS, "readKeysCluster", [[{ host: hosts[2]!.ip, port: RESP_PORT }], "static", written.acked]);
    expect(r.wrong.slice(0, 5)).toEqual([]);
    expect(r.nodes.sort()).toEqual(hosts.map((h) => `${h.ip}:${RESP_PORT}`).sort());
  }, 90_000);

  test("kill -9 of one host's node (RF=2, W=2) loses no acknowledged key", async () => {
    // a second writer runs while the node dies: whatever it got acknowledged must survive too
    // (bounded by time: 5 s of writes, the kill 1.5 s in)
    const during = s.agent.call<WriteResult>(OPS, "writeKeys", [hosts[0]!.ip, RESP_PORT, "during", 0, 100_000, 50, 5000]);
    await Bun.sleep(1500);
    await s.nodes.get(hosts[1]!.name)!.kill();
    const late = await during;
    const survivors = [hosts[0]!, hosts[2]!];
    await s.agent.call(OPS, "waitCluster", [survivors.map((h) => h.ip), HTTP_PORT, survivors.map((h) => s.peer(h)), 30_000]);
    for (const h of survivors) {
      const wrong = await s.agent.call<string[]>(OPS, "readKeysPlain", [h.ip, RESP_PORT, "static", written.acked]);
      expect(wrong.slice(0, 5)).toEqual([]);
      const wrongLate = await s.agent.call<string[]>(OPS, "readKeysPlain", [h.ip, RESP_PORT, "during", late.acked]);
      expect(wrongLate.slice(0, 5)).toEqual([]);
    }
    const viaCluster = await s.agent.call<{ wrong: string[]; nodes: string[] }>(OPS, "readKeysCluster", [[{ host: hosts[0]!.ip, port: RESP_PORT }], "static", written.acked]);
    expect(viaCluster.wrong.slice(0, 5)).toEqual([]);
    expect(late.acked.length).toBeGreaterThan(0);
    console.log(`kill -9 during writes: ${late.acked.length} acknowledged, ${late.failed} refused or lost in flight (${late.errors[0] ?? ""})`);
  }, 90_000);
});
