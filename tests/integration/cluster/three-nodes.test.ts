/**
 * Cluster v0 with three real processes on loopback (static peers, RF=2,
 * W=2): 2,000 keys written through different nodes read back through every
 * node; after `kill -9` of one node every acknowledged key is still readable
 * through the survivors once membership has declared it dead; the killed
 * node rejoins and gets its partitions back; a graceful SIGTERM leave hands
 * its partitions off.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { freePorts, sleep } from "../../helpers/ports.ts";
import { type ServerProcess, spawnShoal } from "../../helpers/processes.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { encodeCommand } from "../../helpers/resp.ts";

const KEYS = 2000;
const nodes: ServerProcess[] = [];
const clients: RawClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.stop(500);
});

/** Sends `cmds` pipelined on `client` and returns the replies as text. */
async function pipeline(client: RawClient, cmds: string[][]): Promise<string[]> {
  for (const c of cmds) client.send(encodeCommand(c));
  const out: string[] = [];
  for (let i = 0; i < cmds.length; i++) out.push((await client.readReply(15_000)).toString("latin1"));
  return out;
}

/** Polls `fn` until true or `limitMs` passes; returns whether it became true. */
async function until(fn: () => Promise<boolean> | boolean, limitMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return false;
}

const tablesWith = (n: ServerProcess, members: number): boolean => {
  const lines = n.output().split("\n").filter((l) => l.includes("partition table rebuilt"));
  return lines.length > 0 && lines.at(-1)!.includes(`"members":${members}`);
};

describe("three-process cluster (RF=2, W=2)", () => {
  test("writes through any node, reads through every node; survives kill -9, rejoin and a graceful leave", async () => {
    const ports = await freePorts(9);
    const peerAddrs = [0, 1, 2].map((i) => `127.0.0.1:${ports[6 + i]}`);
    const argsOf = (i: number): string[] => [
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            String(ports[i]),
            "--http-port",
            String(ports[3 + i]),
            "--peer-port",
            String(ports[6 + i]),
            "--peers",
            peerAddrs.join(","),
            "--replica-count",
            "2",
            "--write-quorum",
            "2",
            "--preset",
            "local",
            "--log-format",
            "json",
    ];
    for (let i = 0; i < 3; i++) nodes.push(await spawnShoal({ port: ports[i]!, httpPort: ports[3 + i]!, args: argsOf(i) }));
    const victimArgs = argsOf(2);
    const converged = await until(() => nodes.every((n) => tablesWith(n, 3)), 10_000);
    if (!converged) throw new Error(`membership did not converge:\n${nodes.map((n) => n.output().slice(-2000)).join("\n---\n")}`);
    for (const n of nodes) {
      const ready = await until(async () => (await fetch(`http://127.0.0.1:${n.httpPort}/readyz`)).status === 200, 5000);
      expect(ready).toBe(true);
    }
    for (const n of nodes) clients.push(await RawClient.connect(n.port));

    // write through the three nodes in turn, 100 per pipeline
    const acked = new Set<number>();
    for (let start = 0; start < KEYS; start += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => start + j);
      const replies = await pipeline(clients[(start / 100) % 3]!, batch.map((k) => ["SET", `key:${k}`, `value:${k}`]));
      replies.forEach((r, j) => {
        if (r === "+OK\r\n") acked.add(batch[j]!);
      });
    }
    expect(acked.size).toBe(KEYS);

    // every node answers for every key
    for (const c of clients) {
      for (let start = 0; start < KEYS; start += 200) {
        const ks = Array.from({ length: 200 }, (_, j) => start + j);
        const replies = await pipeline(c, ks.map((k) => ["GET", `key:${k}`]));
        expect(replies).toEqual(ks.map((k) => `$${`value:${k}`.length}\r\nvalue:${k}\r\n`));
      }
    }

    // kill -9 the third node; the survivors must serve every acknowledged key once it is declared dead
    const victim = nodes[2]!;
    clients[2]!.close();
    const killedAt = Date.now();
    victim.proc.kill("SIGKILL");
    await victim.exited;
    const survivors = [clients[0]!, clients[1]!];
    let missing: string[] = [];
    const recovered = await until(
      async () => {
        missing = [];
        for (const c of survivors) {
          const replies = await pipeline(c, [...acked].map((k) => ["GET", `key:${k}`]));
          replies.forEach((r, j) => {
            const k = [...acked][j]!;
            if (r !== `$${`value:${k}`.length}\r\nvalue:${k}\r\n`) missing.push(`key:${k} → ${r.trim()}`);
          });
        }
        return missing.length === 0;
      },
      20_000,
      250,
    );
    const failoverMs = Date.now() - killedAt;
    console.log(`failover: all ${acked.size} acknowledged keys readable through both survivors ${failoverMs} ms after kill -9`);
    if (!recovered) throw new Error(`${missing.length} keys unreadable after 20 s, e.g. ${missing.slice(0, 5).join("; ")}`);
    expect(nodes.slice(0, 2).every((n) => tablesWith(n, 2))).toBe(true);

    // re-replication: with two members left and RF=2 each survivor ends up holding every key
    const dbsizes = async () => Promise.all(survivors.map(async (c) => (await c.call(["DBSIZE"])).trim()));
    const rereplicated = await until(async () => (await dbsizes()).every((r) => r === `:${KEYS}`), 10_000, 200);
    if (!rereplicated) throw new Error(`survivors hold ${(await dbsizes()).join(", ")} keys, expected ${KEYS} each`);

    // the killed node comes back on the same addresses, rejoins and serves every key again
    const back = await spawnShoal({ port: victim.port, httpPort: victim.httpPort, args: victimArgs });
    nodes.push(back);
    const rejoinedAt = Date.now();
    expect(await until(() => nodes.filter((n) => n !== victim).every((n) => tablesWith(n, 3)), 15_000)).toBe(true);
    const c3 = await RawClient.connect(back.port);
    clients.push(c3);
    missing = [];
    const complete = await until(
      async () => {
        const replies = await pipeline(c3, [...acked].map((k) => ["GET", `key:${k}`]));
        missing = replies.filter((r, j) => r !== `$${`value:${[...acked][j]}`.length}\r\nvalue:${[...acked][j]}\r\n`);
        return missing.length === 0;
      },
      15_000,
      250,
    );
    console.log(`rejoin: restarted node served all keys ${Date.now() - rejoinedAt} ms after its process started`);
    if (!complete) throw new Error(`${missing.length} keys unreadable through the rejoined node, e.g. ${missing.slice(0, 3).join("; ")}`);
    // and it holds its share locally again (rebalance pushed its partitions to it)
    expect(await until(async () => Number((await c3.call(["DBSIZE"])).slice(1)) > KEYS / 3, 10_000, 200)).toBe(true);

    // graceful leave (SIGTERM) of the first node: the other two keep every key, with no failed read on the way
    clients[0]!.close();
    const leftAt = Date.now();
    expect(await nodes[0]!.stop(8000)).toBe(0);
    const leaveMs = Date.now() - leftAt;
    const rest = [clients[1]!, c3];
    const afterLeave = async () => {
      missing = [];
      for (const c of rest) {
        const replies = await pipeline(c, [...acked].map((k) => ["GET", `key:${k}`]));
        replies.forEach((r, j) => {
          if (r !== `$${`value:${[...acked][j]}`.length}\r\nvalue:${[...acked][j]}\r\n`) missing.push(r.trim());
        });
      }
      return missing.length === 0;
    };
    const readable = await until(afterLeave, 10_000, 250);
    console.log(`graceful leave: process exited ${leaveMs} ms after SIGTERM; all keys readable through the other two: ${readable}`);
    if (!readable) throw new Error(`${missing.length} keys unreadable after the graceful leave, e.g. ${missing.slice(0, 3).join("; ")}`);
    const sizes = async () => Promise.all(rest.map(async (c) => (await c.call(["DBSIZE"])).trim()));
    expect(await until(async () => (await sizes()).every((r) => r === `:${KEYS}`), 10_000, 200)).toBe(true);
  }, 60_000);
});
