/**
 * HTTP API fuzz: generated and mutated raw HTTP/1.x requests (see
 * http-requests.ts) over many connections, pipelined, some left half-sent,
 * against a real `shoal serve` with auth on. After every batch the node must
 * answer /healthz and PING, the sentinel values written before the fuzz must
 * be intact, a valid authenticated PUT/GET must work, and at the end the RSS
 * must have grown by less than HTTP_FUZZ_RSS_MB (default 256).
 *
 * CI slice: HTTP_FUZZ_REQUESTS (default 20,000). The full run:
 *   HTTP_FUZZ_REQUESTS=1000000 bun test --timeout 3600000 tests/integration/fuzz/http-fuzz.test.ts
 * HTTP_FUZZ_SEED replays a run (the seed is printed).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import net from "node:net";
import { SeededRng } from "../../../core/clock.ts";
import { sleep } from "../../helpers/ports.ts";
import { type ServerProcess, startShoal } from "../../helpers/processes.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { httpRequest, validRequest } from "./http-requests.ts";

const TOTAL = Number(process.env.HTTP_FUZZ_REQUESTS ?? 20_000);
const SEED = Number(process.env.HTTP_FUZZ_SEED ?? Date.now() % 2 ** 31);
const RSS_MB = Number(process.env.HTTP_FUZZ_RSS_MB ?? 256);
const CONNS_PER_BATCH = 8;
const REQUESTS_PER_CONN = 25;
const PASS = "fuzzpass";
const AUTH = { authorization: `Bearer ${PASS}` };
const SENTINELS: Record<string, string> = { a: "sentinel-a", "b/c": "sentinel with spaces & ünïcode", empty: "" };

let node: ServerProcess;
let base = "";

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);

beforeAll(async () => {
  node = await startShoal({ args: ["--requirepass", PASS, "--max-value-bytes", "1mb", "--log-level", "error"] });
  base = `http://127.0.0.1:${node.httpPort}`;
  for (const [k, v] of Object.entries(SENTINELS)) {
    const r = await fetch(`${base}/v1/maps/sentinel/keys/${encodeURIComponent(k)}`, { method: "PUT", body: v, headers: AUTH });
    expect(r.status).toBe(204);
  }
});

afterAll(async () => {
  await node?.stop(2000);
});

/** Sends `requests` on one connection (pipelined, small pauses) and drains replies; resolves when closed or after `ms`. */
function blast(requests: Uint8Array[], stall: boolean, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(node.httpPort, "127.0.0.1");
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, ms);
    s.on("error", done);
    s.on("close", done);
    s.on("data", () => {});
    s.on("connect", async () => {
      for (const r of requests) {
        if (s.destroyed) break;
        s.write(r);
        if (Math.random() < 0.2) await sleep(0);
      }
      if (stall && !s.destroyed) s.write("PUT /v1/maps/fz/keys/stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
      else s.end();
    });
  });
}

async function assertHealthy(rng: SeededRng): Promise<void> {
  const h = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
  expect(h.status).toBe(200);
  for (const [k, v] of Object.entries(SENTINELS)) {
    const r = await fetch(`${base}/v1/maps/sentinel/keys/${encodeURIComponent(k)}`, { headers: AUTH, signal: AbortSignal.timeout(5000) });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(v);
  }
  const key = `ok${rng.int(1000)}`;
  expect((await fetch(`${base}/v1/maps/fz/keys/${key}`, { method: "PUT", body: key, headers: AUTH })).status).toBe(204);
  expect(await (await fetch(`${base}/v1/maps/fz/keys/${key}`, { headers: AUTH })).text()).toBe(key);
  const resp = await RawClient.connect(node.port, "127.0.0.1", 5000);
  try {
    expect(await resp.call(["AUTH", PASS], 5000)).toBe("+OK\r\n");
    expect(await resp.call(["PING"], 5000)).toBe("+PONG\r\n");
  } finally {
    resp.close();
  }
}

test(`http fuzz: ${TOTAL} hostile requests leave the API answering, data intact, RSS bounded`, async () => {
  const rng = new SeededRng(SEED);
  console.log(`http-fuzz: seed ${SEED} (HTTP_FUZZ_SEED=${SEED} replays)`);
  await assertHealthy(rng);
  const rss0 = rssKb(node.pid);
  const started = Date.now();
  let sent = 0;
  let batches = 0;
  while (sent < TOTAL) {
    const conns: Promise<void>[] = [];
    for (let c = 0; c < CONNS_PER_BATCH; c++) {
      const reqs: Uint8Array[] = [];
      for (let i = 0; i < REQUESTS_PER_CONN; i++) reqs.push(rng.int(10) === 0 ? validRequest(rng) : httpRequest(rng));
      sent += reqs.length;
      conns.push(blast(reqs, rng.int(20) === 0, 3000));
    }
    await Promise.all(conns);
    batches++;
    if (batches % 10 === 0 || sent >= TOTAL) await assertHealthy(rng);
  }
  await sleep(200);
  const rss1 = rssKb(node.pid);
  console.log(
    `http-fuzz: ${sent} requests in ${batches} batches of ${CONNS_PER_BATCH} connections, ${Date.now() - started} ms, ` +
      `RSS ${Math.round(rss0 / 1024)} -> ${Math.round(rss1 / 1024)} MiB`,
  );
  expect(node.proc.exitCode).toBeNull();
  expect(rss1 - rss0).toBeLessThan(RSS_MB * 1024);
}, 60 * 60_000);
