/**
 * Replicated writes, like for like: a Redis Cluster of 3 masters with one
 * replica each against 3 shoal nodes keeping 2 copies of every key.
 *
 *   bun bench/replicated-writes.ts [--rounds 5] [--requests 200000] [--clients 50] [--compare-bin OLD] [--no-write]
 *
 * - Asynchronous replication: `redis-benchmark --cluster -t set -c 50 -d 100`
 *   against Redis Cluster (replicas follow asynchronously) and shoal
 *   `--replica-count 2 --replication-mode async`.
 * - Two acknowledged copies: bench/latency-client.ts with `clients` closed-loop
 *   clients routed by CLUSTER SLOTS; against Redis each request is `SET` then
 *   `WAIT 1 0` written together (done when WAIT says one replica has it),
 *   against shoal `--replica-count 2 --write-quorum 2` a plain `SET` (its
 *   reply comes once the replica took it). shoal W=2 under redis-benchmark is
 *   listed too.
 * `--compare-bin` adds the same two shoal systems from another binary (the
 * code before a change), measured in the same rounds. Systems run one at a
 * time, in an order rotated every round, after an untimed warm-up each;
 * medians of the rounds and of the per-round ratios. Writes the
 * "replicated-writes" section of BENCHMARKS.md unless --no-write.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { cleanup, type ShoalMember, shoalBin, startRedisClusterNodes, startShoalCluster } from "./cluster-servers.ts";
import { firstError, quantile, runLatency, slotRouter } from "./latency-client.ts";
import { kops, loadAverage, machineLines, median, table, writeSection } from "./report.ts";
import { type BenchServer, runClient } from "./servers.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    requests: { type: "string", default: "200000" },
    clients: { type: "string", default: "50" },
    "compare-bin": { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const CLIENTS = Number(values.clients);
const KEYSPACE = 100_000;
const VALUE = "x".repeat(100);
const COMPARE = values["compare-bin"];

/** One system: its entry node, every client-facing node (masters), and what it is. */
interface System {
  name: string;
  kind: "redis" | "async" | "w2";
  entry: BenchServer;
  nodes: BenchServer[];
  /** Server processes (for the CPU figure): masters and replicas for Redis. */
  pids: number[];
}

interface Sample {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /** Server CPU (user + system) per request, µs. */
  cpuUs: number;
}

const samples = new Map<string, Sample[]>();
const add = (k: string, s: Sample): void => void samples.set(k, [...(samples.get(k) ?? []), s]);

/** Clock ticks (user + system) used so far by the processes, from /proc/<pid>/stat. */
function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    t += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
  }
  return t;
}
const TICK_US = 1e6 / 100; // USER_HZ

/** redis-benchmark --cluster SET against `s`. */
async function viaRedisBenchmark(s: System): Promise<Sample> {
  const cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", String(s.entry.port), "--cluster"];
  cmd.push("-c", String(CLIENTS), "-d", "100", "-r", String(KEYSPACE), "-n", String(REQUESTS), "-t", "set", "-q", "--csv");
  const t0 = cpuTicks(s.pids);
  const out = await runClient(cmd, s.entry, 600_000);
  const cpuUs = ((cpuTicks(s.pids) - t0) * TICK_US) / REQUESTS;
  for (const line of out.split("\n")) {
    const c = line.split(",").map((x) => x.replace(/"/g, ""));
    if (c[0] === "SET" && Number.isFinite(Number(c[1]))) return { rps: Number(c[1]), p50: Number(c[4]), p95: Number(c[5]), p99: Number(c[6]), cpuUs };
  }
  throw new Error(`redis-benchmark against ${s.name}: unexpected output\n${out}`);
}

/** The closed-loop client: SET + WAIT 1 0 on Redis, SET on shoal; every request must be acknowledged by two copies. */
async function viaWaitClient(s: System): Promise<Sample> {
  const ports = s.nodes.map((n) => n.port);
  const route = await slotRouter(s.entry.port, ports);
  const redis = s.kind === "redis";
  const command = redis ? (k: string) => [["SET", k, VALUE], ["WAIT", "1", "0"]] : (k: string) => ["SET", k, VALUE];
  const check = redis
    ? (r: Parameters<typeof firstError>[0]) => firstError(r) ?? (typeof r[1] === "number" && r[1] >= 1 ? null : `WAIT answered ${JSON.stringify(r[1])}`)
    : firstError;
  const t0 = cpuTicks(s.pids);
  const r = await runLatency({ ports, clients: CLIENTS, total: REQUESTS, keyspace: KEYSPACE, command, route, check });
  const cpuUs = ((cpuTicks(s.pids) - t0) * TICK_US) / r.requests;
  if (r.errors > 0) throw new Error(`${s.name}: ${r.errors} of ${r.requests} requests not acknowledged by 2 copies, first: ${r.firstError}`);
  return { rps: r.requests / r.seconds, p50: quantile(r.latencies, 0.5), p95: quantile(r.latencies, 0.95), p99: quantile(r.latencies, 0.99), cpuUs };
}

/** (system kind, client) pairs measured, in table order. */
const RUNS: { client: "redis-benchmark" | "wait-client"; kinds: System["kind"][] }[] = [
  { client: "redis-benchmark", kinds: ["redis", "async", "w2"] },
  { client: "wait-client", kinds: ["redis", "w2"] },
];

async function shoalSystems(label: string, bin: string): Promise<System[]> {
  const sys = (name: string, kind: System["kind"], m: ShoalMember[]): System => ({ name, kind, entry: m[0]!, nodes: m, pids: m.map((x) => x.pid) });
  const lan = ["--preset", "lan", "--replica-count", "2"];
  const asyncNodes = await startShoalCluster(3, [...lan, "--write-quorum", "1", "--replication-mode", "async"], undefined, bin);
  const w2Nodes = await startShoalCluster(3, [...lan, "--write-quorum", "2"], undefined, bin);
  return [sys(`${label} RF=2 async`, "async", asyncNodes), sys(`${label} RF=2 W=2`, "w2", w2Nodes)];
}

async function main(): Promise<void> {
  const machine = machineLines();
  const redis = await startRedisClusterNodes(3, 1);
  const masters = redis.masters;
  const systems: System[] = [{ name: "Redis Cluster 3+3", kind: "redis", entry: masters[0]!, nodes: masters, pids: redis.all.map((r) => r.pid) }];
  systems.push(...(await shoalSystems("shoal", shoalBin())));
  if (COMPARE) systems.push(...(await shoalSystems("shoal (compare-bin)", COMPARE)));
  console.log(`bench pid ${process.pid}; ${systems.map((s) => `${s.name}: ${s.pids.join(",")}`).join("; ")}; binary ${shoalBin()}${COMPARE ? `, compare ${COMPARE}` : ""}`);
  const jobs = RUNS.flatMap((r) => systems.filter((s) => r.kinds.includes(s.kind)).map((s) => ({ client: r.client, s })));
  for (const s of systems) await viaRedisBenchmark(s); // untimed warm-up: JIT, and every system holds the key space
  for (let round = 0; round < ROUNDS; round++) {
    const order = jobs.map((_, i) => jobs[(i + round * 3) % jobs.length]!);
    for (const { client, s } of order) {
      const sample = client === "redis-benchmark" ? await viaRedisBenchmark(s) : await viaWaitClient(s);
      add(`${client}/${s.name}`, sample);
      console.log(`round ${round + 1}/${ROUNDS} ${client} ${s.name}: ${kops(sample.rps)} ops/s, p95 ${sample.p95.toFixed(3)} ms, ${sample.cpuUs.toFixed(1)} µs CPU/op (load ${loadAverage()})`);
    }
  }
  const rows: string[][] = [];
  const verdicts: string[] = [];
  for (const { client, s } of jobs) {
    const mine = samples.get(`${client}/${s.name}`)!;
    const redis = samples.get(`${client}/Redis Cluster 3+3`)!;
    const ratio = median(mine.map((x) => x.rps)) / median(redis.map((x) => x.rps));
    const perRound = median(mine.map((x, i) => x.rps / redis[i]!.rps));
    const goal = client === "redis-benchmark" ? (s.kind === "async" ? 0.9 : null) : 0.8;
    const anchor = client === "redis-benchmark" ? "async replicas" : "SET + WAIT 1 0";
    rows.push([
      client === "redis-benchmark" ? "redis-benchmark --cluster" : "wait client (owner-routed)",
      s.kind === "redis" ? `${s.name} (${anchor})` : s.name,
      kops(median(mine.map((x) => x.rps))),
      s.kind === "redis" ? "1.00x" : `**${ratio.toFixed(2)}x**${goal ? ` (goal ≥ ${goal}x)` : ""}`,
      s.kind === "redis" ? "-" : `${perRound.toFixed(2)}x`,
      `${median(mine.map((x) => x.p50)).toFixed(3)} / ${median(mine.map((x) => x.p95)).toFixed(3)} / ${median(mine.map((x) => x.p99)).toFixed(3)}`,
      median(mine.map((x) => x.cpuUs)).toFixed(1),
      mine.map((x) => kops(x.rps)).join(" / "),
    ]);
    if (goal && s.kind !== "redis") verdicts.push(`${client} ${s.name}: ${ratio.toFixed(2)}x (per-round ${perRound.toFixed(2)}x) ${ratio >= goal ? "≥" : "<"} ${goal}x`);
  }
  const tbl = table(["client", "system", "SET ops/s (median)", "vs Redis Cluster", "median of per-round ratios", "p50 / p95 / p99 ms", "server CPU µs/op", "runs"], rows);
  console.log(`\n${tbl}\n\n${verdicts.join("\n")}`);
  if (!values["no-write"]) {
    writeSection(
      "replicated-writes",
      [
        "### Replicated writes: 3 shoal nodes with 2 copies vs Redis Cluster 3 masters + 3 replicas",
        "",
        `Medians of ${ROUNDS} rounds of ${REQUESTS.toLocaleString("en-US")} SETs per system and client (100 B values, ${KEYSPACE.toLocaleString("en-US")} random keys,`,
        `${CLIENTS} connections), systems one at a time in an order rotated every round, after an untimed warm-up each.`,
        "Redis: 6 × `redis-server --cluster-enabled yes --save '' --appendonly no`, `redis-cli --cluster create … --cluster-replicas 1`.",
        "shoal: 3 processes of the compiled binary each, `serve --peers A,B,C --preset lan --replica-count 2` with",
        "`--replication-mode async` (*RF=2 async*) or `--write-quorum 2` (*RF=2 W=2*: the reply waits for the replica).",
        "*redis-benchmark*: `redis-benchmark --cluster -c 50 -d 100 -r 100000 -t set`. *wait client*: bench/latency-client.ts,",
        "closed loop, each request sent to the slot's master from CLUSTER SLOTS; on Redis a request is `SET` + `WAIT 1 0`",
        "written together and counts once WAIT reports the replica has it (a WAIT answering 0 fails the run); on shoal W=2 it is",
        "a plain `SET`. Server CPU is user + system time of all the system's server processes (replicas included) per SET.",
        `Generated by \`bun bench/replicated-writes.ts --rounds ${ROUNDS} --requests ${REQUESTS} --clients ${CLIENTS}\`.`,
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
