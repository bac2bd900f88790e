/**
 * One real-network chaos run: start the cluster, run the workload while the
 * fault injector works, stop both, heal everything, wait for convergence,
 * read every key through every node, run the checkers.
 */
import { writeFileSync } from "node:fs";
import { checkHistory, type Violation } from "../checkers.ts";
import { FINAL_CLIENT, type History } from "../history.ts";
import { type Timeline, timelineOf } from "../timeline.ts";
import { RealCluster } from "./cluster.ts";
import { type FaultEvent, FaultInjector } from "./faults.ts";
import { netnsUnavailableReason } from "./netns.ts";
import { type RealOptions, servePassword } from "./options.ts";
import { Progress, quantile } from "./report.ts";
import { type OpTally, seededRandom, Workload } from "./workload.ts";

/** The outcome of a run (also the --json output). */
export interface RealReport {
  mode: "real";
  seed: number;
  nodes: number;
  netns: boolean;
  /** How link faults were applied (netns only). */
  netBackend?: "netem" | "nft";
  settings: { replicaCount: number; writeQuorum: number; readQuorum: number; memberCountQuorum: number; preset: string; linkLossPct: number; linkDelayMs: number; down: number; clientTimeoutMs: number };
  workloadMs: number;
  ops: { logical: number; attempts: number; byKind: Record<string, OpTally> };
  /** Logical writes (put, delete, incr) not acknowledged within the client timeout / all logical writes. */
  writeFailureRate: number;
  putFailureRate: number;
  latencyMs: { p50: number; p99: number; max: number };
  faults: { byKind: Record<string, number>; events: FaultEvent[] };
  convergence: { ok: boolean; ms: number; detail: string };
  finalReads: { keys: number; reads: number; ok: number };
  violations: Violation[];
  inconclusiveKeys: string[];
  /** PIDs of every node process started (all gone when the run returns). */
  nodePids: number[];
  historyFile?: string;
  /** The workload per second (ok, failed, unknown; latency quantiles), for the HTML report. */
  timeline?: Timeline;
}

/** Runs the chaos scenario described by `o`. Throws (after cleaning up) when the cluster cannot start. */
export async function runRealChaos(o: RealOptions): Promise<RealReport> {
  if (o.netns) {
    const why = netnsUnavailableReason();
    if (why) throw new Error(why);
  }
  const random = seededRandom(o.seed);
  const cluster = await RealCluster.start({
    nodes: o.nodes,
    bin: o.bin,
    netns: o.netns,
    replicaCount: o.replicaCount,
    writeQuorum: o.writeQuorum,
    readQuorum: o.readQuorum,
    memberCountQuorum: o.memberCountQuorum,
    preset: o.preset,
    extraArgs: o.serveArgs,
  });
  const progress = new Progress(!o.quiet);
  try {
    if (cluster.lab && !cluster.lab.supportsDelay) {
      if (!o.faultsExplicit) o.faults = o.faults.filter((f) => f !== "netem-delay");
      if (o.faults.includes("netem-delay") || o.linkDelayMs > 0) {
        throw new Error("netem-delay / --link-delay need tc netem, which this kernel lacks (CONFIG_NET_SCH_NETEM); loss and partitions work through nftables");
      }
    }
    const baseline = { lossPct: o.linkLossPct, delayMs: o.linkDelayMs };
    if (cluster.lab && (baseline.lossPct > 0 || baseline.delayMs > 0)) cluster.lab.setLinks({ ...baseline, jitterMs: 0 });
    for (let i = 0; i < o.down; i++) {
      cluster.parked.add(o.nodes - 1 - i);
      await cluster.nodes[o.nodes - 1 - i]!.signal("SIGKILL");
    }
    if (o.down > 0) await cluster.waitConverged(30_000);
    const t0 = performance.now();
    const workload = new Workload({
      clients: o.clients,
      maxOps: o.ops,
      untilMs: t0 + o.durationMs,
      clientTimeoutMs: o.clientTimeoutMs,
      attemptTimeoutMs: o.attemptTimeoutMs,
      registerKeys: o.registerKeys,
      counterKeys: o.counterKeys,
      random,
      nodes: cluster.addresses(),
      t0,
      rate: o.rate,
      password: servePassword(o.serveArgs),
    });
    const injector = new FaultInjector(cluster, {
      kinds: o.faults,
      everyMs: o.faultEveryMs,
      holdMs: o.faultHoldMs,
      lossPct: o.lossPct,
      delayMs: o.delayMs,
      recoverTimeoutMs: 30_000,
      random,
      now: () => workload.now(),
      baseline,
      exclude: cluster.parked,
    });
    const ticker = setInterval(() => {
      const t = Object.values(workload.result.logical).reduce((s, x) => ({ ok: s.ok + x.ok, bad: s.bad + x.fail + x.unknown }), { ok: 0, bad: 0 });
      progress.update(
        `chaos --real seed ${o.seed}  ${(workload.now() / 1000).toFixed(0)}s  ops ${workload.issuedOps}/${o.ops}  ok ${t.ok} not-ok ${t.bad}  faults ${injector.events.length}${injector.current ? `  [${injector.current}]` : ""}`,
      );
    }, 1000);
    const faultLoop = injector.run();
    await workload.run();
    const workloadMs = workload.now();
    injector.stop();
    await faultLoop;
    clearInterval(ticker);
    progress.update(`chaos --real seed ${o.seed}: workload done after ${Math.round(workloadMs)} ms; healing and waiting for convergence`);
    progress.done();

    // heal: clean links, no partition, every node running
    if (cluster.lab) {
      cluster.lab.heal();
      cluster.lab.setLinks({ lossPct: 0, delayMs: 0, jitterMs: 0 });
    }
    cluster.parked.clear();
    for (const n of cluster.nodes) {
      if (n.stopped) await n.signal("SIGCONT");
      if (!n.running) n.start();
    }
    const convergence = await cluster.waitConverged(60_000);
    const violations: Violation[] = [];
    if (!convergence.ok) {
      violations.push({ checker: "liveness", message: `cluster did not converge within 60000 ms after the faults stopped: ${convergence.detail}`, ops: [] });
    }
    // final reads: every key through every node
    const keys = [...Array.from({ length: o.registerKeys }, (_, i) => `r${i}`), ...Array.from({ length: o.counterKeys }, (_, i) => `c${i}`)];
    let finalOk = 0;
    let finalReads = 0;
    if (convergence.ok) {
      for (const key of keys) {
        for (let i = 0; i < o.nodes; i++) {
          finalReads++;
          if ((await workload.logical(FINAL_CLIENT, "get", key, null, 10_000, i)) === "ok") finalOk++;
        }
      }
    }
    workload.close();
    const history: History = workload.recorder.history();
    if (o.historyFile) writeFileSync(o.historyFile, JSON.stringify(history, (_k, v) => (v === Number.POSITIVE_INFINITY ? null : v)));
    const inconclusive: string[] = [];
    violations.push(...checkHistory(history, { onInconclusive: (k) => inconclusive.push(k) }));
    if (convergence.ok && finalOk < finalReads) {
      violations.push({ checker: "liveness", message: `${finalReads - finalOk} of ${finalReads} final reads got no answer after convergence`, ops: [] });
    }
    const byKind = workload.result.logical;
    const sum = (kinds: string[], f: (t: OpTally) => number) => kinds.reduce((s, k) => s + (byKind[k] ? f(byKind[k]!) : 0), 0);
    const writes = ["put", "delete", "incr"];
    const writeTotal = sum(writes, (t) => t.ok + t.fail + t.unknown);
    const putTotal = sum(["put"], (t) => t.ok + t.fail + t.unknown);
    const lat = workload.result.latencies.filter((l) => l.atMs <= workloadMs).map((l) => l.ms);
    return {
      mode: "real",
      seed: o.seed,
      nodes: o.nodes,
      netns: o.netns,
      ...(cluster.lab ? { netBackend: cluster.lab.backend } : {}),
      settings: {
        replicaCount: o.replicaCount,
        writeQuorum: o.writeQuorum,
        readQuorum: o.readQuorum,
        memberCountQuorum: o.memberCountQuorum,
        preset: o.preset,
        linkLossPct: o.linkLossPct,
        linkDelayMs: o.linkDelayMs,
        down: o.down,
        clientTimeoutMs: o.clientTimeoutMs,
      },
      workloadMs,
      ops: { logical: workload.issuedOps, attempts: history.ops.filter((x) => x.client !== FINAL_CLIENT).length, byKind },
      writeFailureRate: writeTotal === 0 ? 0 : sum(writes, (t) => t.fail + t.unknown) / writeTotal,
      putFailureRate: putTotal === 0 ? 0 : sum(["put"], (t) => t.fail + t.unknown) / putTotal,
      latencyMs: { p50: round(quantile(lat, 0.5)), p99: round(quantile(lat, 0.99)), max: round(quantile(lat, 1)) },
      faults: { byKind: injector.counts(), events: injector.events },
      convergence,
      finalReads: { keys: keys.length, reads: finalReads, ok: finalOk },
      violations,
      inconclusiveKeys: inconclusive,
      nodePids: cluster.nodes.flatMap((n) => n.pids),
      ...(o.historyFile ? { historyFile: o.historyFile } : {}),
      timeline: timelineOf(history.ops, { toMs: workloadMs }),
    };
  } finally {
    progress.done();
    await cluster.destroy();
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
