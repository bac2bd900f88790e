/**
 * Stopping a whole cluster at once: three real processes holding keys get
 * SIGTERM together (a deploy that restarts every node, `docker compose
 * down`). Each one's graceful leave runs while the others leave too, down to
 * an agreed configuration with no members and no partition table; every
 * process must still exit 0 without an error on its output.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { freePorts, sleep } from "../../helpers/ports.ts";
import { type ServerProcess, spawnShoal } from "../../helpers/processes.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { encodeCommand } from "../../helpers/resp.ts";

const nodes: ServerProcess[] = [];
const clients: RawClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.stop(500);
});

describe("stopping every node of a cluster at once", () => {
  test("three nodes with keys, SIGTERM together: each exits 0 with no error logged", async () => {
    const ports = await freePorts(9);
    const peers = [0, 1, 2].map((i) => `127.0.0.1:${ports[6 + i]}`).join(",");
    for (let i = 0; i < 3; i++) {
      const args = ["serve", "--bind", "127.0.0.1", "--port", String(ports[i]), "--http-port", String(ports[3 + i]), "--peer-port", String(ports[6 + i])];
      args.push("--peers", peers, "--replica-count", "2", "--preset", "lan", "--log-format", "json");
      nodes.push(await spawnShoal({ port: ports[i]!, httpPort: ports[3 + i]!, args }));
    }
    const deadline = Date.now() + 15_000;
    const ready = async (n: ServerProcess) => (await fetch(`http://127.0.0.1:${n.httpPort}/readyz`)).status === 200;
    while (!(await Promise.all(nodes.map(ready))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error(`cluster not ready:\n${nodes.map((n) => n.output().slice(-1500)).join("\n---\n")}`);
      await sleep(100);
    }
    const c = await RawClient.connect(nodes[0]!.port);
    clients.push(c);
    for (let start = 0; start < 60_000; start += 1000) {
      for (let k = start; k < start + 1000; k++) c.send(encodeCommand(["SET", `key:${k}`, "v".repeat(100)]));
      for (let k = start; k < start + 1000; k++) expect((await c.readReply(15_000)).toString()).toBe("+OK\r\n");
    }
    c.close();

    const codes = await Promise.all(nodes.map((n) => n.stop(15_000)));
    const errors = nodes.map((n) => n.output().split("\n").filter((l) => /TypeError|ReferenceError|uncaught|"level":"error"/i.test(l)));
    expect({ codes, errors }).toEqual({ codes: [0, 0, 0], errors: [[], [], []] });
  }, 60_000);
});
