/**
 * Edge-cache hit throughput of one shoal node against nginx proxy_cache and
 * Varnish, all in front of the same local origin (bench/edge/origin.ts), in
 * the same run: `wrk -t1 -c<connections>` for `--seconds` per round; the
 * targets take turns within each round and the median of `--rounds` rounds
 * is reported, as ratios to nginx with one worker (shoal serves from one
 * process on one core).
 *
 * - shoal: dist/shoal serve --origin <origin> --edge-port …, one node;
 * - nginx: bench/edge/nginx.conf (proxy_cache, keepalive to the origin), 1 worker and `auto`;
 * - Varnish: bench/edge/default.vcl (builtin VCL), malloc storage, its own thread pools;
 * - for reference, a 3-node shoal cluster: hits on the URL's owner, and hits
 *   through another node (which asks the owner over the peer transport).
 *
 *   bun bench/edge-vs-nginx-varnish.ts [--seconds 5] [--rounds 3] [--sizes 1024,16384] [--connections 50] [--no-write]
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanup, clusterFlags, memberPorts, type ShoalMember, shoalBin, startMember, tableMembers, tempDir, until } from "./cluster-servers.ts";
import { loadAverage, machineLines, median, table, writeSection } from "./report.ts";
import { freePort } from "./servers.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    sizes: { type: "string", default: "1024,16384" },
    connections: { type: "string", default: "50" },
    "no-write": { type: "boolean", default: false },
    "no-cluster": { type: "boolean", default: false },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const SIZES = values.sizes.split(",").map(Number);
const CONNECTIONS = Number(values.connections);
const here = new URL(".", import.meta.url).pathname;

interface Target {
  name: string;
  url: string;
  stop(): void;
}

const procs: ReturnType<typeof Bun.spawn>[] = [];
function spawn(cmd: string[], logFile: string): ReturnType<typeof Bun.spawn> {
  const p = Bun.spawn(cmd, { stdout: Bun.file(logFile), stderr: Bun.file(`${logFile}.err`), stdin: "ignore" });
  procs.push(p);
  return p;
}

function fill(template: string, fields: Record<string, string | number>): string {
  return readFileSync(join(here, "edge", template), "utf8").replace(/\{\{(\w+)\}\}/g, (_, k: string) => String(fields[k]));
}

/** GETs `url` until it answers 200 with X-Cache HIT (the object is in the cache). */
async function warm(name: string, url: string): Promise<void> {
  await until(
    async () => {
      const r = await fetch(url).catch(() => null);
      if (r === null) return false;
      await r.arrayBuffer();
      return r.status === 200 && r.headers.get("x-cache") === "HIT";
    },
    15_000,
    `${name} serving ${url} from its cache`,
  );
}

async function startOrigin(size: number): Promise<number> {
  const port = await freePort();
  spawn(["bun", join(here, "edge/origin.ts"), "--port", String(port), "--size", String(size)], join(tempDir("edge-origin-"), "log"));
  await until(async () => (await fetch(`http://127.0.0.1:${port}/__count`).catch(() => null))?.status === 200, 10_000, "origin");
  return port;
}

async function startShoal(origin: number): Promise<Target> {
  const [port, http, peer, edge] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = tempDir("edge-shoal-");
  const p = spawn(
    [shoalBin(), "serve", "--port", String(port), "--http-port", String(http), "--peer-port", String(peer), "--origin", `http://127.0.0.1:${origin}`, "--edge-port", String(edge), "--log-level", "warn"],
    join(dir, "log"),
  );
  const url = `http://127.0.0.1:${edge}/obj`;
  await warm("shoal", url);
  return { name: "shoal (1 process)", url, stop: () => p.kill("SIGTERM") };
}

/** A 3-node shoal cluster in front of `origin`: the URL's owner (it stored the object) and another node. */
async function startShoalCluster(origin: number): Promise<Target[]> {
  const ports = await memberPorts(3);
  const edgePorts = [await freePort(), await freePort(), await freePort()];
  const dir = tempDir("edge-cluster-");
  const peers = ports.map((p) => p.peer);
  const members: ShoalMember[] = [];
  for (const [i, p] of ports.entries()) {
    members.push(await startMember(p, peers, [...clusterFlags(1, 1), "--origin", `http://127.0.0.1:${origin}`, "--edge-port", String(edgePorts[i])], dir));
  }
  await until(() => members.every((m) => tableMembers(m) === 3), 20_000, "3 shoal members to see each other");
  const url = (i: number) => `http://127.0.0.1:${edgePorts[i]}/obj`;
  for (let i = 0; i < 3; i++) await warm(`shoal node ${i}`, url(i));
  const stored = await Promise.all(
    members.map(async (m) => Number(/shoal_edge_stores_total (\d+)/.exec(await (await fetch(`http://127.0.0.1:${m.httpPort}/metrics`)).text())?.[1] ?? 0)),
  );
  const owner = stored.findIndex((n) => n > 0);
  if (owner < 0) throw new Error(`no member stored the object: ${stored}`);
  const other = (owner + 1) % 3;
  const stop = () => undefined; // cleanup() stops the members
  return [
    { name: "shoal 3 nodes: hit on the URL's owner", url: url(owner), stop },
    { name: "shoal 3 nodes: hit via another node (asks the owner)", url: url(other), stop },
  ];
}

async function startNginx(origin: number, workers: string): Promise<Target> {
  const dir = tempDir("edge-nginx-");
  chmodSync(dir, 0o755); // workers run as an unprivileged user when nginx starts as root
  const port = await freePort();
  for (const d of ["body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"]) mkdirSync(join(dir, d));
  writeFileSync(join(dir, "nginx.conf"), fill("nginx.conf", { WORKERS: workers, DIR: dir, ORIGIN_PORT: origin, PORT: port }));
  const p = spawn(["nginx", "-c", join(dir, "nginx.conf"), "-p", dir], join(dir, "log"));
  const url = `http://127.0.0.1:${port}/obj`;
  await warm("nginx", url);
  return { name: `nginx proxy_cache (${workers} worker${workers === "1" ? "" : "s"})`, url, stop: () => p.kill("SIGTERM") };
}

async function startVarnish(origin: number): Promise<Target> {
  const dir = tempDir("edge-varnish-");
  const port = await freePort();
  writeFileSync(join(dir, "default.vcl"), fill("default.vcl", { ORIGIN_PORT: origin }));
  const p = spawn(["varnishd", "-F", "-j", "none", "-n", join(dir, "work"), "-a", `127.0.0.1:${port}`, "-f", join(dir, "default.vcl"), "-s", "malloc,256m"], join(dir, "log"));
  const url = `http://127.0.0.1:${port}/obj`;
  await warm("varnish", url);
  return { name: "Varnish (default thread pools)", url, stop: () => p.kill("SIGTERM") };
}

/** One wrk run: requests per second and mean latency in ms. */
function wrk(url: string): { rps: number; latencyMs: number } {
  const r = Bun.spawnSync(["wrk", "-t1", `-c${CONNECTIONS}`, `-d${SECONDS}s`, url], { timeout: (SECONDS + 30) * 1000 });
  const out = r.stdout.toString();
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const lat = /Latency\s+([\d.]+)(us|ms|s)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (!Number.isFinite(rate) || !lat) throw new Error(`wrk ${url}: no figures\n${out}\n${r.stderr.toString()}`);
  if (non2xx > 0) throw new Error(`wrk ${url}: ${non2xx} responses were not 2xx/3xx`);
  return { rps: rate, latencyMs: Number(lat[1]) * (lat[2] === "us" ? 0.001 : lat[2] === "s" ? 1000 : 1) };
}

interface Row {
  size: number;
  name: string;
  rps: number;
  latencyMs: number;
  rounds: number[];
}

async function measure(size: number): Promise<{ rows: Row[]; originHits: number }> {
  const origin = await startOrigin(size);
  const targets = [await startNginx(origin, "1"), await startShoal(origin), await startVarnish(origin), await startNginx(origin, "auto")];
  if (!values["no-cluster"]) targets.push(...(await startShoalCluster(origin)));
  const runs = new Map<string, { rps: number[]; lat: number[] }>(targets.map((t) => [t.name, { rps: [], lat: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const r = wrk(t.url);
      runs.get(t.name)!.rps.push(r.rps);
      runs.get(t.name)!.lat.push(r.latencyMs);
      console.log(`size ${size} round ${round + 1}: ${t.name} ${Math.round(r.rps)} req/s`);
    }
  }
  const originHits = Number(await (await fetch(`http://127.0.0.1:${origin}/__count`)).text());
  for (const t of targets) t.stop();
  return {
    rows: targets.map((t) => {
      const m = runs.get(t.name)!;
      return { size, name: t.name, rps: median(m.rps), latencyMs: median(m.lat), rounds: m.rps };
    }),
    originHits,
  };
}

async function main(): Promise<void> {
  const machine = machineLines();
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    for (const size of SIZES) {
      const r = await measure(size);
      rows.push(...r.rows);
      notes.push(`${size} B: the origin served ${r.originHits} requests in all (the warm-up misses)`);
    }
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));
    await cleanup();
  }
  const out = rows.map((r) => {
    const anchor = rows.find((x) => x.size === r.size && x.name.startsWith("nginx proxy_cache (1 worker)"))!.rps;
    return [
      `${r.size} B`,
      r.name,
      String(Math.round(r.rps)),
      r.rounds.map((x) => String(Math.round(x))).join(" / "),
      r.latencyMs.toFixed(2),
      `${(r.rps / anchor).toFixed(2)}x`,
    ];
  });
  for (const o of out) console.log(o.join("  "));
  if (values["no-write"]) return;
  writeSection(
    "edge",
    [
      "## Edge cache: hit throughput vs nginx proxy_cache and Varnish (issue 17)",
      "",
      ...machine,
      `- load average after the run ${loadAverage()}`,
      "",
      table(["object", "server", "req/s (median)", "rounds", "mean latency ms", "vs nginx 1 worker"], out),
      "",
      `\`wrk -t1 -c${CONNECTIONS} -d${SECONDS}s\` on one cached URL, median of ${ROUNDS} rounds (the servers take turns within a round), all on loopback ` +
        "on the machine that runs wrk. Every server sits in front of the same origin process (bench/edge/origin.ts: " +
        "`Cache-Control: public, max-age=3600`, ETag, Last-Modified); each is warmed until it answers `X-Cache: HIT`. " +
        "shoal: dist/shoal, one node, one process (JavaScript runs on one core). nginx: bench/edge/nginx.conf, proxy_cache on disk " +
        "(page cache), 1 worker (the anchor: one core, like shoal) and `auto` (2 workers here). Varnish 7.1: bench/edge/default.vcl, " +
        "malloc storage, default thread pools (it uses every core). The 3-node rows are for reference (three processes on two cores, " +
        "replica count 1): a hit through a node other than the URL's owner takes a peer round trip and carries the object over it. The machine has 2 cores shared with wrk and with other engineers' " +
        `test runs, so figures swing between rounds; compare the ratios. ${notes.join("; ")}. ` +
        `Generated by \`bun bench/edge-vs-nginx-varnish.ts --seconds ${SECONDS} --rounds ${ROUNDS} --sizes ${SIZES.join(",")}\`.`,
    ].join("\n"),
  );
}

await main();
process.exit(0);
