/**
 * Replica drain after a 5-minute outage under steady writes, in the
 * deterministic simulator (whole cluster in one process on a simulated
 * clock and network, the same code as `shoal serve`): 3 nodes, RF=3, W=2,
 * the `local` membership preset, anti-entropy and hinted handoff at their
 * defaults (10 s rounds, 100 000 hints). A client writes new keys through
 * node 0 at a steady rate for the whole run; node 2 is cut off for
 * `--outage` simulated seconds, then the fault ends. Measures, from the end
 * of the fault, how long until node 2 holds every key acknowledged before
 * the fault ended (the drain), and what did it (hints delivered,
 * anti-entropy keys repaired, rebalance pushes).
 *
 * Two outages:
 * - `lossy`: 30% of the messages sent to node 2 dropped (it stays a member
 *   most of the time; writes that miss it become hints);
 * - `partition`: node 2 cut off both ways (the others declare it dead and
 *   rebuild their tables without it; it comes back through a rejoin).
 *
 *   npx bun bench/replica-drain.ts [--outage 300] [--rate 50] [--seed 1]
 *
 * Simulated time, so the figures do not depend on the machine's load; the
 * wall time of the run is printed too.
 */
import { parseArgs } from "node:util";
import { mix, SimCluster } from "../chaos/sim/cluster.ts";
import { SimNetwork } from "../chaos/sim/network.ts";
import { SeededRng } from "../core/clock.ts";
import { membershipTimings } from "../core/cluster/membership-config.ts";
import { SimClock } from "../core/cluster/sim-clock.ts";
import { ClientSession } from "../core/protocol/session.ts";

const { values: args } = parseArgs({
  options: {
    outage: { type: "string", default: "300" },
    rate: { type: "string", default: "50" },
    seed: { type: "string", default: "1" },
  },
});
const outageMs = Number(args.outage) * 1000;
const rate = Number(args.rate);
const seed = Number(args.seed);
const enc = new TextEncoder();

interface Result {
  kind: string;
  acked: number;
  missingAtHeal: number;
  drainMs: number | null;
  hintsDelivered: number;
  keysRepaired: number;
  rebalanced: number;
  wallMs: number;
}

async function run(kind: "lossy" | "partition"): Promise<Result> {
  const wall = Date.now();
  const sim = new SimClock();
  const net = new SimNetwork(sim, new SeededRng(mix(seed, 7)));
  const cluster = new SimCluster(sim, net, seed, {
    nodes: 3,
    replicaCount: 3,
    writeQuorum: 2,
    readQuorum: 1,
    memberCountQuorum: 2,
    partitionCount: 271,
    peerTimeoutMs: 1000,
    timings: membershipTimings("local"),
    bugs: {},
    antiEntropy: { intervalMs: 10_000, maxKeys: 100_000 },
    hints: { maxEntries: 100_000, maxBytes: 64 << 20, retryMs: 1000 },
  });
  const started = [cluster.start(0, []), cluster.start(1, [0]), cluster.start(2, [0])].map((i) => i.started);
  let booted = false;
  void Promise.all(started).then(() => (booted = true));
  for (let t = 0; t < 30_000 && !booted; t += 50) await sim.advance(50);
  await sim.advance(3000);

  const names = cluster.names;
  const acked: string[] = [];
  let n = 0;
  let writing = true;
  const write = (): void => {
    if (!writing) return;
    const key = `w:${n++}`;
    const inc = cluster.at(0)!;
    const s = new ClientSession(inc.node, {
      write: (b) => {
        if (b[0] === 43 /* + */) acked.push(key);
        s.onClose();
      },
      close: () => undefined,
      remote: "bench",
    });
    s.onData(enc.encode(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$1\r\nv\r\n`));
    sim.setTimer(1000 / rate, write);
  };
  write();
  await sim.advance(5000);

  const FAULT = 1;
  if (kind === "lossy") {
    for (const from of [names[0]!, names[1]!]) net.addRule(FAULT, { from, to: names[2]!, drop: 0.3 });
  } else {
    for (const other of [names[0]!, names[1]!]) {
      net.block(FAULT, other, names[2]!);
      net.block(FAULT, names[2]!, other);
    }
  }
  await sim.advance(outageMs);
  net.clear(FAULT);
  const healedAt = sim.monotonic();
  const before = new Set(acked);
  const missing = (): number => {
    const db = cluster.at(2)!.node.db;
    let m = 0;
    for (const k of before) if (db.get(k) === null) m++;
    return m;
  };
  const missingAtHeal = missing();
  let drainMs: number | null = null;
  for (let t = 0; t <= 600_000; t += 250) {
    if (missing() === 0) {
      drainMs = sim.monotonic() - healedAt;
      break;
    }
    await sim.advance(250);
  }
  writing = false;
  const sum = (f: (i: number) => number): number => [0, 1, 2].reduce((a, i) => a + f(i), 0);
  const result: Result = {
    kind,
    acked: before.size,
    missingAtHeal,
    drainMs,
    hintsDelivered: sum((i) => cluster.at(i)!.cluster.handoff.delivered),
    keysRepaired: sum((i) => cluster.at(i)!.cluster.repairs.keysRepaired),
    rebalanced: sum((i) => cluster.at(i)!.cluster.rebalanced),
    wallMs: Date.now() - wall,
  };
  for (const i of cluster.running()) {
    cluster.at(i)!.clock.kill();
    cluster.at(i)!.node.stop();
    await cluster.at(i)!.cluster.stop();
  }
  return result;
}

console.log(`replica drain: 3 nodes RF=3 W=2, ${rate} writes/s through node 0, node 2 out for ${outageMs / 1000} simulated s (seed ${seed})`);
for (const kind of ["lossy", "partition"] as const) {
  const r = await run(kind);
  console.log(
    `${r.kind.padEnd(9)} acked before the fault ended ${r.acked}, node 2 missing then ${r.missingAtHeal}, drained in ${r.drainMs === null ? "NOT within 600 s" : `${(r.drainMs / 1000).toFixed(1)} s`}` +
      ` (hints delivered ${r.hintsDelivered}, anti-entropy keys repaired ${r.keysRepaired}, rebalance pushes ${r.rebalanced}; wall ${(r.wallMs / 1000).toFixed(1)} s)`,
  );
}
