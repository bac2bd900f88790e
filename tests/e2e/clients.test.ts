/**
 * Real clients against the compiled binary: redis-cli, ioredis (commands,
 * pipelines, pub/sub), HTTP with fetch, and the binary's own cli/stats/bench.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { missingProgram, programPath, testIf } from "../helpers/prerequisites.ts";
import { redisCliPath, runCommand, type ServerProcess, startShoal } from "../helpers/processes.ts";
import { BIN, requireBinary } from "./binary.ts";

let node: ServerProcess;
const clients: Redis[] = [];

beforeAll(async () => {
  node = await startShoal({ binary: requireBinary() });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await node?.stop();
});

function ioredis(): Redis {
  const c = new Redis({ port: node.port, host: "127.0.0.1", maxRetriesPerRequest: 1, connectTimeout: 5000, lazyConnect: false });
  clients.push(c);
  return c;
}

describe("redis-cli", () => {
  const cli = redisCliPath();
  testIf(missingProgram("redis-cli", "redis-tools"))("SET/GET/INCR/EXPIRE/TTL/KEYS/DEL", async () => {
    const run = async (...args: string[]) => {
      const r = await runCommand([cli!, "-h", "127.0.0.1", "-p", String(node.port), ...args], { timeoutMs: 10000 });
      expect(r.code).toBe(0);
      return r.stdout.trim();
    };
    expect(await run("PING")).toBe("PONG");
    expect(await run("SET", "cli:a", "hello world")).toBe("OK");
    expect(await run("GET", "cli:a")).toBe("hello world");
    expect(await run("INCR", "cli:n")).toBe("1");
    expect(await run("INCRBY", "cli:n", "41")).toBe("42");
    expect(await run("EXPIRE", "cli:a", "100")).toBe("1");
    expect(Number(await run("TTL", "cli:a"))).toBeGreaterThan(90);
    expect((await run("KEYS", "cli:*")).split("\n").sort()).toEqual(["cli:a", "cli:n"]);
    expect(await run("DEL", "cli:a", "cli:n")).toBe("2");
    expect(await run("GET", "cli:a")).toBe("");
    expect(await run("DBSIZE")).toMatch(/^\d+$/);
  });
  testIf(missingProgram("redis-cli", "redis-tools"))("piped commands (redis-cli reads stdin)", async () => {
    const r = await runCommand([cli!, "-p", String(node.port)], { stdin: "SET p 1\nINCR p\nGET p\n", timeoutMs: 10000 });
    expect(r.stdout.trim().split("\n")).toEqual(["OK", "2", "2"]);
  });
});

describe("ioredis", () => {
  test("basic commands", async () => {
    const r = ioredis();
    expect(await r.ping()).toBe("PONG");
    expect(await r.set("io:a", "1")).toBe("OK");
    expect(await r.get("io:a")).toBe("1");
    expect(await r.get("io:missing")).toBeNull();
    expect(await r.incrby("io:a", 9)).toBe(10);
    expect(await r.set("io:b", "x", "EX", 100)).toBe("OK");
    expect(await r.ttl("io:b")).toBeGreaterThan(90);
    expect(await r.mset("io:c", "3", "io:d", "4")).toBe("OK");
    expect(await r.mget("io:a", "io:c", "io:d", "io:zz")).toEqual(["10", "3", "4", null]);
    expect(await r.exists("io:a", "io:zz")).toBe(1);
    const bin = Buffer.from([0, 255, 13, 10, 1]);
    await r.set("io:bin", bin);
    expect(Buffer.compare((await r.getBuffer("io:bin"))!, bin)).toBe(0);
    expect(await r.del("io:a", "io:b", "io:c", "io:d", "io:bin")).toBe(5);
  });

  test("pipeline of 500 commands", async () => {
    const r = ioredis();
    const p = r.pipeline();
    for (let i = 0; i < 250; i++) p.set(`pl:${i}`, String(i));
    for (let i = 0; i < 250; i++) p.incr(`pl:${i}`);
    const results = (await p.exec())!;
    expect(results.length).toBe(500);
    expect(results.every(([err]) => err === null)).toBe(true);
    expect(results[499]![1]).toBe(250);
    expect(await r.get("pl:7")).toBe("8");
  });

  test("scanStream sees every key", async () => {
    const r = ioredis();
    await r.mset(...Array.from({ length: 60 }, (_, i) => [`sc:${i}`, "v"]).flat());
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const s = r.scanStream({ match: "sc:*", count: 7 });
      s.on("data", (keys: string[]) => {
        for (const k of keys) seen.add(k);
      });
      s.on("end", () => resolve());
      s.on("error", reject);
    });
    expect(seen.size).toBe(60);
  });

  test("pub/sub: subscribe, psubscribe, publish counts", async () => {
    const sub = ioredis();
    const pub = ioredis();
    const got: string[] = [];
    sub.on("message", (ch: string, msg: string) => got.push(`${ch}:${msg}`));
    sub.on("pmessage", (pat: string, ch: string, msg: string) => got.push(`${pat}|${ch}:${msg}`));
    await sub.subscribe("news");
    await sub.psubscribe("n*");
    expect(await pub.publish("news", "hello")).toBe(2);
    expect(await pub.publish("nothing-here", "x")).toBe(1);
    expect(await pub.publish("other", "x")).toBe(0);
    for (let i = 0; i < 100 && got.length < 3; i++) await Bun.sleep(20);
    expect(got.sort()).toEqual(["n*|news:hello", "n*|nothing-here:x", "news:hello"].sort());
    await sub.unsubscribe("news");
    await sub.punsubscribe("n*");
    expect(await pub.publish("news", "again")).toBe(0);
  });
});

describe("HTTP API", () => {
  const url = (path: string) => `http://127.0.0.1:${node.httpPort}${path}`;

  test("PUT/GET/DELETE a key, binary-safe, Content-Type kept, ETag → 304", async () => {
    const body = new Uint8Array([0, 1, 2, 250, 13, 10]);
    const put = await fetch(url("/v1/maps/web/keys/k1"), { method: "PUT", body, headers: { "content-type": "application/octet-stream" } });
    expect(put.status).toBeLessThan(300);
    const get = await fetch(url("/v1/maps/web/keys/k1"));
    expect(get.status).toBe(200);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(body);
    expect(get.headers.get("content-type")).toContain("application/octet-stream");
    const etag = get.headers.get("etag");
    expect(etag).toBeTruthy();
    const cached = await fetch(url("/v1/maps/web/keys/k1"), { headers: { "if-none-match": etag! } });
    expect(cached.status).toBe(304);
    const del = await fetch(url("/v1/maps/web/keys/k1"), { method: "DELETE" });
    expect(del.status).toBeLessThan(300);
    expect((await fetch(url("/v1/maps/web/keys/k1"))).status).toBe(404);
  });

  test("PUT with ?ttl= on the default map is visible over RESP with its TTL", async () => {
    const put = await fetch(url("/v1/maps/default/keys/http-k?ttl=100s"), { method: "PUT", body: "from-http" });
    expect(put.status).toBeLessThan(300);
    const r = ioredis();
    expect(await r.get("http-k")).toBe("from-http");
    const ttl = await r.ttl("http-k");
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
  });

  test("pub/sub as Server-Sent Events: RESP PUBLISH reaches an SSE subscriber; HTTP POST reaches a RESP subscriber", async () => {
    const abort = new AbortController();
    const res = await fetch(url("/v1/pubsub/sse-news"), { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 5000;
      while (!text.includes(needle) && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)]);
        if (!chunk || chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
      return text.includes(needle);
    };
    expect(await readUntil("event: subscribed")).toBe(true);
    const pub = ioredis();
    expect(await pub.publish("sse-news", "hello sse")).toBe(1);
    expect(await readUntil("data: hello sse")).toBe(true);
    expect(text).toContain("event: message");
    abort.abort();

    const sub = ioredis();
    const got: string[] = [];
    sub.on("message", (_ch: string, msg: string) => got.push(msg));
    await sub.subscribe("from-http");
    const post = await fetch(url("/v1/pubsub/from-http"), { method: "POST", body: "posted" });
    expect(post.status).toBe(200);
    expect(await post.json()).toEqual({ receivers: 1 });
    for (let i = 0; i < 100 && got.length === 0; i++) await Bun.sleep(20);
    expect(got).toEqual(["posted"]);
  });

  test("/healthz, /readyz and /metrics", async () => {
    expect((await fetch(url("/healthz"))).status).toBe(200);
    expect((await fetch(url("/readyz"))).status).toBe(200);
    const m = await fetch(url("/metrics"));
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toContain("text/plain");
    const text = await m.text();
    expect(text).toContain("# TYPE");
    expect(text).toMatch(/^shoal_\w+/m);
  });
});

describe("redis-benchmark", () => {
  const bench = programPath("redis-benchmark");
  testIf(missingProgram("redis-benchmark", "redis-tools"))("runs SET/GET against the node (uses CONFIG GET and pipelining)", async () => {
    const r = await runCommand([bench!, "-h", "127.0.0.1", "-p", String(node.port), "-n", "2000", "-c", "5", "-P", "4", "-t", "set,get", "-q"], { timeoutMs: 60000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SET: [\d.]+ requests per second/);
    expect(r.stdout).toMatch(/GET: [\d.]+ requests per second/);
  });
});

describe("the binary's own client commands", () => {
  test("shoal cli PING", async () => {
    const r = await runCommand([BIN, "cli", "--port", String(node.port), "PING"], { timeoutMs: 15000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("PONG");
  });

  test("shoal cli SET then GET", async () => {
    expect((await runCommand([BIN, "cli", "--port", String(node.port), "SET", "bincli", "v1"], { timeoutMs: 15000 })).stdout).toContain("OK");
    expect((await runCommand([BIN, "cli", "--port", String(node.port), "GET", "bincli"], { timeoutMs: 15000 })).stdout).toContain("v1");
  });

  test("shoal stats prints the node's stats", async () => {
    const r = await runCommand([BIN, "stats", "--port", String(node.port)], { timeoutMs: 15000 });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(20);
    expect(r.stdout).toMatch(/keys|connections|commands/i);
  });

  test("shoal bench -n 2000 prints ops/s and p50/p99", async () => {
    const r = await runCommand([BIN, "bench", "--port", String(node.port), "-n", "2000"], { timeoutMs: 60000 });
    expect(r.code).toBe(0);
    // redis-benchmark style: "SET: 33643.05 requests per second, p50=1.045 msec, p99=4.072 msec"
    for (const t of ["SET", "GET"]) {
      expect(r.stdout).toMatch(new RegExp(`${t}: [\\d.]+ (requests per second|ops/s), p50=[\\d.]+ msec, p99=[\\d.]+ msec`));
    }
  });
});
