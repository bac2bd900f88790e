/**
 * Quorum latency: p50/p95/p99 of SET and GET on a 3-process shoal cluster
 * with N=3 copies and write quorum W=2 (read quorum R=1, and R=2 as a third
 * system) against a single shoal node, same client count, unpipelined.
 *
 *   npx bun bench/quorum-latency.ts [--quick] [--rounds 3] [--requests 100000] [--clients 50] [--no-write]
 *
 * Two clients measure every system:
 * - `redis-benchmark -c C -n N -r 100000 -d 100 -t set,get --csv` (its p95/p99),
 *   with `--cluster` when shoal answers CLUSTER SLOTS, else connected to one
 *   node, which forwards the commands it does not own (≈2/3) to their owner;
 * - bench/latency-client.ts: C closed-loop clients that send each request to
 *   the key's owner (as a cluster-aware client does) and record every
 *   request's latency, so the quorum cost is measured without the forwarding hop.
 * Goals: quorum SET p95 ≤ 2× single-node SET p95 (issue 16; seed 004 asked ≤ 3×), GET p95 ≤ 2×.
 * Medians over rounds (systems in rotating order). Uses the compiled binary
 * ($SHOAL_BIN, default dist/shoal); all processes stopped by PID.
 */
import { parseArgs } from "node:util";
import { cleanup, memberPorts, type ShoalMember, shoalBin, speaksClusterSlots, startMember, startShoalCluster, tempDir } from "./cluster-servers.ts";
import { quantile, runLatency, slotRouter } from "./latency-client.ts";
import { loadAverage, machineLines, median, table, writeSection } from "./report.ts";
import { runClient } from "./servers.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    requests: { type: "string" },
    clients: { type: "string", default: "50" },
    "no-write": { type: "boolean", default: false },
  },
});
const quick = values.quick === true;
const ROUNDS = Number(values.rounds ?? (quick ? 1 : 3));
const REQUESTS = Number(values.requests ?? (quick ? 20_000 : 100_000));
const CLIENTS = Number(values.clients);
const KEYSPACE = 100_000;
const VALUE = "x".repeat(100);
const TESTS = ["SET", "GET"] as const;

interface System {
  name: string;
  members: ShoalMember[];
  replicaCount: number;
  cluster: boolean;
}

interface Sample {
  p50: number;
  p95: number;
  p99: number;
  rps: number;
}

const samples = new Map<string, Sample[]>();
const add = (k: string, s: Sample): void => {
  samples.set(k, [...(samples.get(k) ?? []), s]);
};
const keyOf = (client: string, system: string, test: string): string => `${client}/${system}/${test}`;

/** redis-benchmark run: CSV p50/p95/p99 per test. */
async function viaRedisBenchmark(s: System): Promise<void> {
  const entry = s.members[0]!;
  const cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", String(entry.port), ...(s.cluster ? ["--cluster"] : [])];
  cmd.push("-c", String(CLIENTS), "-n", String(REQUESTS), "-r", String(KEYSPACE), "-d", "100", "-t", "set,get", "-q", "--csv");
  const out = await runClient(cmd, entry, 300_000);
  let n = 0;
  for (const line of out.split("\n")) {
    const c = line.split(",").map((x) => x.replace(/"/g, ""));
    if (c.length < 7 || !TESTS.includes(c[0] as "SET") || !Number.isFinite(Number(c[1]))) continue;
    add(keyOf("redis-benchmark", s.name, c[0]!), { rps: Number(c[1]), p50: Number(c[4]), p95: Number(c[5]), p99: Number(c[6]) });
    n++;
  }
  if (n !== TESTS.length) throw new Error(`redis-benchmark against ${s.name}: unexpected output\n${out}`);
}

/** Owner-routed closed-loop client: every request's latency. */
async function viaOwnerClient(s: System): Promise<void> {
  // the owners the cluster itself announces (CLUSTER SLOTS): the agreed table, whatever built it
  const route = s.members.length === 1 ? () => 0 : await slotRouter(s.members[0]!.port, s.members.map((m) => m.port));
  for (const test of TESTS) {
    const command = test === "SET" ? (k: string) => ["SET", k, VALUE] : (k: string) => ["GET", k];
    const r = await runLatency({ ports: s.members.map((m) => m.port), clients: CLIENTS, total: REQUESTS, keyspace: KEYSPACE, command, route });
    if (r.errors > 0) throw new Error(`${s.name} ${test}: ${r.errors} errors, first: ${r.firstError}`);
    add(keyOf("owner-routed", s.name, test), {
      rps: r.requests / r.seconds,
      p50: quantile(r.latencies, 0.5),
      p95: quantile(r.latencies, 0.95),
      p99: quantile(r.latencies, 0.99),
    });
  }
}

async function main(): Promise<void> {
  const machine = machineLines();
  const dir = tempDir("shoal-quorum-");
  const [single] = await memberPorts(1);
  const singleNode = await startMember(single!, [], [], dir);
  const w2 = await startShoalCluster(3, ["--replica-count", "3", "--write-quorum", "2", "--read-quorum", "1", "--preset", "lan"], dir);
  const r2 = await startShoalCluster(3, ["--replica-count", "3", "--write-quorum", "2", "--read-quorum", "2", "--preset", "lan"], dir);
  const clusterMode = speaksClusterSlots(w2[0]!.port);
  const systems: System[] = [
    { name: "single node", members: [singleNode], replicaCount: 1, cluster: false },
    { name: "N=3 W=2 R=1", members: w2, replicaCount: 3, cluster: clusterMode },
    { name: "N=3 W=2 R=2", members: r2, replicaCount: 3, cluster: clusterMode },
  ];
  console.log(`bench pid ${process.pid}; binary ${shoalBin()}; pids ${systems.map((s) => `${s.name}: ${s.members.map((m) => m.pid).join(",")}`).join("; ")}`);
  console.log(clusterMode ? "redis-benchmark --cluster against the clusters" : "shoal has no CLUSTER SLOTS: redis-benchmark connects to one cluster node (forwarding)");
  for (const s of systems) await viaOwnerClient(s); // warm-up (JIT, key space filled), discarded
  samples.clear();
  for (let round = 0; round < ROUNDS; round++) {
    const order = systems.map((_, i) => systems[(i + round) % systems.length]!);
    for (const s of order) {
      await viaRedisBenchmark(s);
      await viaOwnerClient(s);
      const show = (c: string): string => TESTS.map((t) => `${t} p95 ${samples.get(keyOf(c, s.name, t))!.at(-1)!.p95.toFixed(3)}`).join(", ");
      console.log(`round ${round + 1}/${ROUNDS} ${s.name}: redis-benchmark ${show("redis-benchmark")}; owner-routed ${show("owner-routed")} (load ${loadAverage()})`);
    }
  }
  const rows: string[][] = [];
  const verdicts: string[] = [];
  const med = (k: string, f: (s: Sample) => number): number => median(samples.get(k)!.map(f));
  for (const client of ["owner-routed", "redis-benchmark"]) {
    for (const test of TESTS) {
      const base = med(keyOf(client, "single node", test), (s) => s.p95);
      for (const s of systems) {
        const k = keyOf(client, s.name, test);
        const p95 = med(k, (x) => x.p95);
        const ratio = p95 / base;
        const goal = 2;
        const shown = s.name === "single node" ? "1.00x" : `**${ratio.toFixed(2)}x** (goal ≤ ${goal}x)`;
        rows.push([
          client === "redis-benchmark" && s.name !== "single node" && !s.cluster ? "redis-benchmark (via one node)" : client,
          test,
          s.name,
          `${(med(k, (x) => x.rps) / 1000).toFixed(1)}k`,
          med(k, (x) => x.p50).toFixed(3),
          p95.toFixed(3),
          med(k, (x) => x.p99).toFixed(3),
          shown,
          samples
            .get(k)!
            .map((x) => x.p95.toFixed(3))
            .join(" / "),
        ]);
        if (s.name !== "single node") verdicts.push(`${client} ${test} ${s.name}: ${ratio.toFixed(2)}x ${ratio <= goal ? "≤" : ">"} ${goal}x`);
      }
    }
  }
  const tbl = table(["client", "test", "system", "ops/s", "p50 ms", "p95 ms", "p99 ms", "p95 vs single", "p95 runs"], rows);
  console.log(`\n${tbl}\n\n${verdicts.join("\n")}`);
  if (!values["no-write"]) {
    writeSection(
      "quorum-latency",
      [
        "### Quorum latency (N=3, W=2) vs a single node",
        "",
        `${CLIENTS} clients, unpipelined, ${REQUESTS.toLocaleString("en-US")} requests per test and system, 100 B values, ${KEYSPACE.toLocaleString("en-US")} random keys; SET before GET.`,
        "Systems: one shoal process without peers; 3 processes with `--replica-count 3 --write-quorum 2` and `--read-quorum 1`",
        "or `--read-quorum 2` (a GET then asks one replica too and repairs stale copies). *owner-routed* is bench/latency-client.ts,",
        "which sends each request straight to the key's owner and records every latency (what a cluster-aware client sees);",
        clusterMode
          ? "*redis-benchmark* runs with `--cluster` against the clusters (p50/p95/p99 from its CSV)."
          : "*redis-benchmark* connects to **one** cluster node, which forwards about 2/3 of the commands to their owner (shoal had no CLUSTER SLOTS when this ran), so its rows add a forwarding hop.",
        `Medians over ${ROUNDS} round(s), systems in rotating order, after one discarded warm-up pass.`,
        `Generated by \`npx bun bench/quorum-latency.ts --rounds ${ROUNDS} --requests ${REQUESTS} --clients ${CLIENTS}\`.`,
        "",
        ...machine,
        `- load average after the run ${loadAverage()}`,
        "",
        tbl,
      ].join("\n"),
    );
  }
}

try {
  await main();
} finally {
  await cleanup();
}
