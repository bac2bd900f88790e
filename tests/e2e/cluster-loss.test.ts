/**
 * The loss experiment of issue 15 against dist/shoal: three nodes, RF=3,
 * W=2, default anti-entropy and hinted-handoff settings. While 10,000 keys
 * are written through node 0, 30% of the peer messages sent to node 2 are
 * dropped (/v1/faults on the other two nodes: a rule `to: node 2, drop
 * 0.3`, which also drops their replies to node 2's requests). Then the loss
 * stops and nobody reads through the data path: every replica must hold
 * every acknowledged key within 2 minutes, by anti-entropy and hinted
 * handoff alone. Local copies are listed through /v1/debug/local-keys (the
 * node's own store, no routing, no read-repair).
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { RawClient } from "../helpers/raw-client.ts";
import { healAll, killAll, launchAll, localKeyList, nodeSpecs, type ShoalProc, until, waitMembers, waitReady, writeAll } from "./cluster-harness.ts";

const clients: RawClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await killAll();
});

/** A counter from a node's /metrics (0 when absent). */
async function metric(n: ShoalProc, name: string): Promise<number> {
  const r = await fetch(`http://${n.spec.host}:${n.spec.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  const line = (await r.text()).split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

describe("e2e loss experiment (dist/shoal, 3 nodes, RF=3 W=2)", () => {
  test("30% of peer messages to node 2 dropped during 10k writes through node 0: every replica holds every acknowledged key within 2 minutes after the loss stops, with no client reads", async () => {
    const specs = await nodeSpecs(3, {
      prefix: "loss",
      extra: (_i, peers) => ["--peers", peers.join(","), "--replica-count", "3", "--write-quorum", "2", "--fault-injection", "--peer-timeout", "300ms"],
    });
    const nodes = await launchAll(specs);
    await waitMembers(nodes, 3, 20_000, "formation");
    await waitReady(nodes, 20_000);
    const victim = nodes[2]!;
    for (const n of nodes.slice(0, 2)) await n.setFaults({ rules: [{ to: victim.peer, drop: 0.3 }] });

    const client = await nodes[0]!.connect();
    clients.push(client);
    const writes = Array.from({ length: 10_000 }, (_, i): [string, string] => [`loss:${i}`, `value-${i}`]);
    const lossStarted = Date.now();
    const r = await writeAll([client], writes, { batch: 250 });
    const acked = [...r.acked.keys()];
    const figures: Record<string, unknown> = {
      "writes acknowledged": `${acked.length} of ${writes.length}`,
      "write failures": Object.fromEntries(r.failures),
      "loss lasted ms": Date.now() - lossStarted,
    };
    expect(acked.length).toBeGreaterThan(5000);

    const missingOn = async (n: ShoalProc): Promise<number> => {
      const held = new Set(await localKeyList(n));
      return acked.filter((k) => !held.has(k)).length;
    };
    figures["node 2 missing when the loss stopped"] = await missingOn(victim);
    await healAll(nodes);
    const stopped = Date.now();
    let missing: number[] = [];
    const healed = await until(
      async () => {
        missing = await Promise.all(nodes.map(missingOn));
        return missing.every((m) => m === 0);
      },
      120_000,
      1000,
    );
    figures["loss stopped → every replica holds every acknowledged key (ms)"] = healed ? Date.now() - stopped : `not within 120 s, missing ${missing}`;
    figures["anti-entropy keys repaired (n0, n1, n2)"] = await Promise.all(nodes.map((n) => metric(n, "shoal_cluster_anti_entropy_keys_repaired_total")));
    figures["hints delivered (n0, n1, n2)"] = await Promise.all(nodes.map((n) => metric(n, "shoal_cluster_hints_delivered_total")));
    console.log(`cluster-loss:\n${JSON.stringify(figures, null, 2)}`);
    expect(missing).toEqual([0, 0, 0]);
    expect(healed).toBe(true);
    await Promise.all(nodes.map((n) => n.stop(10_000)));
  }, 300_000);
});
