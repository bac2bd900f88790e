/**
 * Throughput of a 3-node shoal cluster vs a 3-master Redis Cluster on this
 * machine, with redis-benchmark and the same client count.
 *
 *   npx bun bench/cluster-vs-redis-cluster.ts [--quick] [--rounds 3] [--requests 300000] [--no-write]
 *
 * Redis: 3 × `redis-server --cluster-enabled yes` (own temp dirs, persistence
 * off) joined by `redis-cli --cluster create … --cluster-replicas 0`, driven
 * with `redis-benchmark --cluster`. shoal: two 3-process clusters from the
 * compiled binary ($SHOAL_BIN, default dist/shoal) with static peers, RF=1
 * (like for like) and RF=2/W=2. When shoal answers CLUSTER SLOTS it is driven
 * with `--cluster` too; otherwise redis-benchmark talks to one shoal node,
 * which forwards each command to its partition owner (noted in the output).
 * SET and GET, unpipelined and -P 16, alternating the order each round;
 * medians and ratios shoal/redis-cluster. Writes the "cluster-vs-redis-cluster"
 * section of BENCHMARKS.md unless --no-write.
 */
import { parseArgs } from "node:util";
import { cleanup, clusterFlags, shoalBin, speaksClusterSlots, startRedisCluster, startShoalCluster } from "./cluster-servers.ts";
import { kops, loadAverage, machineLines, median, table, writeSection } from "./report.ts";
import { type BenchServer, runClient } from "./servers.ts";

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
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const requests = Number(values.requests ?? (quick ? 50_000 : 300_000));
const clients = Number(values.clients);
const PIPELINES = [1, 16];
const TESTS = ["SET", "GET"] as const;

/** One system under test: a name, the node redis-benchmark connects to, and whether it runs in --cluster mode. */
interface Target {
  name: string;
  entry: BenchServer;
  cluster: boolean;
}

/** redis-benchmark arguments (without host/port/--cluster) for one pipeline depth. */
function benchArgs(pipeline: number): string[] {
  const args = ["-c", String(clients), "-d", "100", "-r", "100000", "-n", String(requests), "-t", "set,get"];
  if (pipeline > 1) args.push("-P", String(pipeline));
  return [...args, "-q", "--csv"];
}

interface Row {
  rps: number;
  p50: number;
  p99: number;
}

/** Runs redis-benchmark once against `t`; returns test name → figures. */
async function runOnce(t: Target, pipeline: number): Promise<Map<string, Row>> {
  const cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", String(t.entry.port), ...(t.cluster ? ["--cluster"] : []), ...benchArgs(pipeline)];
  const out = await runClient(cmd, t.entry, 300_000);
  const rows = new Map<string, Row>();
  for (const line of out.split("\n")) {
    const cells = line.split(",").map((c) => c.replace(/"/g, ""));
    const rps = Number(cells[1]);
    if (cells.length >= 7 && Number.isFinite(rps) && cells[0] !== "test") rows.set(cells[0]!, { rps, p50: Number(cells[4]), p99: Number(cells[6]) });
  }
  if (rows.size !== TESTS.length) throw new Error(`redis-benchmark against ${t.name}: unexpected output\n${out}`);
  return rows;
}

async function main(): Promise<void> {
  const machine = machineLines();
  const redisNodes = await startRedisCluster(3);
  const rf1 = await startShoalCluster(3, clusterFlags(1, 1));
  const rf2 = await startShoalCluster(3, clusterFlags(2, 2));
  const shoalCluster = speaksClusterSlots(rf1[0]!.port);
  const targets: Target[] = [
    { name: "redis-cluster", entry: redisNodes[0]!, cluster: true },
    { name: "shoal RF=1", entry: rf1[0]!, cluster: shoalCluster },
    { name: "shoal RF=2 W=2", entry: rf2[0]!, cluster: shoalCluster },
  ];
  const pids = (xs: BenchServer[]): string => xs.map((s) => `${s.pid}:${s.port}`).join(" ");
  console.log(`bench pid ${process.pid}; redis ${pids(redisNodes)}; shoal RF=1 ${pids(rf1)}; shoal RF=2 ${pids(rf2)}; binary ${shoalBin()}`);
  console.log(shoalCluster ? "shoal answers CLUSTER SLOTS: --cluster mode for all" : "shoal has no CLUSTER SLOTS: redis-benchmark talks to one shoal node (which forwards to owners)");
  for (const t of targets) await runOnce(t, 16); // untimed warm-up: JIT, and every target holds the key space
  const samples = new Map<string, Row[]>();
  const key = (s: string, p: number, t: string): string => `${s}/${p}/${t}`;
  for (let round = 0; round < rounds; round++) {
    for (const pipeline of PIPELINES) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const rows = await runOnce(t, pipeline);
        for (const [test, row] of rows) {
          const k = key(t.name, pipeline, test);
          samples.set(k, [...(samples.get(k) ?? []), row]);
        }
        console.log(`round ${round + 1}/${rounds} P=${pipeline} ${t.name}: ${[...rows].map(([n, r]) => `${n} ${kops(r.rps)}`).join(", ")} (load ${loadAverage()})`);
      }
    }
  }
  const out: string[][] = [];
  for (const pipeline of PIPELINES) {
    for (const test of TESTS) {
      const redis = samples.get(key("redis-cluster", pipeline, test))!;
      const rr = median(redis.map((x) => x.rps));
      for (const t of targets) {
        const s = samples.get(key(t.name, pipeline, test))!;
        const sr = median(s.map((x) => x.rps));
        out.push([
          test,
          String(pipeline),
          t.name,
          t.cluster ? "--cluster" : "one node",
          kops(sr),
          t.name === "redis-cluster" ? "1.00x" : `**${(sr / rr).toFixed(2)}x**`,
          // runs of the same round are minutes apart at most: their ratio is less exposed to load drift on a shared machine
          t.name === "redis-cluster" ? "-" : `${median(s.map((x, i) => x.rps / redis[i]!.rps)).toFixed(2)}x`,
          `${median(s.map((x) => x.p50)).toFixed(3)} / ${median(s.map((x) => x.p99)).toFixed(3)}`,
          s.map((x) => kops(x.rps)).join(" / "),
        ]);
      }
    }
  }
  const tbl = table(["test", "pipeline", "system", "redis-benchmark mode", "ops/s (median)", "vs redis-cluster", "median of per-round ratios", "p50 / p99 ms", "runs (round order)"], out);
  console.log(`\n${tbl}`);
  if (!values["no-write"]) {
    const mode = shoalCluster
      ? "shoal answered CLUSTER SLOTS, so all three run with `redis-benchmark --cluster`."
      : "shoal did not answer CLUSTER SLOTS yet, so redis-benchmark connects to **one** shoal node, which runs the commands it owns and forwards the others (about 2/3) to their owners over the peer port; Redis Cluster runs with `--cluster` (clients spread over the 3 masters, each command sent to its slot's master).";
    writeSection(
      "cluster-vs-redis-cluster",
      [
        "### 3-node shoal vs a 3-master Redis Cluster",
        "",
        `Medians of ${rounds} rounds, order reversed every round, after one untimed -P 16 warm-up per system. Each run is`,
        `\`redis-benchmark -h 127.0.0.1 -p PORT [--cluster] ${benchArgs(1).join(" ")}\` and the same with \`-P 16\`.`,
        "Redis: 3 × `redis-server --cluster-enabled yes --save '' --appendonly no`, created with `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`.",
        "shoal: 3 processes of the compiled binary with static peers (`serve --peers A,B,C --preset lan`), `--replica-count 1` and, as a second system,",
        `\`--replica-count 2 --write-quorum 2\`. ${mode}`,
        `Generated by \`npx bun bench/cluster-vs-redis-cluster.ts --rounds ${rounds} --requests ${requests}\`.`,
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
