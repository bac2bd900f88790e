/**
 * One `shoal chaos --real --run "<command>"`: start the cluster, put a proxy
 * in front of every node port, start the control endpoint and the canary,
 * run the command with the addresses in its environment while the fault
 * injector works, then stop the faults, end the command's process group,
 * heal, check, and stop everything. Returns the report (chaos/report.ts);
 * never leaves a process, proxy or namespace behind.
 */
import type { Violation } from "../checkers.ts";
import { checkHistory } from "../checkers.ts";
import { FINAL_CLIENT } from "../history.ts";
import { deferInterrupts, RealCluster } from "../real/cluster.ts";
import { type FaultEvent, FaultInjector } from "../real/faults.ts";
import { netnsUnavailableReason } from "../real/netns.ts";
import { servePassword } from "../real/options.ts";
import { seededRandom, Workload } from "../real/workload.ts";
import { type ChaosRunReport, type CommandResult, checkerResults, countByKind, exitStatusOf, type FaultLogEntry, type NodeEntry, replayCommand } from "../report.ts";
import { timelineOf } from "../timeline.ts";
import { ClientFaultSet } from "./client-fault-set.ts";
import { formatClientFaults } from "./client-faults.ts";
import { UserCommand } from "./command.ts";
import { startControl } from "./control.ts";
import type { RunOptions } from "./options.ts";
import { ToxicProxy } from "./proxy.ts";
import { type Traffic, TrafficSampler } from "./traffic.ts";

/** The map the canary workload writes (FLUSHDB on `default` leaves it alone). */
export const CANARY_MAP = "shoal-chaos-canary";

/** Where the run writes its own lines (stderr by default). */
export interface RunIO {
  say(line: string): void;
  /** The program for the replay line (this binary, or Bun and the entry script). */
  program: string[];
}

const secs = (ms: number) => `${ms < 0 ? "-" : "+"}${(Math.abs(ms) / 1000).toFixed(1)}s`;

function detailOf(kind: string, o: RunOptions): string | undefined {
  if (kind === "netem-loss") return `${o.real.lossPct}% loss on every link`;
  if (kind === "netem-delay") return `${o.real.delayMs} ms delay on every link`;
  if (kind === "partition") return "cut off from the other nodes";
  if (kind === "kill") return "SIGKILL, started again after the hold (memory lost)";
  if (kind === "stop") return "SIGSTOP, SIGCONT after the hold";
  if (kind === "restart") return "SIGTERM (graceful), started again";
  return undefined;
}

/** Runs the command against a cluster under faults; resolves with the report. */
export async function runWithCommand(o: RunOptions, io: RunIO): Promise<ChaosRunReport> {
  const startedAt = new Date().toISOString();
  const seed = o.real.seed;
  const replay = replayCommand(io.program, ["chaos", "--real", ...o.argv.filter((a) => a !== "--real")], seed);
  const log: FaultLogEntry[] = [];
  const command: CommandResult = { text: o.command, exitCode: null, signal: null, status: 1, durationMs: 0, timedOut: false, stragglersKilled: 0 };
  const base = {
    kind: "shoal-chaos-run" as const,
    version: 1 as const,
    startedAt,
    seed,
    replay,
    command,
    faults: { kinds: o.real.faults, everyMs: o.real.faultEveryMs, holdMs: o.real.faultHoldMs, forMs: o.real.durationMs, byKind: {} },
    clientFaults: { initial: formatClientFaults(o.clientFaults), stats: {} },
    log,
    canary: null,
    convergence: { ok: false, ms: 0, detail: "not checked" },
  };
  const clusterInfo = (nodes: NodeEntry[], netBackend?: string): ChaosRunReport["cluster"] => ({
    nodes,
    netns: o.real.netns,
    ...(netBackend ? { netBackend } : {}),
    replicaCount: o.real.replicaCount,
    writeQuorum: o.real.writeQuorum,
    readQuorum: o.real.readQuorum,
    memberCountQuorum: o.real.memberCountQuorum,
    preset: o.real.preset,
  });
  const setupFailure = (message: string): ChaosRunReport => ({
    ...base,
    exitStatus: 1,
    exitReason: "setup",
    cluster: clusterInfo([]),
    env: {},
    checkers: checkerResults([], false).map((c) => ({ ...c, status: "skipped" as const, detail: "the cluster did not start" })),
    error: message,
  });

  if (o.real.netns) {
    const why = netnsUnavailableReason();
    if (why) return setupFailure(why);
  }
  io.say(`starting ${o.real.nodes} nodes (${o.real.netns ? "network namespaces" : "loopback"}), seed ${seed}`);
  let cluster: RealCluster;
  try {
    cluster = await RealCluster.start({
      nodes: o.real.nodes,
      bin: o.real.bin,
      netns: o.real.netns,
      replicaCount: o.real.replicaCount,
      writeQuorum: o.real.writeQuorum,
      readQuorum: o.real.readQuorum,
      memberCountQuorum: o.real.memberCountQuorum,
      preset: o.real.preset,
      extraArgs: o.real.serveArgs,
    });
  } catch (err) {
    return setupFailure(err instanceof Error ? err.message : String(err));
  }

  const proxies: ToxicProxy[] = [];
  let control: ReturnType<typeof startControl> | null = null;
  let canary: Workload | null = null;
  try {
    if (cluster.lab && !cluster.lab.supportsDelay && o.real.faults.includes("netem-delay")) {
      if (o.real.faultsExplicit) return setupFailure("netem-delay needs tc netem, which this kernel lacks (CONFIG_NET_SCH_NETEM); loss and partitions work through nftables");
      o.real.faults = o.real.faults.filter((f) => f !== "netem-delay");
    }
    const baseline = { lossPct: o.real.linkLossPct, delayMs: o.real.linkDelayMs };
    if (cluster.lab && (baseline.lossPct > 0 || baseline.delayMs > 0)) cluster.lab.setLinks({ ...baseline, jitterMs: 0 });
    for (let i = 0; i < o.real.down; i++) {
      cluster.parked.add(o.real.nodes - 1 - i);
      await cluster.nodes[o.real.nodes - 1 - i]!.signal("SIGKILL");
    }
    if (o.real.down > 0) await cluster.waitConverged(30_000);

    // the proxies and the control endpoint; times are relative to the command's start (t0)
    let t0 = performance.now();
    const rel = () => Math.round(performance.now() - t0);
    const clientFaults = new ClientFaultSet(
      cluster.nodes.map((n) => n.spec.name),
      (i) => seededRandom(seed + 2 + i),
      log,
      rel,
      (line) => io.say(`${secs(rel())} ${line}`),
    );
    for (const n of cluster.nodes) {
      proxies.push(await ToxicProxy.start({ host: n.spec.host, port: n.spec.port }, clientFaults.state(n.spec.name)));
      proxies.push(await ToxicProxy.start({ host: n.spec.host, port: n.spec.httpPort }, clientFaults.state(n.spec.name)));
    }
    const nodes: NodeEntry[] = cluster.nodes.map((n, i) => ({
      name: n.spec.name,
      resp: `${n.spec.host}:${n.spec.port}`,
      http: `${n.spec.host}:${n.spec.httpPort}`,
      proxyResp: `${proxies[2 * i]!.host}:${proxies[2 * i]!.port}`,
      proxyHttp: `${proxies[2 * i + 1]!.host}:${proxies[2 * i + 1]!.port}`,
    }));
    control = startControl(clientFaults, o.controlPort);
    const env: Record<string, string> = {
      SHOAL_NODES: nodes.map((n) => n.proxyResp).join(","),
      SHOAL_HTTP: nodes.map((n) => n.proxyHttp).join(","),
      REDIS_URL: `redis://${nodes[0]!.proxyResp}`,
      SHOAL_CHAOS_URL: control.url,
    };
    io.say(`cluster ready; SHOAL_NODES=${env["SHOAL_NODES"]} SHOAL_HTTP=${env["SHOAL_HTTP"]} SHOAL_CHAOS_URL=${env["SHOAL_CHAOS_URL"]}`);
    io.say(
      `node faults: ${o.real.faults.length === 0 ? "none" : `${o.real.faults.join(",")} (every ~${o.real.faultEveryMs} ms, held ~${o.real.faultHoldMs} ms, for at most ${o.real.durationMs} ms)`}; client faults: ${formatClientFaults(o.clientFaults)}`,
    );
    io.say(`running: ${o.command}`);

    t0 = performance.now();
    const traffic = new TrafficSampler(() => clientFaults.stats(), rel);
    traffic.start();
    clientFaults.apply(o.clientFaults, "--client-faults");
    if (o.canaryRate > 0) {
      canary = new Workload({
        clients: 2,
        maxOps: Number.MAX_SAFE_INTEGER,
        untilMs: t0 + o.timeoutMs + o.graceMs + 10_000,
        clientTimeoutMs: o.real.clientTimeoutMs,
        attemptTimeoutMs: o.real.attemptTimeoutMs,
        registerKeys: o.real.registerKeys,
        counterKeys: o.real.counterKeys,
        random: seededRandom(seed + 1),
        nodes: cluster.addresses(),
        t0,
        rate: o.canaryRate,
        map: CANARY_MAP,
        password: servePassword(o.real.serveArgs),
      });
    }
    const entries = new Map<FaultEvent, FaultLogEntry>();
    const injector = new FaultInjector(cluster, {
      kinds: o.real.faults,
      everyMs: o.real.faultEveryMs,
      holdMs: o.real.faultHoldMs,
      lossPct: o.real.lossPct,
      delayMs: o.real.delayMs,
      recoverTimeoutMs: 30_000,
      random: seededRandom(seed),
      now: rel,
      baseline,
      exclude: cluster.parked,
      onEvent: (phase, ev) => {
        if (phase === "start") {
          const detail = detailOf(ev.kind, o);
          const e: FaultLogEntry = { what: ev.kind, target: ev.node ?? "all", startMs: ev.startMs, endMs: null, ...(detail ? { detail } : {}), recoveredMs: null };
          entries.set(ev, e);
          log.push(e);
          io.say(`${secs(ev.startMs)} ${ev.kind} ${e.target}`);
        } else if (phase === "end") {
          entries.get(ev)!.endMs = ev.endMs;
          io.say(`${secs(ev.endMs)} ${ev.kind} ${entries.get(ev)!.target} reverted`);
        } else {
          entries.get(ev)!.recoveredMs = ev.recoveredMs;
          if (ev.recoveredMs !== null) io.say(`${secs(rel())} cluster converged ${ev.recoveredMs} ms after the revert`);
        }
      },
    });

    const user = new UserCommand(o.command, { ...(process.env as Record<string, string>), ...env }, o.junitFile !== undefined);
    let interrupted: NodeJS.Signals | null = null;
    deferInterrupts((sig) => {
      interrupted = sig;
      io.say(`${sig}: forwarded to the command (again to stop at once)`);
      user.signal(sig);
    });
    const canaryDone = canary?.run() ?? Promise.resolve();
    const faultLoop = injector.run();
    const faultsEnd = setTimeout(() => {
      if (user.done) return;
      io.say(`${secs(rel())} --duration reached: no more node faults`);
      injector.stop();
    }, o.real.durationMs);
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const timeout = setTimeout(() => {
      command.timedOut = true;
      io.say(`${secs(rel())} --timeout reached: stopping the command (SIGTERM, SIGKILL after ${o.graceMs} ms)`);
      user.signal("SIGTERM");
      killTimer = setTimeout(() => user.signal("SIGKILL"), o.graceMs);
    }, o.timeoutMs);
    const outcome = await user.exited();
    const commandTraffic: Traffic = traffic.stop();
    clearTimeout(timeout);
    clearTimeout(killTimer);
    clearTimeout(faultsEnd);
    Object.assign(command, { exitCode: outcome.exitCode, signal: outcome.signal, status: outcome.status, durationMs: outcome.durationMs });
    io.say(`${secs(rel())} the command ${outcome.signal ? `was ended by ${outcome.signal}` : `exited with status ${outcome.exitCode}`}; removing the faults`);

    // the command is done: faults off, the rest of its group ended, proxies closed
    injector.stop();
    canary?.stop();
    clientFaults.clear("end of run");
    command.stragglersKilled = await user.killGroup(o.graceMs);
    if (command.stragglersKilled > 0) io.say(`ended ${command.stragglersKilled} process(es) the command left running`);
    await user.flushed();
    if (o.junitFile !== undefined) {
      command.stdoutTail = user.stdoutTail.text();
      command.stderrTail = user.stderrTail.text();
    }
    await faultLoop;
    await canaryDone;
    const canaryTally = canary ? structuredClone(canary.result.logical) : {};
    const timeline = canary ? timelineOf(canary.recorder.history().ops, { toMs: command.durationMs }) : undefined;
    const stats = clientFaults.stats();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    control.stop();
    control = null;
    deferInterrupts(null);

    // heal and check (skipped after Ctrl-C: the nodes got the terminal's signal too)
    const violations: Violation[] = [];
    let convergence = { ok: false, ms: 0, detail: "skipped: interrupted" };
    let checkers = checkerResults([], canary !== null);
    if (interrupted === null) {
      if (cluster.lab) {
        cluster.lab.heal();
        cluster.lab.setLinks({ lossPct: 0, delayMs: 0, jitterMs: 0 });
      }
      cluster.parked.clear();
      for (const n of cluster.nodes) {
        if (n.stopped) await n.signal("SIGCONT");
        if (!n.running) n.start();
      }
      convergence = await cluster.waitConverged(60_000);
      if (!convergence.ok) {
        violations.push({ checker: "liveness", message: `cluster did not converge within 60000 ms after the faults stopped: ${convergence.detail}`, ops: [] });
      }
      if (canary && convergence.ok) {
        const keys = [...Array.from({ length: o.real.registerKeys }, (_, i) => `r${i}`), ...Array.from({ length: o.real.counterKeys }, (_, i) => `c${i}`)];
        let bad = 0;
        for (const key of keys) {
          for (let i = 0; i < o.real.nodes; i++) if ((await canary.logical(FINAL_CLIENT, "get", key, null, 10_000, i)) !== "ok") bad++;
        }
        if (bad > 0) violations.push({ checker: "liveness", message: `${bad} of ${keys.length * o.real.nodes} final canary reads got no answer after convergence`, ops: [] });
      }
      if (canary) violations.push(...checkHistory(canary.recorder.history()));
      checkers = checkerResults(violations, canary !== null);
    } else {
      checkers = checkers.map((c) => ({ ...c, status: "skipped" as const, detail: `not checked: the run was interrupted (${interrupted})` }));
    }
    canary?.close();
    const { exitStatus, exitReason } = exitStatusOf(command, checkers);
    return {
      ...base,
      exitStatus,
      exitReason,
      cluster: clusterInfo(nodes, cluster.lab?.backend),
      env,
      faults: { ...base.faults, kinds: o.real.faults, byKind: countByKind(log) },
      clientFaults: { initial: formatClientFaults(o.clientFaults), stats },
      canary: canary ? { map: CANARY_MAP, rate: o.canaryRate, ops: canary.issuedOps, byKind: canaryTally } : null,
      ...(timeline ? { timeline } : {}),
      traffic: commandTraffic,
      convergence,
      checkers,
    };
  } finally {
    deferInterrupts(null);
    control?.stop();
    canary?.close();
    await Promise.all(proxies.map((p) => p.close()));
    await cluster.destroy();
  }
}
