/**
 * /metrics cluster families, GET /v1/cluster and STATS on real ClusterNodes
 * in one process: SimClock + MemoryNetwork, so failure detection runs in
 * simulated time.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { formatStats } from "../../../cmd/stats.ts";
import { SeededRng } from "../../../core/clock.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { type ClusterSnapshot, clusterSnapshot, memberId } from "../../../core/cluster/view.ts";
import type { Logger } from "../../../core/discovery.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";
import { type Family, parseExposition } from "./exposition.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const PARTITIONS = 31;

interface LogLine {
  on: string;
  level: string;
  event: string;
  fields: Record<string, unknown>;
}

interface Harness {
  clock: SimClock;
  net: MemoryNetwork;
  names: string[];
  nodes: ShoalNode[];
  clusters: ClusterNode[];
  logs: LogLine[];
  /** Advances simulated time in 10 ms steps until `done()` (at most `limitMs`); returns whether it held. */
  runUntil(done: () => boolean, limitMs: number): Promise<boolean>;
  /** Awaits `p` while advancing simulated time (at most 10 s of it). */
  settle<T>(p: Promise<T>): Promise<T>;
}

const live: Harness[] = [];

afterEach(async () => {
  for (const h of live.splice(0)) {
    for (const c of h.clusters) await c.stop();
    for (const n of h.nodes) n.stop();
  }
});

async function startCluster(size: number): Promise<Harness> {
  const clock = new SimClock();
  const net = new MemoryNetwork({ clock, latencyMs: 1 });
  const names = Array.from({ length: size }, (_, i) => `10.0.0.${i + 1}:3322`);
  const timings = membershipTimings("lan");
  const logs: LogLine[] = [];
  const nodes: ShoalNode[] = [];
  const clusters: ClusterNode[] = [];
  for (let i = 0; i < size; i++) {
    const node = new ShoalNode({ clock, rng: new SeededRng(i + 1), config: { partitionCount: PARTITIONS, nodeName: `n${i}` } });
    node.start();
    const log = (level: string): Logger["info"] => (event, fields) => logs.push({ on: names[i]!, level, event, fields: fields ?? {} });
    const c = new ClusterNode({
      node,
      transport: net.transport(),
      clock,
      rng: new SeededRng(100 + i),
      self: names[i]!,
      seeds: [names[0]!],
      timings,
      replicaCount: 2,
      writeQuorum: 2,
      memberCountQuorum: 2,
      partitionCount: PARTITIONS,
      peerTimeoutMs: 500,
      log: { info: log("info"), warn: log("warn"), error: log("error") },
    });
    node.clusterView = () => clusterSnapshot(c);
    nodes.push(node);
    clusters.push(c);
  }
  const runUntil = async (done: () => boolean, limitMs: number) => {
    for (let t = 0; t < limitMs; t += 10) {
      if (done()) return true;
      await clock.advance(10);
    }
    return done();
  };
  const settle = async <T>(p: Promise<T>): Promise<T> => {
    let finished = false;
    const watched = p.finally(() => {
      finished = true;
    });
    await runUntil(() => finished, 10_000);
    return watched;
  };
  const started = Promise.all(clusters.map((c) => c.start()));
  const h: Harness = { clock, net, names, nodes, clusters, logs, runUntil, settle };
  live.push(h);
  await settle(started);
  expect(await runUntil(() => nodes.every((n) => n.ready) && clusters.every((c) => c.partitions?.members.length === size), 10_000)).toBe(true);
  return h;
}

/** Sends one command through a fresh client session; resolves with the raw reply. */
function call(node: ShoalNode, ...argv: string[]): Promise<string> {
  return new Promise((resolve) => {
    const s = new ClientSession(node, {
      write: (b) => {
        resolve(dec.decode(b));
        s.onClose();
      },
      close() {},
      remote: "test",
    });
    let wire = `*${argv.length}\r\n`;
    for (const a of argv) wire += `$${enc.encode(a).length}\r\n${a}\r\n`;
    s.onData(enc.encode(wire));
  });
}

const appFor = (node: ShoalNode) => createHttpApp(node, { cluster: () => node.clusterView?.() });

async function metricsOf(node: ShoalNode): Promise<Map<string, Family>> {
  const r = await appFor(node).request("http://shoal.test/metrics");
  expect(r.status).toBe(200);
  return parseExposition(await r.text());
}

const value = (fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number => {
  const f = fams.get(name);
  if (!f) throw new Error(`no family ${name}`);
  const s = f.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (!s) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return s.value;
};

describe("cluster metrics (3 ClusterNodes, simulated clock, memory transport)", () => {
  test("membership, partitions, epoch, quorum and router counters are exposed and follow events: a killed member turns dead", async () => {
    const h = await startCluster(3);
    await h.clock.advance(3000); // a few probe rounds
    const fams = await metricsOf(h.nodes[0]!);
    expect(fams.get("shoal_cluster_members")!.type).toBe("gauge");
    expect(value(fams, "shoal_cluster_members", { status: "alive" })).toBe(3);
    for (const status of ["suspect", "dead", "left"]) expect(value(fams, "shoal_cluster_members", { status })).toBe(0);
    expect(value(fams, "shoal_cluster_partitions")).toBe(PARTITIONS);
    expect(value(fams, "shoal_cluster_quorum_met")).toBe(1);
    expect(value(fams, "shoal_cluster_syncing")).toBe(0);
    expect(value(fams, "shoal_cluster_replica_count")).toBe(2);
    expect(value(fams, "shoal_cluster_write_quorum")).toBe(2);
    expect(value(fams, "shoal_cluster_member_quorum")).toBe(2);
    const epoch0 = value(fams, "shoal_cluster_table_epoch");
    expect(epoch0).toBe(h.clusters[0]!.partitions!.epoch);
    expect(value(fams, "shoal_cluster_membership_probes_total")).toBeGreaterThan(0);
    expect(fams.get("shoal_cluster_membership_probes_total")!.type).toBe("counter");
    // owned and replica counts over the three nodes add up to the table
    let owned = 0;
    let replica = 0;
    for (const n of h.nodes) {
      const f = await metricsOf(n);
      owned += value(f, "shoal_cluster_partitions_owned");
      replica += value(f, "shoal_cluster_partitions_replica");
    }
    expect(owned).toBe(PARTITIONS);
    expect(replica).toBe(PARTITIONS);

    // writes through node 0 forward and replicate: the router counters move
    for (let i = 0; i < 20; i++) expect(await h.settle(call(h.nodes[0]!, "SET", `k${i}`, "v"))).toBe("+OK\r\n");
    const afterWrites = await metricsOf(h.nodes[0]!);
    expect(value(afterWrites, "shoal_cluster_router_forwarded_total")).toBeGreaterThan(0);
    const replicatedSomewhere = await Promise.all(h.nodes.map(async (n) => value(await metricsOf(n), "shoal_cluster_router_replicated_total")));
    expect(replicatedSomewhere.reduce((a, b) => a + b, 0)).toBe(20);
    expect(value(afterWrites, "shoal_cluster_router_quorum_failures_total")).toBe(0);

    // kill node 2 (cut off first, so probes time out rather than being refused)
    const victim = h.names[2]!;
    h.net.setFilter((from, to) => from !== victim && to !== victim);
    await h.clusters[2]!.stop();
    h.nodes[2]!.stop();
    // dead to SWIM, and (consensus) dropped from the committed table that follows
    const seesDead = () => h.clusters.slice(0, 2).every((c) => c.membership.member(victim)?.status === "dead" && !c.partitions?.members.includes(victim));
    expect(await h.runUntil(seesDead, 30_000)).toBe(true);
    const after = await metricsOf(h.nodes[0]!);
    expect(value(after, "shoal_cluster_members", { status: "alive" })).toBe(2);
    expect(value(after, "shoal_cluster_members", { status: "dead" })).toBe(1);
    expect(value(after, "shoal_cluster_member_events_total", { type: "dead" })).toBe(1);
    expect(value(after, "shoal_cluster_member_events_total", { type: "suspect" })).toBeGreaterThanOrEqual(1);
    expect(value(after, "shoal_cluster_table_epoch")).toBeGreaterThan(epoch0);
    const survivors = await Promise.all(h.nodes.slice(0, 2).map(metricsOf));
    expect(survivors.reduce((a, f) => a + value(f, "shoal_cluster_partitions_owned"), 0)).toBe(PARTITIONS);
    // 2 live members still meet member_count_quorum 2
    expect(value(after, "shoal_cluster_quorum_met")).toBe(1);

    // the logs say why: a failed probe on one survivor's own evidence, and the suspicion timeout
    const suspect = h.logs.filter((l) => l.event === "member suspect" && l.fields.member === victim);
    expect(suspect.every((l) => l.level === "warn")).toBe(true);
    const ownEvidence = suspect.map((l) => String(l.fields.reason)).find((r) => r.startsWith("no ack"));
    expect(ownEvidence).toMatch(/^no ack to direct probe within \d+ms and no indirect ack within \d+ms via 1 of 3 helpers \(10\.0\.0\.\d:3322\)$/);
    const dead = h.logs.filter((l) => l.event === "member dead" && l.fields.member === victim).map((l) => String(l.fields.reason));
    expect(dead.length).toBe(2);
    expect(dead.some((r) => /^suspicion timeout \d+\.\ds expired with no refutation \(\d\/\d confirmations\); no ack to direct probe within /.test(r))).toBe(true);
  });

  test("router counters appear through the generic loop, including fields added later", async () => {
    const h = await startCluster(2);
    (h.clusters[0]!.router.stats as unknown as Record<string, number>).someNewCounter = 7;
    const fams = await metricsOf(h.nodes[0]!);
    expect(value(fams, "shoal_cluster_router_some_new_counter_total")).toBe(7);
    expect(fams.get("shoal_cluster_router_some_new_counter_total")!.type).toBe("counter");
  });

  test("a single node's /metrics has no cluster families", async () => {
    const node = new ShoalNode({ clock: new SimClock(), rng: new SeededRng(1) });
    node.start();
    const fams = await metricsOf(node);
    expect([...fams.keys()].filter((k) => k.startsWith("shoal_cluster_"))).toEqual([]);
    node.stop();
  });
});

describe("GET /v1/cluster and STATS (cluster view)", () => {
  test("every member with id, status, incarnation, partition counts; settings, epoch, migration and counters", async () => {
    const h = await startCluster(3);
    const views: ClusterSnapshot[] = [];
    for (const n of h.nodes) {
      const r = await appFor(n).request("http://shoal.test/v1/cluster");
      expect(r.status).toBe(200);
      views.push((await r.json()) as ClusterSnapshot);
    }
    const v = views[0]!;
    expect(v).toMatchObject({
      self: h.names[0],
      id: memberId(h.names[0]!),
      ready: true,
      syncing: false,
      partitionCount: PARTITIONS,
      replicaCount: 2,
      writeQuorum: 2,
      readQuorum: 1,
      memberCountQuorum: 2,
      replicationMode: "sync",
      liveMembers: 3,
      quorumMet: true,
      epoch: h.clusters[0]!.partitions!.epoch,
      migration: { syncing: false, rebalancing: false },
      tombstones: 0,
    });
    expect(v.members.map((m) => m.name)).toEqual([...h.names].sort());
    expect(v.members.filter((m) => m.self).map((m) => m.name)).toEqual([h.names[0]!]);
    for (const m of v.members) {
      expect(m.id).toMatch(/^[0-9a-f]{40}$/);
      expect(m.status).toBe("alive");
      expect(m.incarnation).toBe(0);
      expect(m.since).toBeGreaterThanOrEqual(1_700_000_000_000);
      expect(m.keys === undefined).toBe(!m.self);
    }
    expect(v.members.reduce((a, m) => a + m.ownedPartitions, 0)).toBe(PARTITIONS);
    expect(v.members.reduce((a, m) => a + m.replicaPartitions, 0)).toBe(PARTITIONS);
    // ids are the same on every node; views agree
    for (const w of views) {
      expect(w.members.map((m) => [m.name, m.id, m.ownedPartitions])).toEqual(v.members.map((m) => [m.name, m.id, m.ownedPartitions]));
      expect(w.membershipChecksum).toBe(v.membershipChecksum);
    }
    expect(new Set(v.members.map((m) => m.id)).size).toBe(3);
    // the same ids as CLUSTER MYID / CLUSTER NODES
    expect(await h.settle(call(h.nodes[0]!, "CLUSTER", "MYID"))).toContain(v.id);
    expect(Object.keys(v.router)).toEqual(expect.arrayContaining(["forwarded", "forwardFailures", "replicated", "quorumFailures", "crossSlot"]));
    expect(Object.keys(v.membership)).toEqual(expect.arrayContaining(["probes", "probeFailures"]));

    // STATS (what `shoal stats` reads) carries the same view
    const stats = JSON.parse((await h.settle(call(h.nodes[1]!, "STATS"))).split("\r\n")[1]!) as { cluster: ClusterSnapshot; keys: number };
    expect(stats.cluster.self).toBe(h.names[1]);
    expect(stats.cluster.members.length).toBe(3);
    // ...which `shoal stats` prints as a members table
    const printed = formatStats(stats as unknown as Record<string, unknown>);
    expect(printed).toContain("members (3; * = this node)");
    expect(printed).toMatch(/address\s+status\s+inc\s+owned\s+replica\s+keys\s+id/);
    expect(printed).toMatch(new RegExp(`${h.names[1]!.replace(/\./g, "\\.")} \\*\\s+alive\\s+0\\s+\\d+\\s+\\d+\\s+${stats.keys}\\s`));
    expect(printed).toMatch(/epoch \d+, 31 partitions/);

    // a crashed member shows as dead with no partitions; the incarnation stays put
    const victim = h.names[1]!;
    await h.clusters[1]!.stop();
    h.nodes[1]!.stop();
    const gone0 = () => h.clusters[0]!.membership.member(victim)?.status === "dead" && !h.clusters[0]!.partitions?.members.includes(victim);
    expect(await h.runUntil(gone0, 30_000)).toBe(true);
    const after = (await (await appFor(h.nodes[0]!).request("http://shoal.test/v1/cluster")).json()) as ClusterSnapshot;
    const gone = after.members.find((m) => m.name === victim)!;
    expect(gone).toMatchObject({ status: "dead", ownedPartitions: 0, replicaPartitions: 0, self: false });
    expect(after.liveMembers).toBe(2);
    expect(after.epoch).toBeGreaterThan(v.epoch);
    expect(after.events.dead).toBe(1);
  });

  test("a node without a cluster still answers with itself alone, and STATS has no cluster field", async () => {
    const node = new ShoalNode({ clock: new SimClock(), rng: new SeededRng(1), config: { nodeName: "solo" } });
    node.start();
    const body = (await (await appFor(node).request("http://shoal.test/v1/cluster")).json()) as { members: unknown[] };
    expect(body.members).toEqual([{ id: "solo", self: true, ready: true, keys: 0 }]);
    const stats = JSON.parse((await call(node, "STATS")).split("\r\n")[1]!) as Record<string, unknown>;
    expect("cluster" in stats).toBe(false);
    node.stop();
  });
});
