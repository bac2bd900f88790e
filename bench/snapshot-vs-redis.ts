/**
 * Snapshots and warm restart, shoal against redis-server in the same run
 * (issue 14): N keys (16-byte keys, 100-byte pseudo-random values), then per
 * server
 * - SAVE: wall time of the command and the file's size (dump.rdb vs snapshot.shoal);
 * - BGSAVE: time until INFO says it finished;
 * - latency of unpipelined GETs (C closed-loop clients) with nothing else
 *   running, then while BGSAVE runs back to back for the whole measurement;
 * - restart: from spawning the process to DBSIZE answering N (Redis answers
 *   -LOADING meanwhile; shoal opens its ports only once loaded), plus the
 *   server's own figure from its log.
 *
 *   bun bench/snapshot-vs-redis.ts [--keys 1000000] [--rounds 3] [--requests 100000] [--clients 50] [--no-write]
 *
 * Uses the compiled binary ($SHOAL_BIN, default dist/shoal). Servers run one
 * at a time, on random loopback ports, each in its own temporary data
 * directory; all are stopped by PID at the end. Writes the
 * "snapshot-vs-redis" section of BENCHMARKS.md (medians over rounds).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { quantile, runLatency } from "./latency-client.ts";
import { loadAverage, machineLines, median, table, writeSection } from "./report.ts";
import { benchKey, loadKeys } from "./resp-load.ts";
import { freePort } from "./servers.ts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "1000000" },
    rounds: { type: "string", default: "3" },
    requests: { type: "string", default: "100000" },
    clients: { type: "string", default: "50" },
    "no-write": { type: "boolean", default: false },
  },
});
const KEYS = Number(values.keys);
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const CLIENTS = Number(values.clients);
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const BIN = process.env.SHOAL_BIN ?? "dist/shoal";

/** One server process with its log. */
interface Proc {
  proc: ReturnType<typeof Bun.spawn>;
  port: number;
  log: string[];
}

const running = new Set<Proc>();

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const dec = new TextDecoder();
  for await (const chunk of stream) into.push(dec.decode(chunk));
}

function spawn(cmd: string[], port: number): Proc {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const p: Proc = { proc, port, log: [] };
  void collect(proc.stdout as ReadableStream<Uint8Array>, p.log);
  void collect(proc.stderr as ReadableStream<Uint8Array>, p.log);
  running.add(p);
  return p;
}

async function stop(p: Proc): Promise<void> {
  running.delete(p);
  if (p.proc.exitCode !== null) return;
  p.proc.kill("SIGTERM");
  const t = setTimeout(() => p.proc.kill("SIGKILL"), 60_000);
  await p.proc.exited;
  clearTimeout(t);
}

/** One RESP request on a fresh connection; resolves with the reply text, or null when nothing listens yet. */
async function ask(port: number, argv: string[], timeoutMs = 120_000): Promise<string | null> {
  return new Promise((resolve) => {
    let buf = "";
    let done = false;
    const finish = (v: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write(`*${argv.length}\r\n${argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`);
        },
        data(s, chunk) {
          buf += new TextDecoder().decode(chunk);
          const complete = buf.startsWith("$") ? buf.length >= buf.indexOf("\r\n") + 2 + Number(buf.slice(1, buf.indexOf("\r\n"))) + 2 : buf.endsWith("\r\n");
          if (complete) {
            s.end();
            finish(buf);
          }
        },
        close: () => finish(buf || null),
        error: () => finish(null),
        connectError: () => finish(null),
      },
    }).catch(() => finish(null));
  });
}

const field = (info: string, name: string): string => new RegExp(`^${name}:(.*)\\r$`, "m").exec(info)?.[1] ?? "";

/** Polls until DBSIZE answers `n`; returns ms since `t0`. */
async function untilServed(port: number, n: number, t0: number): Promise<number> {
  for (let i = 0; i < 100_000; i++) {
    const r = await ask(port, ["DBSIZE"], 5000);
    if (r === `:${n}\r\n`) return performance.now() - t0;
    if (performance.now() - t0 > 300_000) break;
    await Bun.sleep(r === null ? 2 : 5);
  }
  throw new Error(`port ${port}: DBSIZE never reached ${n}`);
}

async function waitBgsave(port: number): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    const info = (await ask(port, ["INFO", "persistence"])) ?? "";
    if (field(info, "rdb_bgsave_in_progress") === "0") return;
    await Bun.sleep(5);
  }
}

interface Kind {
  name: "redis" | "shoal";
  start(dir: string, port: number): Promise<Proc>;
  file(dir: string): string;
  /** The server's own load time from its log, ms. */
  loadMs(log: string): number;
}

const REDIS: Kind = {
  name: "redis",
  start: async (dir, port) => spawn(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], port),
  file: (dir) => join(dir, "dump.rdb"),
  loadMs: (log) => 1000 * Number(/DB loaded from disk: ([\d.]+) seconds/.exec(log)?.[1] ?? Number.NaN),
};

const SHOAL: Kind = {
  name: "shoal",
  start: async (dir, port) => {
    const ports = ["--port", String(port), "--http-port", String(await freePort()), "--peer-port", String(await freePort())];
    return spawn([BIN, "serve", ...ports, "--data-dir", dir, "--snapshot-interval", "0"], port);
  },
  file: (dir) => join(dir, "snapshot.shoal"),
  loadMs: (log) => Number(/snapshot loaded .* ms=(\d+)/.exec(log)?.[1] ?? Number.NaN),
};

interface Round {
  saveMs: number;
  fileBytes: number;
  bgsaveMs: number;
  idleP50: number;
  idleP99: number;
  busyP50: number;
  busyP99: number;
  busyBgsaves: number;
  restartMs: number;
  logLoadMs: number;
}

const latency = (port: number) =>
  runLatency({
    ports: [port],
    clients: CLIENTS,
    total: REQUESTS,
    keyspace: KEYS,
    command: (key) => ["GET", benchKey(Number(key.slice(4)), KEY_BYTES)],
    route: () => 0,
  });

async function round(kind: Kind): Promise<Round> {
  const dir = mkdtempSync(join(tmpdir(), `shoal-bench-${kind.name}-`));
  try {
    let port = await freePort();
    let p = await kind.start(dir, port);
    await untilServed(port, 0, performance.now());
    await loadKeys(port, KEYS, KEY_BYTES, VALUE_BYTES, 10_000, true);
    let t = performance.now();
    const saved = await ask(port, ["SAVE"]);
    const saveMs = performance.now() - t;
    if (saved !== "+OK\r\n") throw new Error(`${kind.name} SAVE: ${saved}`);
    const fileBytes = statSync(kind.file(dir)).size;
    t = performance.now();
    await ask(port, ["BGSAVE"]);
    await waitBgsave(port);
    const bgsaveMs = performance.now() - t;
    const idle = await latency(port);
    // BGSAVE back to back while the clients run
    let busy = true;
    let bgsaves = 0;
    const loop = (async () => {
      while (busy) {
        await ask(port, ["BGSAVE"]);
        bgsaves++;
        await waitBgsave(port);
      }
    })();
    const during = await latency(port);
    busy = false;
    await loop;
    await stop(p);
    // restart: spawn → every key served
    port = await freePort();
    t = performance.now();
    p = await kind.start(dir, port);
    const restartMs = await untilServed(port, KEYS, t);
    const logLoadMs = kind.loadMs(p.log.join(""));
    await stop(p);
    const r: Round = {
      saveMs,
      fileBytes,
      bgsaveMs,
      idleP50: quantile(idle.latencies, 0.5),
      idleP99: quantile(idle.latencies, 0.99),
      busyP50: quantile(during.latencies, 0.5),
      busyP99: quantile(during.latencies, 0.99),
      busyBgsaves: bgsaves,
      restartMs,
      logLoadMs,
    };
    console.log(`${kind.name}: ${JSON.stringify(r, (_k, v) => (typeof v === "number" ? Math.round(v * 100) / 100 : v))}`);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const machine = machineLines();
  const results: Record<"redis" | "shoal", Round[]> = { redis: [], shoal: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? [REDIS, SHOAL] : [SHOAL, REDIS];
    for (const k of order) results[k.name].push(await round(k));
    console.log(`round ${i + 1}/${ROUNDS} done (load ${loadAverage()})`);
  }
  const med = (k: "redis" | "shoal", f: keyof Round): number => median(results[k].map((r) => r[f]));
  const MiB = 1024 * 1024;
  const row = (label: string, f: keyof Round, fmt: (v: number) => string, lowerIsBetter = true): string[] => {
    const r = med("redis", f);
    const s = med("shoal", f);
    return [label, fmt(r), fmt(s), lowerIsBetter ? `${(s / r).toFixed(2)}x` : ""];
  };
  const ms = (v: number): string => `${Math.round(v)} ms`;
  const lat = (v: number): string => `${v.toFixed(2)} ms`;
  const rows = [
    row("SAVE (blocking)", "saveMs", ms),
    row("snapshot file size", "fileBytes", (v) => `${(v / MiB).toFixed(1)} MiB`),
    row("BGSAVE until done", "bgsaveMs", ms),
    row("restart → all keys served (spawn to DBSIZE = N)", "restartMs", ms),
    row("load time the server logs", "logLoadMs", ms),
    row("GET p50, idle", "idleP50", lat),
    row("GET p99, idle", "idleP99", lat),
    row("GET p50, BGSAVE running", "busyP50", lat),
    row("GET p99, BGSAVE running", "busyP99", lat),
  ];
  const tbl = table(["", "redis-server", "shoal", "shoal/redis"], rows);
  const p99Ratio = (k: "redis" | "shoal"): string => (med(k, "busyP99") / med(k, "idleP99")).toFixed(2);
  console.log(`\n${tbl}\n\np99 during BGSAVE / idle: redis ${p99Ratio("redis")}x, shoal ${p99Ratio("shoal")}x`);
  if (values["no-write"]) return;
  writeSection(
    "snapshot-vs-redis",
    [
      "## Snapshots and warm restart (issue 14)",
      "",
      ...machine,
      `- command: \`SHOAL_BIN=${BIN} bun bench/snapshot-vs-redis.ts --keys ${KEYS} --rounds ${ROUNDS} --requests ${REQUESTS} --clients ${CLIENTS}\``,
      `- ${KEYS.toLocaleString("en")} keys of ${KEY_BYTES} bytes with ${VALUE_BYTES}-byte pseudo-random values (letters and digits: RDB's LZF compression gains little on them),`,
      "  loaded with pipelined SETs; each server in its own temporary data directory, one server at a time, order alternating per round;",
      `  latency: ${CLIENTS} closed-loop clients, ${REQUESTS.toLocaleString("en")} unpipelined GETs of random loaded keys (bench/latency-client.ts), idle and then with BGSAVE re-issued back to back for the whole run;`,
      `  medians of ${ROUNDS} rounds. shoal: \`${BIN} serve --data-dir D --snapshot-interval 0\`; redis: \`redis-server --save "" --appendonly no --dir D\`.`,
      "",
      tbl,
      "",
      `p99 during BGSAVE / idle p99: redis **${p99Ratio("redis")}x**, shoal **${p99Ratio("shoal")}x** (target ≤ 2x).`,
      `Restart to all keys served, shoal / redis: **${(med("shoal", "restartMs") / med("redis", "restartMs")).toFixed(2)}x** (target ≤ 3x, goal ≤ 1x).`,
    ].join("\n"),
  );
}

try {
  await main();
} finally {
  await Promise.all([...running].map((p) => stop(p)));
}
