/**
 * One simulation seed, start to end: boot N nodes, run the clients while the
 * nemesis injects faults for `steps` steps, stop the faults, wait for the
 * cluster to converge (liveness), read every key once more, and run the
 * checkers. Everything is driven by one {@link SimClock} and Rngs derived
 * from the seed, so a seed replays bit for bit.
 */
import { SeededRng } from "../../core/clock.ts";
import { bugsFrom } from "../../core/cluster/bugs.ts";
import { membershipTimings } from "../../core/cluster/membership-config.ts";
import { SimClock } from "../../core/cluster/sim-clock.ts";
import type { FaultStats } from "../../transports/faulty.ts";
import { checkHistory, checkLiveness, lockOverlaps, type Violation } from "../checkers.ts";
import { type History, HistoryRecorder, historyHash, type LivenessObservation, type Outcome } from "../history.ts";
import { type DeadVerdicts, mix, SimCluster } from "./cluster.ts";
import { divergentPartitions } from "./convergence.ts";
import { FAULT_KINDS, type FaultEvent, type FaultKind, type LinkSeverity, Nemesis } from "./nemesis.ts";
import { SimNetwork } from "./network.ts";
import { Workload, type WorkloadMix } from "./workload.ts";

/** Options of one simulated run. */
export interface SimOptions {
  seed: number;
  /** Cluster size (default 5). */
  nodes?: number;
  /** Nemesis steps with faults (default 100). */
  steps?: number;
  /** Simulated ms per step (default 200). */
  stepMs?: number;
  /** Concurrent clients (default 4). */
  clients?: number;
  /** Planted bugs (names from core/cluster/bugs.ts). */
  bugs?: readonly string[];
  /** How nodes agree on partition ownership (default consensus; gossip: each node's own member list). */
  ownership?: "consensus" | "gossip";
  /** Fault kinds drawn (default all). */
  kinds?: readonly FaultKind[];
  /** Nodes faulty at once (default 1). */
  maxFaultyNodes?: number;
  /** Read quorum R (default 2). */
  readQuorum?: number;
  /** Write quorum W (default 2). */
  writeQuorum?: number;
  /** Replicas per partition, owner included (default 3). */
  replicaCount?: number;
  /** Bound on convergence after the faults stop, simulated ms (default 30 000). */
  livenessBoundMs?: number;
  /** Simulated ms after the cluster converged within which every partition's holders must agree (default 10 000). */
  convergenceBoundMs?: number;
  /** Strength of link faults (default `harsh`). */
  linkSeverity?: LinkSeverity;
  /** Largest clock offset of a node, ms (default 100). */
  maxSkewMs?: number;
  /** Probability of starting a fault per step (default 0.3). */
  faultRate?: number;
  /** Operations the clients issue (default `mixed`). */
  workload?: WorkloadMix;
  /** Keep the history in the report (default false). */
  keepHistory?: boolean;
}

/** What one seed produced. */
export interface SeedReport {
  seed: number;
  violations: Violation[];
  /** Keys whose linearizability search ran out of budget. */
  inconclusive: string[];
  /** Lock holders that overlapped in time, told apart by their fencing tokens. */
  lockOverlaps: number;
  operations: number;
  outcomes: Record<Outcome, number>;
  faults: Record<FaultKind, number>;
  /** The fault schedule as it happened. */
  faultEvents: FaultEvent[];
  network: FaultStats;
  liveness: LivenessObservation;
  historyHash: string;
  /** Simulated ms the run took. */
  simulatedMs: number;
  /** The failure detector's "dead" verdicts, by what the member really was (running = false positive). */
  deadVerdicts: DeadVerdicts;
  history?: History;
}

/** Runs `p` while advancing the clock in `stepMs` steps, at most `limitMs`; returns whether it settled. */
async function drive(sim: SimClock, p: Promise<unknown>, limitMs: number, stepMs = 50): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let t = 0; t < limitMs && !done; t += stepMs) await sim.advance(stepMs);
  return done;
}

/** Runs one seed. */
export async function runSimSeed(o: SimOptions): Promise<SeedReport> {
  const seed = o.seed >>> 0;
  const n = o.nodes ?? 5;
  const replicaCount = Math.min(o.replicaCount ?? 3, n);
  const maxSkewMs = o.maxSkewMs ?? 100;
  const sim = new SimClock();
  const net = new SimNetwork(sim, new SeededRng(mix(seed, 1_000_001)));
  const cluster = new SimCluster(sim, net, seed, {
    nodes: n,
    replicaCount,
    writeQuorum: Math.min(o.writeQuorum ?? 2, replicaCount),
    readQuorum: Math.min(o.readQuorum ?? 2, replicaCount),
    memberCountQuorum: Math.floor(n / 2) + 1,
    partitionCount: 31,
    peerTimeoutMs: 250,
    timings: membershipTimings("local", {
      probeIntervalMs: 200,
      probeTimeoutMs: 80,
      gossipIntervalMs: 50,
      pushPullIntervalMs: 2000,
      syncTimeoutMs: 500,
      suspicionMult: 3,
      gossipToTheDeadMs: 5000,
    }),
    bugs: bugsFrom(o.bugs ?? []),
    ownership: o.ownership,
    antiEntropy: { intervalMs: 1000, maxKeys: 10_000, confirmMinAgeMs: 4000 },
    hints: { maxEntries: 2000, maxBytes: 1 << 20, retryMs: 200 },
  });
  const boot = [cluster.start(0, [])];
  for (let i = 1; i < n; i++) boot.push(cluster.start(i, [0]));
  await drive(sim, Promise.all(boot.map((b) => b.started)), 30_000);
  const nemesis = new Nemesis(sim, cluster, net, new SeededRng(mix(seed, 1_000_003)), {
    kinds: o.kinds ?? FAULT_KINDS,
    maxFaultyNodes: o.maxFaultyNodes ?? 1,
    maxLinkFaults: 2,
    maxSkewMs,
    linkSeverity: o.linkSeverity ?? "harsh",
    rate: o.faultRate ?? 0.3,
    settleMs: 2000,
  });
  for (let t = 0; t < 30_000 && !nemesis.healthy(); t += 100) await sim.advance(100);

  const rec = new HistoryRecorder();
  const workload = new Workload(sim, cluster, new SeededRng(mix(seed, 1_000_002)), rec, {
    clients: o.clients ?? 4,
    timeoutMs: 1500,
    thinkMs: 60,
    mix: o.workload ?? "mixed",
  });
  const clients = workload.start();
  const stepMs = o.stepMs ?? 200;
  for (let s = 0; s < (o.steps ?? 100); s++) {
    await nemesis.step();
    await sim.advance(stepMs);
  }
  await nemesis.stopAll();
  workload.stop();
  await drive(sim, clients, 10_000);

  // liveness: every node back, converged, ready, fully replicated
  const bound = o.livenessBoundMs ?? 30_000;
  const t0 = sim.monotonic();
  let convergedAfterMs: number | null = null;
  for (let t = 0; t <= bound; t += 100) {
    if (observe(cluster, replicaCount, bound, null).every) {
      convergedAfterMs = sim.monotonic() - t0;
      break;
    }
    await sim.advance(100);
  }
  const liveness = observe(cluster, replicaCount, bound, convergedAfterMs).observation;
  await sim.advance(500); // let the last rebalance pushes land before reading back
  // replicas converge by themselves (anti-entropy, hinted handoff): checked before the final reads, which repair
  const convergenceBound = o.convergenceBoundMs ?? 10_000;
  let divergent = divergentPartitions(cluster);
  for (let t = 0; t < convergenceBound && divergent.length > 0; t += 100) {
    await sim.advance(100);
    divergent = divergentPartitions(cluster);
  }
  await drive(sim, workload.finalReads(), 30_000);

  const history = rec.history();
  const inconclusive: string[] = [];
  const violations = [
    ...checkHistory(history, { clockSlackMs: 2 * maxSkewMs, onInconclusive: (k) => inconclusive.push(k) }),
    ...checkLiveness(liveness),
    ...(convergedAfterMs !== null && divergent.length > 0
      ? [
          {
            checker: "convergence" as const,
            message: `holders still differ ${convergenceBound} ms after the cluster converged, with no client reads: ${divergent.slice(0, 5).join("; ")}${divergent.length > 5 ? ` (+${divergent.length - 5} more)` : ""}`,
            ops: [],
          },
        ]
      : []),
  ];
  const outcomes: Record<Outcome, number> = { ok: 0, fail: 0, unknown: 0 };
  for (const op of history.ops) outcomes[op.outcome]++;
  for (const i of cluster.running()) {
    cluster.at(i)!.clock.kill();
    cluster.at(i)!.node.stop();
    await cluster.at(i)!.cluster.stop();
  }
  return {
    seed,
    violations,
    inconclusive,
    lockOverlaps: lockOverlaps(history, 2 * maxSkewMs),
    operations: history.ops.length,
    outcomes,
    faults: { ...nemesis.injected },
    faultEvents: nemesis.events,
    network: net.stats(),
    liveness,
    historyHash: historyHash(history),
    simulatedMs: sim.monotonic(),
    deadVerdicts: { ...cluster.verdicts },
    ...(o.keepHistory ? { history } : {}),
  };
}

/** The liveness picture now, and whether it is all good. */
function observe(cluster: SimCluster, replicaCount: number, boundMs: number, convergedAfterMs: number | null): { every: boolean; observation: LivenessObservation } {
  const views: Record<string, string[]> = {};
  const ready: Record<string, boolean> = {};
  const underReplicated: Record<string, number[]> = {};
  const expected = [...cluster.names].sort();
  let every = cluster.running().length === cluster.names.length;
  for (const i of cluster.running()) {
    const inc = cluster.at(i)!;
    const view = [...inc.cluster.membership.liveMembers()].sort();
    views[inc.name] = view;
    ready[inc.name] = inc.node.ready;
    const t = inc.cluster.partitions;
    const want = Math.min(replicaCount, expected.length);
    const under: number[] = [];
    if (t === null) under.push(-1);
    else for (let p = 0; p < t.partitionCount; p++) if (new Set([t.owner(p), ...t.replicas(p)]).size < want) under.push(p);
    underReplicated[inc.name] = under;
    if (view.join(",") !== expected.join(",") || !inc.node.ready || under.length > 0) every = false;
  }
  return { every, observation: { boundMs, expectedMembers: expected, views, ready, underReplicated, replicaCount, convergedAfterMs } };
}
