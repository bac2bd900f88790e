/**
 * The Redis Cluster protocol over a three-process shoal cluster on loopback:
 * CLUSTER SLOTS/SHARDS/NODES/INFO/MYID/KEYSLOT agree with each other and on
 * every node, `redis-cli --cluster check` passes, a cluster-aware session
 * gets MOVED for a key another node owns (and the owner serves it), ASKING
 * runs one command locally, and real cluster clients — ioredis `Cluster`
 * and `redis-cli -c` — read and write through it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { keySlot, partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { freePorts, sleep } from "../../helpers/ports.ts";
import { redisCliPath, runCommand, type ServerProcess, spawnShoal } from "../../helpers/processes.ts";
import { RawClient } from "../../helpers/raw-client.ts";

const nodes: ServerProcess[] = [];
const raws: RawClient[] = [];
let ports: number[] = [];

async function until(fn: () => Promise<boolean> | boolean, limitMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return false;
}

/** Parses a RESP reply (text) into nested arrays of strings/numbers, enough for CLUSTER SLOTS. */
function parse(text: string): unknown {
  let i = 0;
  const line = (): string => {
    const end = text.indexOf("\r\n", i);
    const s = text.slice(i, end);
    i = end + 2;
    return s;
  };
  const one = (): unknown => {
    const head = line();
    const t = head[0];
    const rest = head.slice(1);
    if (t === ":") return Number(rest);
    if (t === "+" || t === "-") return rest;
    if (t === "$") {
      const n = Number(rest);
      if (n < 0) return null;
      const s = text.slice(i, i + n);
      i += n + 2;
      return s;
    }
    if (t === "*" || t === "%") {
      const n = Number(rest) * (t === "%" ? 2 : 1);
      return Array.from({ length: n }, one);
    }
    throw new Error(`unexpected ${head}`);
  };
  return one();
}

beforeAll(async () => {
  ports = await freePorts(9);
  const peers = [0, 1, 2].map((i) => `127.0.0.1:${ports[6 + i]}`).join(",");
  for (let i = 0; i < 3; i++) {
    const args = ["serve", "--bind", "127.0.0.1", "--port", String(ports[i]), "--http-port", String(ports[3 + i]), "--peer-port", String(ports[6 + i])];
    args.push("--peers", peers, "--replica-count", "2", "--write-quorum", "2", "--preset", "local", "--log-format", "json");
    nodes.push(await spawnShoal({ port: ports[i]!, httpPort: ports[3 + i]!, args }));
  }
  const ready = await until(async () => {
    for (const n of nodes) if ((await fetch(`http://127.0.0.1:${n.httpPort}/readyz`)).status !== 200) return false;
    return true;
  }, 15_000);
  if (!ready) throw new Error(`cluster not ready:\n${nodes.map((n) => n.output().slice(-1500)).join("\n---\n")}`);
  for (const n of nodes) raws.push(await RawClient.connect(n.port));
  // every node knows every member's client address once CLUSTER SLOTS lists three owners
  const full = await until(async () => {
    for (const c of raws) if ((parse(await c.call(["CLUSTER", "SLOTS"])) as unknown[]).length === 0) return false;
    const owners = new Set((parse(await raws[0]!.call(["CLUSTER", "SLOTS"])) as [number, number, [string, number]][]).map((r) => r[2][1]));
    return owners.size === 3;
  }, 10_000);
  if (!full) throw new Error("CLUSTER SLOTS never listed three owners");
}, 60_000);

afterAll(async () => {
  for (const c of raws) c.close();
  for (const n of nodes) await n.stop(500);
});

describe("Redis Cluster protocol on a three-process shoal cluster", () => {
  test("CLUSTER SLOTS covers all 16384 slots exactly once, the same on every node, consistent with NODES, SHARDS and MYID", async () => {
    const views: string[] = [];
    for (const c of raws) {
      const slots = parse(await c.call(["CLUSTER", "SLOTS"])) as [number, number, [string, number, string, unknown]][];
      let next = 0;
      for (const [a, b, owner] of slots) {
        expect(a).toBe(next);
        expect(b).toBeGreaterThanOrEqual(a);
        expect(owner[0]).toBe("127.0.0.1");
        expect(ports.slice(0, 3)).toContain(owner[1]);
        expect(owner[2]).toMatch(/^[0-9a-f]{40}$/);
        next = b + 1;
      }
      expect(next).toBe(16384);
      views.push(JSON.stringify(slots));
    }
    expect(new Set(views).size).toBe(1);

    const nodesText = parse(await raws[1]!.call(["CLUSTER", "NODES"])) as string;
    const lines = nodesText.trim().split("\n");
    expect(lines).toHaveLength(3);
    const myId = parse(await raws[1]!.call(["CLUSTER", "MYID"])) as string;
    const mine = lines.filter((l) => l.includes("myself"));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.split(" ")[0]).toBe(myId);
    expect(mine[0]!.split(" ")[1]).toBe(`127.0.0.1:${ports[1]}@${ports[7]}`);
    for (const l of lines) expect(l).toMatch(/^[0-9a-f]{40} 127\.0\.0\.1:\d+@\d+ (myself,)?master - 0 0 \d+ connected( \d+(-\d+)?)+$/);

    const shards = parse(await raws[2]!.call(["CLUSTER", "SHARDS"])) as unknown[][];
    expect(shards).toHaveLength(3);
    const info = parse(await raws[0]!.call(["CLUSTER", "INFO"])) as string;
    expect(info).toContain("cluster_state:ok\r\n");
    expect(info).toContain("cluster_slots_assigned:16384\r\n");
    expect(info).toContain("cluster_known_nodes:3\r\n");
    expect(await raws[0]!.call(["CLUSTER", "KEYSLOT", "{user1000}.following"])).toBe(":3443\r\n");
    expect(await raws[0]!.call(["CLUSTER", "NOPE"])).toStartWith("-ERR unknown subcommand 'NOPE'. Try CLUSTER HELP.");
    expect(await raws[0]!.call(["CLUSTER", "KEYSLOT"])).toStartWith("-ERR wrong number of arguments for 'cluster|keyslot' command");
    expect(await raws[0]!.call(["CLUSTER", "COUNTKEYSINSLOT", "16384"])).toStartWith("-ERR Invalid slot");
  });

  test("redis-cli --cluster check passes", async () => {
    const cli = redisCliPath();
    if (!cli) throw new Error("redis-cli is not installed (apt-get install redis-tools)");
    const r = await runCommand([cli, "--cluster", "check", `127.0.0.1:${ports[0]}`], { timeoutMs: 20_000 });
    const out = r.stdout + r.stderr;
    expect(out).toContain("[OK] All nodes agree about slots configuration.");
    expect(out).toContain("[OK] All 16384 slots covered.");
    expect(r.code).toBe(0);
  });

  test("a cluster-aware session gets MOVED to the owner; plain sessions are forwarded", async () => {
    const slots = parse(await raws[0]!.call(["CLUSTER", "SLOTS"])) as [number, number, [string, number]][];
    const ownerPort = (key: string) => slots.find(([a, b]) => keySlot(utf8(key)) >= a && keySlot(utf8(key)) <= b)![2][1];
    let key = "";
    for (let i = 0; i < 1000 && !key; i++) if (ownerPort(`mv${i}`) !== ports[0]) key = `mv${i}`;
    const plain = await RawClient.connect(ports[0]!);
    raws.push(plain);
    expect(await plain.call(["SET", key, "v"])).toBe("+OK\r\n"); // forwarded
    // raws[0] asked for CLUSTER SLOTS above: it is cluster-aware now
    expect(await raws[0]!.call(["GET", key])).toBe(`-MOVED ${keySlot(utf8(key))} 127.0.0.1:${ownerPort(key)}\r\n`);
    const owner = raws[ports.indexOf(ownerPort(key))]!;
    expect(await owner.call(["GET", key])).toBe("$1\r\nv\r\n");
    // ASKING is accepted; no slot is being imported here (a new owner catches up by itself), so Redis answers MOVED too
    expect(await raws[0]!.call(["ASKING"])).toBe("+OK\r\n");
    expect(await raws[0]!.call(["GET", key])).toStartWith("-MOVED ");
    // partitions are slot ranges: a key's partition follows its slot
    expect(partitionOf(utf8(key), 271)).toBe(Math.floor((keySlot(utf8(key)) * 271) / 16384));
  });

  test("ioredis Cluster writes and reads through the cluster, hash tags keep multi-key commands together", async () => {
    const cluster = new Redis.Cluster([{ host: "127.0.0.1", port: ports[1]! }], { enableOfflineQueue: true, redisOptions: { connectTimeout: 3000 } });
    try {
      for (let i = 0; i < 200; i++) await cluster.set(`io:${i}`, `v${i}`);
      for (let i = 0; i < 200; i += 37) expect(await cluster.get(`io:${i}`)).toBe(`v${i}`);
      await cluster.mset("{tag}a", "1", "{tag}b", "2");
      expect(await cluster.mget("{tag}a", "{tag}b")).toEqual(["1", "2"]);
      expect(await cluster.incr("io:ctr")).toBe(1);
      // every value is visible to plain clients on any node too
      const plain = await RawClient.connect(ports[2]!);
      raws.push(plain);
      expect(await plain.call(["GET", "io:199"])).toBe("$4\r\nv199\r\n");
    } finally {
      cluster.disconnect();
    }
  });

  test("redis-cli -c sets and gets through any node", async () => {
    const cli = redisCliPath();
    if (!cli) throw new Error("redis-cli is not installed (apt-get install redis-tools)");
    for (let i = 0; i < 3; i++) {
      const set = await runCommand([cli, "-c", "-p", String(ports[i]), "SET", `cli:${i}`, `x${i}`], { timeoutMs: 10_000 });
      expect(set.stdout.trim()).toBe("OK");
    }
    for (let i = 0; i < 3; i++) {
      const get = await runCommand([cli, "-c", "-p", String(ports[(i + 1) % 3]), "GET", `cli:${i}`], { timeoutMs: 10_000 });
      expect(get.stdout.trim()).toBe(`x${i}`);
    }
  });

  test("plain clients see one cache: FLUSHDB, DBSIZE, KEYS and SCAN cover every member once; PUBLISH reaches subscribers on other nodes", async () => {
    const c = [0, 1, 2].map(() => null as RawClient | null);
    for (let i = 0; i < 3; i++) {
      c[i] = await RawClient.connect(ports[i]!);
      raws.push(c[i]!);
    }
    const [a, b, d] = c as RawClient[];
    expect(await a.call(["FLUSHDB"])).toBe("+OK\r\n");
    expect(await b.call(["DBSIZE"])).toBe(":0\r\n");
    const N = 500;
    for (let i = 0; i < N; i += 100) {
      for (let j = i; j < i + 100; j++) a.send(`*3\r\n$3\r\nSET\r\n$${`cw:${j}`.length}\r\ncw:${j}\r\n$1\r\nv\r\n`);
      for (let j = i; j < i + 100; j++) expect((await a.readReply(10_000)).toString()).toBe("+OK\r\n");
    }
    // RF=2: every key is stored twice, but counted once
    expect(await d.call(["DBSIZE"])).toBe(`:${N}\r\n`);
    const keys = parse(await b.call(["KEYS", "cw:*"])) as string[];
    expect(keys).toHaveLength(N);
    expect(new Set(keys).size).toBe(N);
    const seen: string[] = [];
    let cursor = "0";
    for (let round = 0; round < 10_000; round++) {
      const [next, page] = parse(await d.call(["SCAN", cursor, "COUNT", "50", "MATCH", "cw:*"])) as [string, string[]];
      seen.push(...page);
      cursor = next;
      if (cursor === "0") break;
    }
    expect(cursor).toBe("0");
    expect(new Set(seen).size).toBe(N);
    expect(seen.length).toBe(N);
    // a Redis Cluster client (raws[0] asked for CLUSTER SLOTS) gets this node's share only
    const own = Number((await raws[0]!.call(["DBSIZE"])).slice(1));
    expect(own).toBeGreaterThan(0);
    expect(own).toBeLessThan(N);

    // PUBLISH through one node reaches a subscriber connected to another
    const sub = await RawClient.connect(ports[2]!);
    raws.push(sub);
    expect((await sub.call(["SUBSCRIBE", "news"])).toString()).toContain("subscribe");
    expect(await a.call(["PUBLISH", "news", "hello"])).toBe(":1\r\n");
    expect((await sub.readReply(5000)).toString()).toBe("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");

    expect(await b.call(["FLUSHALL"])).toBe("+OK\r\n");
    expect(await a.call(["DBSIZE"])).toBe(":0\r\n");
  });
});
