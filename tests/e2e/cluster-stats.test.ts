/**
 * Observability of a 3-process cluster from the compiled binary:
 * `shoal stats` prints the members table (and `--json` passes the cluster
 * view through), GET /v1/cluster and /metrics agree, and after `kill -9`
 * of one node the survivors report it dead — with a log line that says why,
 * one JSON object per line with `--log-format json`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePorts, sleep } from "../helpers/ports.ts";
import { runCommand, type ServerProcess, spawnShoal } from "../helpers/processes.ts";
import { BIN, requireBinary } from "./binary.ts";

const nodes: ServerProcess[] = [];

beforeAll(() => {
  requireBinary();
});

afterAll(async () => {
  for (const n of nodes) await n.stop(500);
});

/** Polls `fn` until true or `limitMs` passes; returns whether it became true. */
async function until(fn: () => Promise<boolean> | boolean, limitMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return false;
}

interface ClusterJson {
  self: string;
  ready: boolean;
  epoch: number;
  liveMembers: number;
  members: { name: string; status: string; self: boolean; ownedPartitions: number; id: string }[];
}

const clusterOf = async (n: ServerProcess): Promise<ClusterJson> => (await (await fetch(`http://127.0.0.1:${n.httpPort}/v1/cluster`)).json()) as ClusterJson;

describe("shoal stats against a 3-process cluster", () => {
  test("shows 3 members; /v1/cluster and /metrics agree; a killed node turns dead and the log says why", async () => {
    const ports = await freePorts(9);
    const peers = [0, 1, 2].map((i) => `127.0.0.1:${ports[6 + i]}`);
    for (let i = 0; i < 3; i++) {
      const args = [
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
        peers.join(","),
        "--replica-count",
        "2",
        "--write-quorum",
        "2",
        "--preset",
        "local",
        "--log-format",
        i === 0 ? "json" : "text",
      ];
      nodes.push(await spawnShoal({ binary: BIN, port: ports[i]!, httpPort: ports[3 + i]!, args }));
    }
    const allSeeThree = async () => {
      for (const n of nodes) {
        const c = await clusterOf(n).catch(() => null);
        if (c?.members.filter((m) => m.status === "alive").length !== 3) return false;
        // and the node is in the agreed table (it answers HTTP while it is still joining)
        if (!c.ready || c.members.reduce((a, m) => a + m.ownedPartitions, 0) !== 271) return false;
      }
      return true;
    };
    if (!(await until(allSeeThree, 15_000))) throw new Error(`no convergence:\n${nodes.map((n) => n.output().slice(-1500)).join("\n---\n")}`);

    const r = await runCommand([BIN, "stats", "--port", String(ports[0])], { timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("members (3; * = this node)");
    for (const p of peers) expect(r.stdout).toMatch(new RegExp(`${p.replace(/\./g, "\\.")}( \\*)?\\s+alive`));
    expect(r.stdout).toContain(`${peers[0]} *`);
    expect(r.stdout).toMatch(/replication\s+2 copies, write quorum 2, read quorum 1, sync/);
    expect(r.stdout).toMatch(/\nrouter\n\s+forwarded/);
    expect(r.stdout).toContain("# Server"); // the INFO part is still there

    const j = await runCommand([BIN, "stats", "--port", String(ports[1]), "--json"], { timeoutMs: 10_000 });
    expect(j.code).toBe(0);
    const stats = JSON.parse(j.stdout) as { cluster: ClusterJson };
    expect(stats.cluster.self).toBe(peers[1]!);
    expect(stats.cluster.members.map((m) => m.name).sort()).toEqual([...peers].sort());

    const view = await clusterOf(nodes[2]!);
    expect(view.members.reduce((a, m) => a + m.ownedPartitions, 0)).toBe(271);
    const metrics = await (await fetch(`http://127.0.0.1:${nodes[0]!.httpPort}/metrics`)).text();
    expect(metrics).toContain('shoal_cluster_members{status="alive"} 3');
    expect(metrics).toMatch(/\nshoal_cluster_partitions 271\n/);

    // kill -9 node 2: the others report it dead, node 0 logs why as one JSON line per event
    nodes[2]!.proc.kill("SIGKILL");
    await nodes[2]!.exited;
    const deadOnBoth = async () => {
      for (const n of nodes.slice(0, 2)) {
        const c = await clusterOf(n);
        if (c.members.find((m) => m.name === peers[2])?.status !== "dead") return false;
      }
      return true;
    };
    expect(await until(deadOnBoth, 20_000)).toBe(true);
    const after = await (await fetch(`http://127.0.0.1:${nodes[0]!.httpPort}/metrics`)).text();
    expect(after).toContain('shoal_cluster_members{status="dead"} 1');
    expect(after).toContain('shoal_cluster_members{status="alive"} 2');
    const killed = await runCommand([BIN, "stats", "--port", String(ports[1])], { timeoutMs: 10_000 });
    expect(killed.stdout).toMatch(new RegExp(`${peers[2]!.replace(/\./g, "\\.")}\\s+dead`));

    // every line of the JSON-mode node is one JSON object
    const lines = nodes[0]!.output().split("\n").filter((l) => l.trim() !== "");
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const e of events) expect(typeof e.time === "string" && typeof e.event === "string" && typeof e.level === "string").toBe(true);
    const dead = events.find((e) => e.event === "member dead" && e.member === peers[2]);
    expect(dead).toBeDefined();
    expect(dead!.level).toBe("warn");
    expect(String(dead!.reason)).toMatch(/suspicion timeout \d+\.\ds expired with no refutation|declared dead by 127\.0\.0\.1:\d+/);
    // text mode on node 1 is one readable line per event
    const text = nodes[1]!.output().split("\n").find((l) => l.includes("member dead") && l.includes(peers[2]!));
    expect(text).toMatch(/^\S+Z WARN member dead member=127\.0\.0\.1:\d+ incarnation=\d+ reason="[^"]+"$/);
  }, 60_000);
});
