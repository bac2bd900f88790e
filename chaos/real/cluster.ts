/**
 * A real cluster of `shoal serve` children for chaos runs: on loopback
 * (random free ports) or one node per network namespace (see netns.ts).
 * Knows how to wait until it has converged: every running node reports
 * /readyz 200 and logged a partition table with all running members.
 * {@link RealCluster.destroy} kills every child and deletes the namespaces;
 * SIGINT/SIGTERM and process exit do the same. Namespace nodes listen on
 * non-loopback addresses, so they get a fresh cluster key (a 0600 file in a
 * temporary directory, removed with the cluster) unless `extraArgs` already
 * chooses the peer authentication.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newClusterKey } from "../../cmd/keygen.ts";
import { NetLab, removeStaleLabs } from "./netns.ts";
import { freePorts, httpGet, killAllChildren, NodeProcess, type NodeSpec, shoalServeCommand, sleep } from "./spawn.ts";

/** How to build the cluster. */
export interface ClusterOptions {
  nodes: number;
  /** shoal binary to run (default: this one). */
  bin?: string;
  netns: boolean;
  replicaCount: number;
  writeQuorum: number;
  readQuorum: number;
  memberCountQuorum: number;
  preset: string;
  /** Extra `serve` flags for every node. */
  extraArgs: string[];
}

const clusters = new Set<RealCluster>();
let handlersInstalled = false;
/** Takes SIGINT/SIGTERM/SIGHUP instead of the default stop-and-exit (see {@link deferInterrupts}). */
let interruptHandler: ((sig: NodeJS.Signals) => void) | null = null;

/**
 * Routes the first SIGINT/SIGTERM/SIGHUP to `handler` instead of stopping
 * at once (a --run forwards it to the user's command and lets the run wind
 * down); a second signal stops everything as usual. `null` restores the default.
 */
export function deferInterrupts(handler: ((sig: NodeJS.Signals) => void) | null): void {
  interruptHandler = handler;
}

/** Kills children and removes namespaces on SIGINT/SIGTERM and on exit (installed once). */
function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const cleanup = () => {
    killAllChildren();
    for (const c of clusters) {
      c.lab?.destroy();
      c.removeKey();
    }
  };
  process.on("exit", cleanup);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      const h = interruptHandler;
      if (h) {
        interruptHandler = null;
        h(sig);
        return;
      }
      process.stderr.write(`\nshoal chaos: ${sig}: stopping the nodes and removing the namespaces\n`);
      cleanup();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

/** The running cluster. */
export class RealCluster {
  /** Nodes kept down on purpose (`--down`): convergence does not wait for them. */
  readonly parked = new Set<number>();

  private constructor(
    readonly nodes: NodeProcess[],
    readonly lab: NetLab | null,
    /** Directory of the generated cluster key file, or null. */
    private readonly keyDir: string | null = null,
  ) {}

  /** Removes the generated cluster key (idempotent). */
  removeKey(): void {
    if (this.keyDir !== null) rmSync(this.keyDir, { recursive: true, force: true });
  }

  /** Creates (namespaces), starts every node, and waits until converged (throws with the nodes' output otherwise). */
  static async start(o: ClusterOptions, convergeTimeoutMs = 30_000): Promise<RealCluster> {
    installCleanupHandlers();
    let lab: NetLab | null = null;
    if (o.netns) {
      removeStaleLabs();
      lab = NetLab.create(o.nodes);
    }
    const specs: NodeSpec[] = [];
    const base = shoalServeCommand(o.bin);
    const ports = lab ? [] : await freePorts(3 * o.nodes);
    const addr = (i: number) => ({
      host: lab ? lab.ip(i) : "127.0.0.1",
      port: lab ? 3320 : ports[3 * i]!,
      httpPort: lab ? 3380 : ports[3 * i + 1]!,
      peerPort: lab ? 3322 : ports[3 * i + 2]!,
    });
    const peers = Array.from({ length: o.nodes }, (_, i) => `${addr(i).host}:${addr(i).peerPort}`).join(",");
    const chosen = o.extraArgs.some((a) => /^--(cluster-key|cluster-key-file|allow-insecure-peers|peer-transport)(=|$)/.test(a));
    const keyDir = lab && !chosen ? mkdtempSync(join(tmpdir(), "shoal-chaos-key-")) : null;
    const keyArgs: string[] = [];
    if (keyDir !== null) {
      writeFileSync(join(keyDir, "cluster.key"), `${newClusterKey()}\n`, { mode: 0o600 });
      keyArgs.push("--cluster-key-file", join(keyDir, "cluster.key"));
    }
    for (let i = 0; i < o.nodes; i++) {
      const a = addr(i);
      const argv = [
        ...base,
        "--bind",
        a.host,
        "--port",
        String(a.port),
        "--http-port",
        String(a.httpPort),
        "--peer-port",
        String(a.peerPort),
        "--peers",
        peers,
        "--node-name",
        `n${i}`,
        "--replica-count",
        String(o.replicaCount),
        "--write-quorum",
        String(o.writeQuorum),
        "--read-quorum",
        String(o.readQuorum),
        "--member-count-quorum",
        String(o.memberCountQuorum),
        "--preset",
        o.preset,
        "--log-format",
        "json",
        ...keyArgs,
        ...o.extraArgs,
      ];
      specs.push({ name: `n${i}`, ...a, argv: lab ? lab.wrap(i, argv) : argv });
    }
    const cluster = new RealCluster(
      specs.map((s) => new NodeProcess(s)),
      lab,
      keyDir,
    );
    clusters.add(cluster);
    for (const n of cluster.nodes) n.start();
    const c = await cluster.waitConverged(convergeTimeoutMs);
    if (!c.ok) {
      const out = cluster.nodes.map((n) => `--- ${n.spec.name} (${n.running ? "running" : "exited"}):\n${n.output().slice(-1500)}`).join("\n");
      await cluster.destroy();
      throw new Error(`the cluster did not converge within ${convergeTimeoutMs} ms: ${c.detail}\n${out}`);
    }
    return cluster;
  }

  /** Client addresses of the nodes. */
  addresses(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.spec.host, port: n.spec.port }));
  }

  /** One convergence probe: all running nodes ready and agreeing on the running member count. */
  async probe(): Promise<{ ok: boolean; detail: string }> {
    const running = this.nodes.filter((n) => n.running && !n.stopped);
    const want = this.nodes.filter((n) => n.running).length;
    const problems: string[] = [];
    this.nodes.forEach((n, i) => {
      if (!n.running && !this.parked.has(i)) problems.push(`${n.spec.name} not running`);
    });
    await Promise.all(
      running.map(async (n) => {
        const r = await httpGet(`http://${n.spec.host}:${n.spec.httpPort}/readyz`, 2000);
        if (r.status !== 200) problems.push(`${n.spec.name} /readyz ${r.status || "unreachable"}`);
        if (n.tableMembers !== want) problems.push(`${n.spec.name} table has ${n.tableMembers} of ${want} members`);
      }),
    );
    return { ok: problems.length === 0, detail: problems.sort().join("; ") };
  }

  /** Polls {@link probe} until ok or `timeoutMs` (or until `abort()` says so); returns the time it took. */
  async waitConverged(timeoutMs: number, abort?: () => boolean): Promise<{ ok: boolean; ms: number; detail: string }> {
    const t0 = performance.now();
    let last = { ok: false, detail: "not probed" };
    while (performance.now() - t0 < timeoutMs && !abort?.()) {
      last = await this.probe();
      if (last.ok) return { ok: true, ms: Math.round(performance.now() - t0), detail: "" };
      await sleep(200);
    }
    return { ok: false, ms: Math.round(performance.now() - t0), detail: last.detail };
  }

  /** Waits until node i answers /readyz 200 (bounded). */
  async waitReady(i: number, timeoutMs: number): Promise<boolean> {
    const n = this.nodes[i]!;
    const t0 = performance.now();
    while (performance.now() - t0 < timeoutMs) {
      if (!n.running) return false;
      if ((await httpGet(`http://${n.spec.host}:${n.spec.httpPort}/readyz`, 1000)).status === 200) return true;
      await sleep(100);
    }
    return false;
  }

  /** Kills every node (SIGTERM with a short grace, then SIGKILL) and removes the namespaces. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(2000)));
    this.lab?.destroy();
    this.removeKey();
    clusters.delete(this);
  }
}
