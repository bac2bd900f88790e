/**
 * Per-node resource sampling for `shoal chaos --soak`: RSS (VmRSS from
 * /proc/<pid>/status), open file descriptors (/proc/<pid>/fd), the node's
 * own event-loop lag (its shoal_event_loop_lag_seconds gauge, scraped from
 * /metrics), and its responsiveness seen from outside — the latency of
 * GET /healthz, probed every `probeEveryMs`: a handler that answers from
 * memory can only be late when the node's event loop is busy or blocked.
 * Nodes that are stopped, down or restarting are not counted. The runner's
 * own timer drift is measured too, so a slow runner is not blamed on the nodes.
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

/** The gauge the nodes export (cmd/event-loop-lag.ts), in seconds; the largest lag of the node's last ~10 s. */
const LAG_GAUGE = /^shoal_event_loop_lag_seconds (\S+)$/m;
/**
 * How long after a SIGCONT the gauge is ignored, in ms: a resumed node's own
 * timer fired late by the whole pause, and the gauge holds that for its
 * 10-s window (1-s slots, so up to 11 s), which is the fault, not a stall.
 */
export const RESUMED_BLIND_MS = 12_000;

/**
 * Node-side event-loop lag: scrapes every running node's
 * shoal_event_loop_lag_seconds from /metrics every `scrapeEveryMs` (below
 * the gauge's 10-s window, so every stall is seen) and keeps the largest per
 * node until {@link take}. A node paused now or within {@link RESUMED_BLIND_MS}
 * is skipped, and so is an answer from another incarnation than was asked.
 * A stall shows in the interval it happened and, while it stays in the
 * node's window, in the next one.
 */
export class NodeLagScraper {
  private maxLag: (number | null)[];
  private timer: ReturnType<typeof setInterval> | null = null;
  private inFlight: boolean[];

  constructor(
    private readonly cluster: RealCluster,
    private readonly scrapeEveryMs = 2000,
    private readonly timeoutMs = 5000,
  ) {
    this.maxLag = cluster.nodes.map(() => null);
    this.inFlight = cluster.nodes.map(() => false);
  }

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.scrapeEveryMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Largest node-side lag per node since the last call (ms; null when no valid scrape). */
  take(): (number | null)[] {
    const out = this.maxLag;
    this.maxLag = this.cluster.nodes.map(() => null);
    return out;
  }

  private tick(): void {
    const now = performance.now();
    this.cluster.nodes.forEach((n, i) => {
      if (this.inFlight[i] || !n.running || n.stopped || n.pausedSince(now - RESUMED_BLIND_MS)) return;
      const pid = n.pid;
      this.inFlight[i] = true;
      void httpGet(`http://${n.spec.host}:${n.spec.httpPort}/metrics`, this.timeoutMs).then((r) => {
        this.inFlight[i] = false;
        const m = r.status === 200 ? LAG_GAUGE.exec(r.body) : null;
        if (!m || n.pid !== pid || n.stopped || n.pausedSince(now - RESUMED_BLIND_MS)) return;
        const ms = Number(m[1]) * 1000;
        if (Number.isFinite(ms)) this.maxLag[i] = Math.max(this.maxLag[i] ?? 0, ms);
      });
    });
  }
}
