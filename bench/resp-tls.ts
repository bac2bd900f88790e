/**
 * The cost of TLS on client RESP throughput: redis-benchmark against the
 * plaintext port and the TLS port of one shoal node, and of one
 * redis-server started with `--tls-port` (Debian's redis-server 7.0 is built
 * with TLS; redis-benchmark has `--tls`).
 *
 *   bun bench/resp-tls.ts [--rounds 3] [--requests 100000] [--no-write]
 *
 * Each run is `redis-benchmark -c 50 -d 100 -r 100000 -n N -t set,get
 * [-P 16] -q --csv [--tls --cacert ca.crt]`; the four targets alternate
 * order every round. Reports medians, TLS/plain per server and shoal/redis
 * over TLS, and writes the "resp-tls" section of BENCHMARKS.md unless --no-write.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { makeDevCerts } from "../cmd/certs.ts";
import { kops, loadAverage, machineLines, median, table, writeSection } from "./report.ts";
import { type BenchServer, freePort, runClient, shoalCommand, startRedis, startShoal, stopAll } from "./servers.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    requests: { type: "string", default: "100000" },
    "no-write": { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const PIPELINES = [1, 16];
const TESTS = ["SET", "GET"] as const;

interface Target {
  label: string;
  server: BenchServer;
  port: number;
  tls: boolean;
}

function benchArgs(pipeline: number): string[] {
  const args = ["-c", "50", "-d", "100", "-r", "100000", "-n", String(requests), "-t", "set,get"];
  if (pipeline > 1) args.push("-P", String(pipeline));
  return [...args, "-q", "--csv"];
}

async function runOnce(t: Target, pipeline: number, ca: string): Promise<Map<string, number>> {
  const tls = t.tls ? ["--tls", "--cacert", ca] : [];
  const out = await runClient(["redis-benchmark", "-h", "127.0.0.1", "-p", String(t.port), ...tls, ...benchArgs(pipeline)], t.server, 300_000);
  const rows = new Map<string, number>();
  for (const line of out.split("\n")) {
    const cells = line.split(",").map((c) => c.replace(/"/g, ""));
    const rps = Number(cells[1]);
    if (cells.length >= 2 && Number.isFinite(rps) && cells[0] !== "test") rows.set(cells[0]!, rps);
  }
  if (rows.size !== TESTS.length) throw new Error(`redis-benchmark against ${t.label}: unexpected output\n${out}`);
  return rows;
}

async function main(): Promise<void> {
  const machine = machineLines();
  const dir = mkdtempSync(join(tmpdir(), "shoal-bench-tls-"));
  try {
    makeDevCerts(dir, { hosts: ["127.0.0.1", "localhost"], nodes: 1, days: 2 });
    const cert = join(dir, "node1.crt");
    const key = join(dir, "node1.key");
    const ca = join(dir, "ca.crt");
    const shoalTls = await freePort();
    const redisTls = await freePort();
    const shoal = await startShoal(["--tls-port", String(shoalTls), "--tls-cert", cert, "--tls-key", key]);
    const redis = await startRedis(["--tls-port", String(redisTls), "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "no"]);
    const targets: Target[] = [
      { label: "shoal plain", server: shoal, port: shoal.port, tls: false },
      { label: "shoal TLS", server: shoal, port: shoalTls, tls: true },
      { label: "redis plain", server: redis, port: redis.port, tls: false },
      { label: "redis TLS", server: redis, port: redisTls, tls: true },
    ];
    console.log(`bench pid ${process.pid}; shoal pid ${shoal.pid}; redis pid ${redis.pid}`);
    for (const t of targets) await runOnce(t, 16, ca); // untimed warm-up (JIT, key space)
    const samples = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const pipeline of PIPELINES) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          const rows = await runOnce(t, pipeline, ca);
          for (const [test, rps] of rows) {
            const k = `${t.label}/${pipeline}/${test}`;
            samples.set(k, [...(samples.get(k) ?? []), rps]);
          }
          console.log(`round ${round + 1}/${rounds} P=${pipeline} ${t.label}: ${[...rows].map(([n, r]) => `${n} ${kops(r)}`).join(", ")}`);
        }
      }
    }
    const m = (label: string, p: number, test: string): number => median(samples.get(`${label}/${p}/${test}`)!);
    const rows: string[][] = [];
    for (const p of PIPELINES) {
      for (const test of TESTS) {
        const sp = m("shoal plain", p, test);
        const st = m("shoal TLS", p, test);
        const rp = m("redis plain", p, test);
        const rt = m("redis TLS", p, test);
        rows.push([test, String(p), kops(sp), kops(st), `**${(st / sp).toFixed(2)}x**`, kops(rp), kops(rt), `${(rt / rp).toFixed(2)}x`, `${(st / rt).toFixed(2)}x`]);
      }
    }
    const header = ["test", "pipeline", "shoal plain", "shoal TLS", "shoal TLS/plain", "redis plain", "redis TLS", "redis TLS/plain", "shoal/redis over TLS"];
    const tbl = table(header, rows);
    console.log(`\n${tbl}`);
    if (!values["no-write"]) {
      writeSection(
        "resp-tls",
        [
          "## Client TLS cost on RESP throughput",
          "",
          `Medians of ${rounds} runs per target and pipeline depth (order reversed every round), ops/s.`,
          `Generated by \`bun bench/resp-tls.ts --rounds ${rounds} --requests ${requests}\`; each run is`,
          `\`redis-benchmark -h 127.0.0.1 -p PORT ${benchArgs(1).join(" ")}\` (and \`-P 16\`), with \`--tls --cacert ca.crt\` on the TLS ports.`,
          `shoal: one node, ${shoalCommand()} plus \`--tls-port T --tls-cert node1.crt --tls-key node1.key\`;`,
          "redis-server 7.0 (Debian's build has TLS) with `--tls-port T --tls-cert-file … --tls-key-file … --tls-auth-clients no`.",
          "Certificates: EC P-256 from `shoal certs`; TLS 1.3. redis-benchmark runs on the same 2 CPUs as the server.",
          "",
          ...machine,
          `- load average after the run ${loadAverage()}`,
          "",
          tbl,
        ].join("\n"),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} finally {
  await stopAll();
}
