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
 *
 * Full run 2026-11-23 (seed 142636486, bun cmd/shoal.ts, 2 shared CPUs at load 15-24): 1,000,000
 * requests in 1,234 s, 0 crashes, 0 hangs, sentinels intact at all 500 checks, no 500 answer;
 * 657,373 answered (448,859 4xx, 120,588 505, 60,018 2xx, 27,872 1xx, 36 3xx; the rest were
 * requests the server rightly waits on), RSS 62 -> 148 MiB. That run predates the fix for HEAD on
 * SSE routes (044d0dc), whose leaked subscribers may account for part of the growth.
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
/** Responses seen by status class ("2xx", "4xx", "500", …), to show the fuzz reaches the handlers. */
const statuses = new Map<string, number>();
/** Connections left half-sent on purpose; closed before the final checks. */
const stalled: net.Socket[] = [];
const STATUS_LINE = /HTTP\/1\.[01] (\d{3})/g;

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

/**
 * One fuzzing connection: sends a request, waits for its status line (or
 * the close, or 40 ms for requests the server rightly waits on, e.g. a
 * Content-Length longer than the body), and reconnects after a close, so
 * every request reaches a fresh parser state instead of dying behind an
 * earlier bad one on the same connection.
 */
class FuzzConn {
  private socket: net.Socket | null = null;
  private seen = 0;
  private wake: (() => void) | null = null;

  private open(): Promise<net.Socket> {
    return new Promise((resolve) => {
      const s = net.connect(node.httpPort, "127.0.0.1");
      s.on("error", () => {});
      s.on("close", () => {
        if (this.socket === s) this.socket = null;
        this.wake?.();
      });
      s.on("data", (d: Buffer) => {
        for (const m of d.toString("latin1").matchAll(STATUS_LINE)) {
          const code = m[1]!;
          const k = code.startsWith("5") ? code : `${code[0]}xx`;
          statuses.set(k, (statuses.get(k) ?? 0) + 1);
          this.seen++;
        }
        this.wake?.();
      });
      s.once("connect", () => resolve(s));
    });
  }

  async send(req: Uint8Array): Promise<void> {
    this.socket ??= await this.open();
    const s = this.socket;
    const before = this.seen;
    s.write(req);
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, 40);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        if (this.seen > before || this.socket !== s) done();
      };
    });
    this.wake = null;
    if (this.seen === before && this.socket === s) {
      // no answer: the server waits for more bytes; start over on a new connection
      s.destroy();
      this.socket = null;
    }
  }

  /** Leaves the connection half-sent (a stalled client) or closes it. */
  finish(stall: boolean): void {
    if (stall && this.socket) {
      stalled.push(this.socket);
      this.socket.write("PUT /v1/maps/fz/keys/stall HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
    } else this.socket?.destroy();
    this.socket = null;
  }
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
    await Promise.all(
      Array.from({ length: CONNS_PER_BATCH }, async () => {
        const conn = new FuzzConn();
        for (let i = 0; i < REQUESTS_PER_CONN; i++) {
          await conn.send(rng.int(10) === 0 ? validRequest(rng) : httpRequest(rng));
          sent++;
        }
        conn.finish(rng.int(20) === 0);
      }),
    );
    batches++;
    if (batches % 10 === 0 || sent >= TOTAL) await assertHealthy(rng);
  }
  for (const s of stalled) s.destroy();
  // every fuzz connection is gone: no SSE subscriber may be left behind
  let subscribers = -1;
  for (let i = 0; i < 50 && subscribers !== 0; i++) {
    await sleep(100);
    subscribers = ((await (await fetch(`${base}/v1/stats`, { headers: AUTH })).json()) as { sse: { subscribers: number } }).sse.subscribers;
  }
  expect(subscribers).toBe(0);
  const rss1 = rssKb(node.pid);
  console.log(
    `http-fuzz: ${sent} requests in ${batches} batches of ${CONNS_PER_BATCH} connections, ${Date.now() - started} ms, ` +
      `RSS ${Math.round(rss0 / 1024)} -> ${Math.round(rss1 / 1024)} MiB, responses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
  );
  // an unexpected exception in a handler shows up as 500: none allowed
  expect(statuses.get("500") ?? 0).toBe(0);
  // most requests must reach the server's parser and get an answer (the rest it rightly waits on)
  expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(TOTAL / 2);
  expect(node.proc.exitCode).toBeNull();
  expect(rss1 - rss0).toBeLessThan(RSS_MB * 1024);
}, 60 * 60_000);
