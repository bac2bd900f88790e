/**
 * HTTP API throughput, alone and as a cluster front door, with nginx as the
 * anchor in the same run: `wrk -t1 -c50` for `--seconds` per round, the
 * median of `--rounds` rounds.
 *
 * - nginx (1 worker, access log off) serving a 100-byte static file;
 * - one shoal node: GET of a 100-byte value;
 * - a 3-node shoal cluster (RF=2 W=2, dist/shoal): GET and PUT of a
 *   100-byte value through the key's owner and through a node that forwards
 *   to it (every HTTP request runs through the command gateway and router).
 *
 *   bun bench/http-front-door.ts [--seconds 5] [--rounds 3] [--no-write]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanup, clusterFlags, memberPorts, redisCli, type ShoalMember, startMember, startShoalCluster, tempDir, until } from "./cluster-servers.ts";
import { machineLines, median, table, writeSection } from "./report.ts";
import { freePort } from "./servers.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "5" }, rounds: { type: "string", default: "3" }, "no-write": { type: "boolean", default: false } },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const VALUE = "v".repeat(100);

interface Row {
  target: string;
  rps: number;
  latencyMs: number;
}

/** Runs wrk against `url` (`put`: PUT with the 100-byte body) `ROUNDS` times; the median rate and mean latency. */
function wrk(url: string, put = false, dir = tempDir("wrk-")): { rps: number; latencyMs: number } {
  const script = join(dir, "put.lua");
  writeFileSync(script, `wrk.method = "PUT"\nwrk.body = string.rep("v", 100)\n`);
  const rates: number[] = [];
  const lats: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const args = ["wrk", "-t1", "-c50", `-d${SECONDS}s`, ...(put ? ["-s", script] : []), url];
    const r = Bun.spawnSync(args, { timeout: (SECONDS + 30) * 1000 });
    const out = r.stdout.toString();
    const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    const lat = /Latency\s+([\d.]+)(us|ms|s)/.exec(out);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    if (!Number.isFinite(rate) || !lat) throw new Error(`wrk ${url}: no figures\n${out}\n${r.stderr.toString()}`);
    if (non2xx > 0) throw new Error(`wrk ${url}: ${non2xx} responses were not 2xx/3xx`);
    rates.push(rate);
    lats.push(Number(lat[1]) * (lat[2] === "us" ? 0.001 : lat[2] === "s" ? 1000 : 1));
  }
  return { rps: median(rates), latencyMs: median(lats) };
}

async function put(httpPort: number, key: string): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/v1/maps/default/keys/${key}`, { method: "PUT", body: VALUE });
  if (r.status !== 204) throw new Error(`PUT ${key} → ${r.status} ${await r.text()}`);
}

/** Starts nginx (one worker) serving `/v1/maps/default/keys/k1` as a 100-byte static file; returns its port and a stop function. */
async function startNginx(): Promise<{ port: number; stop(): void }> {
  const dir = tempDir("nginx-");
  const port = await freePort();
  mkdirSync(join(dir, "html/v1/maps/default/keys"), { recursive: true });
  writeFileSync(join(dir, "html/v1/maps/default/keys/k1"), VALUE);
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1;\ndaemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 1024; }\n` +
      `http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};\n` +
      `  server { listen 127.0.0.1:${port}; root ${dir}/html; } }\n`,
  );
  const proc = Bun.spawn(["nginx", "-c", join(dir, "nginx.conf"), "-p", dir], { stdout: "ignore", stderr: "inherit" });
  await until(async () => (await fetch(`http://127.0.0.1:${port}/v1/maps/default/keys/k1`).catch(() => null))?.status === 200, 10_000, "nginx");
  return { port, stop: () => proc.kill("SIGTERM") };
}

/** The member owning `key` (CLUSTER KEYSLOT + CLUSTER SLOTS through member 0) and one that does not. */
function ownerAndOther(members: ShoalMember[], key: string): [ShoalMember, ShoalMember] {
  const slot = Number(redisCli(members[0]!.port, ["CLUSTER", "KEYSLOT", key]).trim());
  const lines = redisCli(members[0]!.port, ["CLUSTER", "SLOTS"]).trim().split("\n");
  // redis-cli prints each range as: start, end, host, port, id (one value per line, per master)
  let ownerPort = 0;
  for (let i = 0; i + 3 < lines.length; i++) {
    const start = Number(lines[i]);
    const end = Number(lines[i + 1]);
    if (/^\d+$/.test(lines[i]!) && /^\d+$/.test(lines[i + 1]!) && start <= slot && slot <= end && /^\d+$/.test(lines[i + 3]!)) {
      ownerPort = Number(lines[i + 3]);
      break;
    }
  }
  const owner = members.find((m) => m.port === ownerPort);
  if (!owner) throw new Error(`no owner found for slot ${slot} in CLUSTER SLOTS:\n${lines.join("\n")}`);
  return [owner, members.find((m) => m !== owner)!];
}

async function main(): Promise<void> {
  const machine = machineLines();
  const rows: Row[] = [];
  try {
    const nginx = await startNginx();
    rows.push({ target: "nginx 1 worker, static 100 B file", ...wrk(`http://127.0.0.1:${nginx.port}/v1/maps/default/keys/k1`) });
    nginx.stop();

    const [p] = await memberPorts(1);
    const single = await startMember(p!, [], [], tempDir("shoal-http-"));
    await put(single.httpPort, "k1");
    rows.push({ target: "shoal, one node: GET", ...wrk(`http://127.0.0.1:${single.httpPort}/v1/maps/default/keys/k1`) });
    if (!values["no-write"]) rows.push({ target: "shoal, one node: PUT", ...wrk(`http://127.0.0.1:${single.httpPort}/v1/maps/default/keys/k1`, true) });
    await single.stop();

    const members = await startShoalCluster(3, clusterFlags(2, 2));
    await put(members[0]!.httpPort, "k1");
    const [owner, other] = ownerAndOther(members, "k1");
    rows.push({ target: "shoal 3 nodes RF=2 W=2: GET via the owner", ...wrk(`http://127.0.0.1:${owner.httpPort}/v1/maps/default/keys/k1`) });
    rows.push({ target: "shoal 3 nodes RF=2 W=2: GET via another node (forwarded)", ...wrk(`http://127.0.0.1:${other.httpPort}/v1/maps/default/keys/k1`) });
    if (!values["no-write"]) {
      rows.push({ target: "shoal 3 nodes RF=2 W=2: PUT via the owner (W=2)", ...wrk(`http://127.0.0.1:${owner.httpPort}/v1/maps/default/keys/k1`, true) });
      rows.push({ target: "shoal 3 nodes RF=2 W=2: PUT via another node (forwarded, W=2)", ...wrk(`http://127.0.0.1:${other.httpPort}/v1/maps/default/keys/k1`, true) });
    }
  } finally {
    await cleanup();
  }
  const anchor = rows[0]!.rps;
  for (const r of rows) console.log(`${r.target}: ${Math.round(r.rps)} req/s, ${r.latencyMs.toFixed(2)} ms mean`);
  const tbl = table(
    ["target", "req/s (median)", "mean latency ms", "vs nginx"],
    rows.map((r) => [r.target, String(Math.round(r.rps)), r.latencyMs.toFixed(2), `${(r.rps / anchor).toFixed(2)}x`]),
  );
  writeSection(
    "http-front-door",
    [
      "## HTTP API as a cluster front door (issue 13)",
      "",
      ...machine,
      "",
      tbl,
      "",
      `\`wrk -t1 -c50 -d${SECONDS}s\`, median of ${ROUNDS} rounds, 100-byte values, everything on loopback on the same machine as wrk. ` +
        "nginx: one worker, access log off, the value as a static file. shoal: dist/shoal, one process per node (one core each at most). " +
        "Every shoal request runs through the command gateway (ACL check, router: forward to the owner, W=2 replication). " +
        "The machine is shared with other engineers' test runs: figures swing by 30% between rounds. " +
        `Generated by \`bun bench/http-front-door.ts --seconds ${SECONDS} --rounds ${ROUNDS}\`.`,
    ].join("\n"),
  );
}

await main();
process.exit(0);
