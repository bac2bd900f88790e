/**
 * CHAOS.md F10, deterministically: a node that stops holding a partition
 * hands its copies to every holder of the new table that lacks them — the
 * holders that stay too — before it drops them. A write needs only W of the
 * N copies, so a holder that stays may lack one that the leaving holder has
 * (and that copy may be the last one besides the owner's). Anti-entropy and
 * hints are off here, so only the rebalancer can have moved a copy; with the
 * F10 fix switched off (`pushNewHoldersOnly`) the staying holders keep
 * missing writes, which shows the test tells the two apart.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import type { ClusterBugs } from "../../../core/cluster/bugs.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { ShoalNode } from "../../../core/node.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const P = 31;
const running: ClusterNode[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

function member(net: MemoryNetwork, i: number, seed: string, bugs: ClusterBugs): { node: ShoalNode; cluster: ClusterNode; name: string } {
  const name = `n${i}:3322`;
  const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(i + 1), config: { partitionCount: P } });
  node.start();
  const cluster = new ClusterNode({
    node,
    transport: net.transport(),
    clock: systemClock,
    rng: new SeededRng(100 + i),
    self: name,
    seeds: [seed],
    timings: membershipTimings("lan", { probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200 }),
    replicaCount: 3,
    writeQuorum: 2,
    memberCountQuorum: 1,
    partitionCount: P,
    peerTimeoutMs: 500,
    antiEntropy: { intervalMs: 0, maxKeys: 100_000 },
    hints: { maxEntries: 0 },
    bugs,
  });
  running.push(cluster);
  return { node, cluster, name };
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !ok()) await Bun.sleep(10);
  return ok();
}

/** Three members holding every partition, 300 keys written to the owner and one replica only, then a fourth joins. */
async function joinWithMissingCopies(bugs: ClusterBugs): Promise<{ missing: number; planted: number; dropping: number }> {
  const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
  const ms = [0, 1, 2].map((i) => member(net, i, "n0:3322", bugs));
  for (const m of ms) await m.cluster.start();
  expect(await until(() => ms.every((m) => m.cluster.partitions?.members.length === 3), 10_000)).toBe(true);
  for (const m of ms) await m.cluster.settled();
  const before = ms[0]!.cluster.partitions!;
  const index = (name: string): number => ms.findIndex((m) => m.name === name);
  // each key: on its owner and one replica (the first or the second, in turn); the other replica never took it
  // (W=2 of 3 allows that)
  const keys: string[] = [];
  const copyAt = new Map<string, string>();
  for (let k = 0; k < 300; k++) {
    const key = `k${k}`;
    const p = partitionOf(utf8(key), P);
    const replica = before.replicas(p)[k % 2]!;
    const version = ms[index(before.owner(p))]!.cluster.hlc.now();
    for (const h of [before.owner(p), replica]) ms[index(h)]!.cluster.sync.apply({ map: "default", key: utf8(key), value: utf8(`v${k}`), expireAt: 0, version });
    keys.push(key);
    copyAt.set(key, replica);
  }
  const joiner = member(net, 3, "n0:3322", bugs);
  await joiner.cluster.start();
  const all = [...ms, joiner];
  expect(await until(() => all.every((m) => m.cluster.partitions?.members.length === 4), 10_000)).toBe(true);
  for (let i = 0; i < 3; i++) for (const m of all) await m.cluster.settled();
  const after = ms[0]!.cluster.partitions!;
  // the keys a holder that had them handed off (it no longer holds the partition) while the holder that lacked them
  // stays: only that hand-off can have brought them there (anti-entropy and hints are off)
  let missing = 0;
  let dropping = 0;
  for (const key of keys) {
    const p = partitionOf(utf8(key), P);
    const holders = [after.owner(p), ...after.replicas(p)];
    const had = [before.owner(p), copyAt.get(key)!];
    const lacking = [before.owner(p), ...before.replicas(p)].find((h) => !had.includes(h))!;
    if (!holders.includes(lacking) || had.every((h) => holders.includes(h))) continue;
    dropping++;
    if (all.find((m) => m.name === lacking)!.node.db.get(key) === null) missing++;
  }
  return { missing, planted: keys.length, dropping };
}

describe("rebalance hand-off of dropped partitions (F10)", () => {
  test("a holder that stays gets the copies a dropping holder had and it lacked; with the fix off it does not", async () => {
    const fixed = await joinWithMissingCopies({});
    expect(fixed.dropping).toBeGreaterThan(0);
    expect(fixed.missing).toBe(0);
    for (const c of running.splice(0)) await c.stop();
    const old = await joinWithMissingCopies({ pushNewHoldersOnly: true });
    expect(old.dropping).toBeGreaterThan(0);
    expect(old.missing).toBeGreaterThan(0);
  }, 60_000);
});
