/**
 * Per-node resource sampling for `shoal chaos --soak`: RSS (VmRSS from
 * /proc/<pid>/status), open file descriptors (/proc/<pid>/fd), and the
 * node's responsiveness — the latency of GET /healthz, probed every
 * `probeEveryMs`, as a stand-in for event-loop lag (the node does not
 * export a lag metric): a handler that answers from memory can only be late
 * when the node's event loop is busy or blocked. Probes of a node that is
 * stopped, down or restarting are not counted. The runner's own timer drift
 * is measured too, so a slow runner is not blamed on the nodes.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { RealCluster } from "../real/cluster.ts";
import { httpGet } from "../real/spawn.ts";

/** VmRSS of `pid` in bytes, null when unreadable. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Open file descriptors of `pid`, null when unreadable. */
export function openFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Responsiveness probes of every node plus the runner's own timer drift. */
export class LagProbe {
  /** Max /healthz latency per node since the last take (ms; null when no valid probe). */
  private maxLag: (number | null)[];
  private runnerLag = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastTick = performance.now();
  private inFlight: boolean[];

  constructor(
    private readonly cluster: RealCluster,
    private readonly probeEveryMs = 250,
    private readonly timeoutMs = 10_000,
  ) {
    this.maxLag = cluster.nodes.map(() => null);
    this.inFlight = cluster.nodes.map(() => false);
  }

  start(): void {
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), this.probeEveryMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Max lag per node and of the runner since the last call. */
  take(): { nodes: (number | null)[]; runner: number } {
    const out = { nodes: this.maxLag, runner: this.runnerLag };
    this.maxLag = this.cluster.nodes.map(() => null);
    this.runnerLag = 0;
    return out;
  }

  private tick(): void {
    const now = performance.now();
    this.runnerLag = Math.max(this.runnerLag, now - this.lastTick - this.probeEveryMs);
    this.lastTick = now;
    this.cluster.nodes.forEach((n, i) => {
      if (this.inFlight[i] || !n.running || n.stopped) return;
      const pid = n.pid;
      this.inFlight[i] = true;
      void httpGet(`http://${n.spec.host}:${n.spec.httpPort}/healthz`, this.timeoutMs).then((r) => {
        this.inFlight[i] = false;
        // only count probes answered by the same incarnation that was never paused meanwhile
        if (r.status !== 200 || n.pid !== pid || n.stopped || n.pausedSince(now)) return;
        this.maxLag[i] = Math.max(this.maxLag[i] ?? 0, r.ms);
      });
    });
  }
}
