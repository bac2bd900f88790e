/**
 * One soak run: a cluster of real nodes under steady load with a fault every
 * `faultEveryMs`, sampled every `sampleEveryMs`. Fails when a node's RSS grew
 * more than `maxRssGrowthPct` between the end of the warm-up and the end of
 * the run (lowest RSS of the first vs the last quarter of the samples after
 * the warm-up — the floor a leak raises, not the GC sawtooth; a restarted
 * node is judged on its last incarnation after its own warm-up; kill/restart
 * faults only hit the last node so the others run the whole time), or on an
 * event-loop stall longer than `maxStallMs` while the node was not paused by
 * a fault: its own shoal_event_loop_lag_seconds gauge said so, or its
 * /healthz took that much longer than the runner's own timer lag of the
 * same interval.
 */
import { RealCluster } from "../real/cluster.ts";
import { type FaultEvent, FaultInjector, type FaultKind } from "../real/faults.ts";
import { netnsUnavailableReason } from "../real/netns.ts";
import { Progress, quantile } from "../real/report.ts";
import { sleep } from "../real/spawn.ts";
import { seededRandom } from "../real/workload.ts";
import { SteadyLoad } from "./load.ts";
import { LagProbe, NodeLagScraper, openFds, rssBytes } from "./sampler.ts";

/** Soak parameters. */
export interface SoakOptions {
  durationMs: number;
  warmupMs: number;
  nodes: number;
  rate: number;
  clients: number;
  keys: number;
  valueBytes: number;
  faultEveryMs: number;
  faultHoldMs: number;
  faults: FaultKind[];
  sampleEveryMs: number;
  maxRssGrowthPct: number;
  maxStallMs: number;
  netns: boolean;
  seed: number;
  bin?: string;
  preset: string;
  quiet: boolean;
  json: boolean;
}

/** One sample row of the timeline. */
export interface SoakSample {
  atMs: number;
  ops: number;
  errors: number;
  p99Ms: number;
  /** Per node; null when down or unreadable. */
  rssMb: (number | null)[];
  fds: (number | null)[];
  /** Max /healthz latency per node in the interval (ms). */
  lagMs: (number | null)[];
  /** Max node-side event-loop lag per node in the interval (ms; its shoal_event_loop_lag_seconds, a 10-s window). */
  nodeLagMs: (number | null)[];
  runnerLagMs: number;
  /** Faults that started in the interval. */
  faults: string[];
}

/** The outcome (also the --json output). */
export interface SoakReport {
  mode: "soak";
  seed: number;
  nodes: number;
  durationMs: number;
  warmupMs: number;
  ops: number;
  errors: number;
  faults: { byKind: Record<string, number>; events: FaultEvent[] };
  /** Per node: RSS after warm-up and at the end (MB), growth %, or why it was not judged. */
  rss: { node: string; baseMb: number | null; endMb: number | null; growthPct: number | null; medianGrowthPct?: number; note?: string }[];
  /** Per node: the largest /healthz latency minus the runner's own lag in the same interval (ms). */
  maxLagMs: (number | null)[];
  /** Per node: the largest raw /healthz latency (ms). */
  maxRawLagMs: (number | null)[];
  /** Per node: the largest node-side event-loop lag it reported (ms; null when never scraped). */
  maxNodeLagMs: (number | null)[];
  maxRunnerLagMs: number;
  fdsStartEnd: [number | null, number | null][];
  samples: SoakSample[];
  failures: string[];
  /** PIDs of every node process started (all gone when the run returns). */
  nodePids: number[];
}

const mb = (b: number | null) => (b === null ? null : Math.round((b / 1048576) * 10) / 10);
const median = (xs: number[]) => quantile(xs, 0.5);

/** Runs the soak; throws (after cleanup) when the cluster cannot start. */
export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  if (o.netns) {
    const why = netnsUnavailableReason();
    if (why) throw new Error(why);
  }
  const random = seededRandom(o.seed);
  const cluster = await RealCluster.start({
    nodes: o.nodes,
    bin: o.bin,
    netns: o.netns,
    replicaCount: Math.min(3, o.nodes),
    writeQuorum: Math.min(2, o.nodes),
    readQuorum: 1,
    memberCountQuorum: Math.floor(o.nodes / 2) + 1,
    preset: o.preset,
    extraArgs: [],
  });
  const progress = new Progress(!o.quiet, 10_000);
  const load = new SteadyLoad({
    clients: o.clients,
    rate: o.rate,
    keys: o.keys,
    valueBytes: o.valueBytes,
    clientTimeoutMs: 5000,
    attemptTimeoutMs: 2000,
    nodes: cluster.addresses(),
    random,
  });
  const t0 = performance.now();
  const now = () => Math.round(performance.now() - t0);
  const victim = o.nodes - 1;
  const injector = new FaultInjector(cluster, {
    kinds: o.faults,
    everyMs: o.faultEveryMs,
    holdMs: o.faultHoldMs,
    lossPct: 10,
    delayMs: 100,
    recoverTimeoutMs: 30_000,
    random,
    now,
    baseline: { lossPct: 0, delayMs: 0 },
    exclude: new Set(),
    targetsFor: (k) => (k === "kill" || k === "restart" ? [victim] : cluster.nodes.map((_, i) => i)),
  });
  const lag = new LagProbe(cluster);
  const nodeLag = new NodeLagScraper(cluster, Math.min(2000, o.sampleEveryMs / 2));
  const samples: SoakSample[] = [];
  /** Incarnation (pid) of each node at each sample, to tell restarted nodes apart. */
  const pids: number[][] = [];
  try {
    lag.start();
    nodeLag.start();
    const loadDone = load.run();
    const faultsDone = o.faults.length > 0 ? injector.run() : Promise.resolve();
    let seenEvents = 0;
    while (now() < o.durationMs) {
      await sleep(Math.min(o.sampleEveryMs, o.durationMs - now()));
      const li = load.takeInterval();
      const l = lag.take();
      const nl = nodeLag.take();
      const events = [...injector.events.slice(seenEvents).map((e) => `${e.kind}${e.node ? ` ${e.node}` : ""}`), ...(injector.current && !injector.current.startsWith("recovering") ? [`(${injector.current})`] : [])];
      seenEvents = injector.events.length;
      samples.push({
        atMs: now(),
        ops: li.ops,
        errors: li.errors,
        p99Ms: Math.round(quantile(li.latencies, 0.99) * 10) / 10,
        rssMb: cluster.nodes.map((n) => (n.running ? mb(rssBytes(n.pid)) : null)),
        fds: cluster.nodes.map((n) => (n.running ? openFds(n.pid) : null)),
        lagMs: l.nodes.map((x) => (x === null ? null : Math.round(x))),
        nodeLagMs: nl.map((x) => (x === null ? null : Math.round(x))),
        runnerLagMs: Math.round(l.runner),
        faults: events,
      });
      pids.push(cluster.nodes.map((n) => n.pid));
      const s = samples.at(-1)!;
      progress.update(
        `chaos --soak ${(s.atMs / 1000).toFixed(0)}/${(o.durationMs / 1000).toFixed(0)}s  ops ${load.totalOps} errors ${load.totalErrors}  p99 ${s.p99Ms} ms  rss ${s.rssMb.map((x) => x ?? "-").join("/")} MB  lag ${s.lagMs.map((x) => x ?? "-").join("/")} ms  node lag ${s.nodeLagMs.map((x) => x ?? "-").join("/")} ms${injector.current ? `  [${injector.current}]` : ""}`,
      );
    }
    injector.stop();
    load.stop();
    await faultsDone;
    await loadDone;
    lag.stop();
    nodeLag.stop();
    progress.done();

    const failures: string[] = [];
    const rss = cluster.nodes.map((n, i) => {
      const node = n.spec.name;
      // each incarnation gets its own warm-up: a restarted node refills its partitions first
      const lastPid = pids.at(-1)?.[i] ?? 0;
      const k0 = pids.findIndex((p) => p[i] === lastPid);
      const bornAt = k0 <= 0 ? 0 : samples[k0]!.atMs;
      const from = Math.max(o.warmupMs, bornAt + o.warmupMs);
      const afterWarm = samples.map((s, k) => ({ s, k })).filter(({ s, k }) => s.atMs > from && pids[k]![i] === lastPid);
      if (lastPid === 0 || afterWarm.length < 6) {
        return { node, baseMb: null, endMb: null, growthPct: null, note: bornAt > 0 ? "restarted: too few samples after its own warm-up" : "run too short after warm-up (need 6 samples)" };
      }
      const vals = afterWarm.map(({ s }) => s.rssMb[i]).filter((x): x is number => x !== null);
      // a garbage-collected heap saws up and down between collections; what a leak raises is the floor, so compare
      // the lowest RSS of the first quarter after the warm-up with the lowest of the last quarter (≥ 3 samples each)
      const w = Math.max(3, Math.floor(vals.length / 4));
      const base = Math.min(...vals.slice(0, w));
      const end = Math.min(...vals.slice(-w));
      const growthPct = Math.round(((end - base) / base) * 1000) / 10;
      const medianGrowthPct = Math.round(((median(vals.slice(-w)) - median(vals.slice(0, w))) / median(vals.slice(0, w))) * 1000) / 10;
      if (growthPct > o.maxRssGrowthPct) failures.push(`${node}: RSS floor grew ${growthPct}% after warm-up (${base} → ${end} MB; limit ${o.maxRssGrowthPct}%)`);
      return { node, baseMb: base, endMb: end, growthPct, medianGrowthPct };
    });
    // the runner's own stalls delay every probe answer too: what is left after subtracting the runner's lag of the
    // same interval is the node's (an approximation: both are maxima of the interval)
    const healthzLag = (s: SoakSample, i: number) => (s.lagMs[i] === null ? null : Math.max(0, s.lagMs[i]! - s.runnerLagMs));
    const maxOf = (f: (s: SoakSample, i: number) => number | null) =>
      cluster.nodes.map((_, i) => {
        const xs = samples.map((s) => f(s, i)).filter((x): x is number => x !== null);
        return xs.length ? Math.max(...xs) : null;
      });
    const maxLagMs = maxOf(healthzLag);
    const maxRawLagMs = maxOf((s, i) => s.lagMs[i] ?? null);
    const maxNodeLagMs = maxOf((s, i) => s.nodeLagMs[i] ?? null);
    maxLagMs.forEach((m, i) => {
      if (m !== null && m > o.maxStallMs) {
        const at = samples.find((s) => (healthzLag(s, i) ?? 0) > o.maxStallMs)!;
        failures.push(
          `${cluster.nodes[i]!.spec.name}: /healthz took ${at.lagMs[i]} ms (runner lag ${at.runnerLagMs} ms): event-loop stall > ${o.maxStallMs} ms in the interval ending at ${(at.atMs / 1000).toFixed(0)} s`,
        );
      }
    });
    // the node's own measure: no runner correction needed (its gauge is read after the fact, not timed by the runner)
    maxNodeLagMs.forEach((m, i) => {
      if (m !== null && m > o.maxStallMs) {
        const at = samples.find((s) => (s.nodeLagMs[i] ?? 0) > o.maxStallMs)!;
        failures.push(
          `${cluster.nodes[i]!.spec.name}: node-side event-loop lag ${at.nodeLagMs[i]} ms (shoal_event_loop_lag_seconds): stall > ${o.maxStallMs} ms seen in the interval ending at ${(at.atMs / 1000).toFixed(0)} s`,
        );
      }
    });
    if (load.totalOps === 0) failures.push("no operation completed");
    const fdsStartEnd = cluster.nodes.map((_, i) => [samples[0]?.fds[i] ?? null, samples.at(-1)?.fds[i] ?? null] as [number | null, number | null]);
    return {
      mode: "soak",
      seed: o.seed,
      nodes: o.nodes,
      durationMs: now(),
      warmupMs: o.warmupMs,
      ops: load.totalOps,
      errors: load.totalErrors,
      faults: { byKind: injector.counts(), events: injector.events },
      rss,
      maxLagMs,
      maxRawLagMs,
      maxNodeLagMs,
      maxRunnerLagMs: Math.max(0, ...samples.map((s) => s.runnerLagMs)),
      fdsStartEnd,
      samples,
      failures,
      nodePids: cluster.nodes.flatMap((n) => n.pids),
    };
  } finally {
    injector.stop();
    load.stop();
    lag.stop();
    nodeLag.stop();
    progress.done();
    await cluster.destroy();
  }
}
