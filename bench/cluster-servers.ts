/**
 * Clusters for the benchmarks: a shoal cluster of compiled-binary processes
 * with static peers, and a redis-server Redis Cluster (`--cluster-enabled yes`,
 * created with `redis-cli --cluster create`). Every process goes through
 * servers.ts's `launch`, so `stopAll()` (called from finally and on Ctrl-C)
 * stops them by PID; temp directories are removed by `removeTempDirs()`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchServer, freePort, launch, stopAll } from "./servers.ts";

/** A shoal cluster member the benchmark started. */
export interface ShoalMember extends BenchServer {
  httpPort: number;
  /** Peer address, also the member name. */
  peer: string;
  /** File with the node's stdout + stderr. */
  logFile: string;
}

const tempDirs: string[] = [];
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** A fresh temp directory removed by {@link cleanup}. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Stops every process (servers.ts registry) and removes the temp directories. */
export async function cleanup(): Promise<void> {
  await stopAll();
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** The shoal binary the cluster benchmarks run: $SHOAL_BIN, default dist/shoal. */
export const shoalBin = (): string => resolve(repoRoot, process.env.SHOAL_BIN ?? "dist/shoal");

/** Our environment without SHOAL_* variables (they would configure the children). */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SHOAL_")) env[k] = v;
  return env;
}

/** Ports and the peer address for one shoal member, picked before any is started. */
export interface MemberPorts {
  port: number;
  httpPort: number;
  peerPort: number;
  peer: string;
}

/** Free ports for `n` members. */
export async function memberPorts(n: number): Promise<MemberPorts[]> {
  const out: MemberPorts[] = [];
  for (let i = 0; i < n; i++) {
    const peerPort = await freePort();
    out.push({ port: await freePort(), httpPort: await freePort(), peerPort, peer: `127.0.0.1:${peerPort}` });
  }
  return out;
}

/** Starts one shoal member from binary `bin` (a single node when `peers` is empty); resolves once it answers PING (not necessarily ready, within `startTimeoutMs`, default 10 s). */
export async function startMember(p: MemberPorts, peers: string[], flags: string[], dir: string, bin = shoalBin(), startTimeoutMs?: number): Promise<ShoalMember> {
  const logFile = join(dir, `shoal-${p.port}.log`);
  const cmd = [
    bin,
    "serve",
    "--bind",
    "127.0.0.1",
    "--port",
    String(p.port),
    "--http-port",
    String(p.httpPort),
    "--peer-port",
    String(p.peerPort),
    ...(peers.length > 0 ? ["--peers", peers.join(",")] : []),
    "--log-level",
    "info",
    "--log-format",
    "json",
    ...flags,
  ];
  const s = await launch("shoal", cmd, p.port, { logFile, env: childEnv(), startTimeoutMs });
  return Object.assign(s, { httpPort: p.httpPort, peer: p.peer, logFile });
}

/** True once GET /readyz answers 200. */
export async function isReady(m: { httpPort: number }): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${m.httpPort}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

/** Polls `fn` every `stepMs` until true; throws after `timeoutMs` with `what`. */
export async function until(fn: () => Promise<boolean> | boolean, timeoutMs: number, what: string, stepMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await fn()) return;
    await Bun.sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Last "partition table rebuilt" member count in a member's log (0 if none yet). */
export function tableMembers(m: ShoalMember): number {
  const lines = readFileSync(m.logFile, "utf8").split("\n").filter((l) => l.includes("partition table rebuilt"));
  const last = lines.at(-1);
  return last ? Number(/"members":(\d+)/.exec(last)?.[1] ?? 0) : 0;
}

/**
 * Starts an `n`-member shoal cluster (static peers, every member lists all
 * peers) from binary `bin` (default {@link shoalBin}) and waits until every member's table has all members and /readyz is 200.
 */
export async function startShoalCluster(n: number, flags: string[], dir = tempDir("shoal-bench-"), bin = shoalBin()): Promise<ShoalMember[]> {
  const ports = await memberPorts(n);
  const peers = ports.map((p) => p.peer);
  const members: ShoalMember[] = [];
  for (const p of ports) members.push(await startMember(p, peers, flags, dir, bin));
  await until(() => members.every((m) => tableMembers(m) === n), 20_000, `${n} shoal members to see each other`);
  for (const m of members) await until(() => isReady(m), 20_000, `shoal ${m.port} /readyz`);
  return members;
}

/** The flags that make a shoal cluster with replica count `rf` and write quorum `w`. */
export const clusterFlags = (rf: number, w: number): string[] => ["--replica-count", String(rf), "--write-quorum", String(w), "--preset", "lan"];

/** Runs redis-cli with `args`; returns stdout (throws on a non-zero exit). */
export function redisCli(port: number, args: string[], timeoutMs = 30_000): string {
  const r = Bun.spawnSync(["redis-cli", "-h", "127.0.0.1", "-p", String(port), ...args], { timeout: timeoutMs });
  if (r.exitCode !== 0) throw new Error(`redis-cli -p ${port} ${args.join(" ")}: exit ${r.exitCode}\n${r.stderr.toString()}`);
  return r.stdout.toString();
}

/**
 * Starts `n` redis-server masters (plus `replicas` replicas of each) with
 * `--cluster-enabled yes` (each in its own temp dir, persistence off),
 * creates the cluster with `redis-cli --cluster create … --cluster-replicas
 * <replicas> --cluster-yes` and waits for `cluster_state:ok` on every node
 * and, with replicas, for every master to see its replicas online. Returns
 * the masters (clients connect to these); every process is stopped by
 * {@link cleanup}.
 */
export async function startRedisCluster(n: number, replicas = 0): Promise<BenchServer[]> {
  return (await startRedisClusterNodes(n, replicas)).masters;
}

/** {@link startRedisCluster}, returning the replicas' processes too. */
export async function startRedisClusterNodes(n: number, replicas: number): Promise<{ masters: BenchServer[]; all: BenchServer[] }> {
  const nodes: BenchServer[] = [];
  for (let i = 0; i < n * (1 + replicas); i++) {
    const dir = tempDir("redis-cluster-");
    const port = await freePort();
    const cmd = [
      "redis-server",
      "--save",
      "",
      "--appendonly",
      "no",
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      join(dir, "nodes.conf"),
      "--dir",
      dir,
    ];
    nodes.push(await launch("redis", cmd, port, { logFile: join(dir, "redis.log") }));
  }
  const addrs = nodes.map((s) => `127.0.0.1:${s.port}`);
  const create = Bun.spawnSync(["redis-cli", "--cluster", "create", ...addrs, "--cluster-replicas", String(replicas), "--cluster-yes"], { timeout: 60_000 });
  if (create.exitCode !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
  await until(() => nodes.every((s) => redisCli(s.port, ["cluster", "info"]).includes("cluster_state:ok")), 30_000, "redis cluster_state:ok", 100);
  const masters = nodes.filter((s) => redisCli(s.port, ["info", "replication"]).includes("role:master"));
  if (masters.length !== n) throw new Error(`redis cluster: expected ${n} masters, found ${masters.length}`);
  const online = (s: BenchServer): boolean => (redisCli(s.port, ["info", "replication"]).match(/slave\d+:.*state=online/g) ?? []).length === replicas;
  await until(() => masters.every(online), 30_000, `${replicas} online replica(s) per redis master`, 100);
  return { masters, all: nodes };
}

/** Whether `port` answers CLUSTER SLOTS with a slot map (a Redis Cluster aware server). */
export function speaksClusterSlots(port: number): boolean {
  const r = Bun.spawnSync(["redis-cli", "-h", "127.0.0.1", "-p", String(port), "cluster", "slots"], { timeout: 10_000 });
  const out = r.stdout.toString().trim();
  return r.exitCode === 0 && out.length > 0 && !/^(ERR|\(error\))/i.test(out);
}
