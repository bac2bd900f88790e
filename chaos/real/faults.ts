/**
 * The fault schedule of a real-network chaos run: every `everyMs` (±50%)
 * one fault drawn from the enabled kinds is applied to a random node (or to
 * every link), held for `holdMs` (±50%), then reverted; the next fault waits
 * until the cluster has converged again, so at most one node is impaired at a
 * time (the precondition of "no acknowledged write lost" with RF ≥ 2).
 *   kill         SIGKILL, stay down, start again on the same addresses (memory lost)
 *   stop         SIGSTOP, then SIGCONT (a paused process: GC pause, VM freeze)
 *   restart      SIGTERM (graceful leave and hand-off), start again
 *   netem-loss   loss on every link (netns only)
 *   netem-delay  delay ± jitter on every link (netns only)
 *   partition    one node cut off from the others both ways, clients still reach it (netns only)
 */
import type { RealCluster } from "./cluster.ts";

/** Fault kinds. */
export const FAULT_KINDS = ["kill", "stop", "restart", "netem-loss", "netem-delay", "partition"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Kinds that need network namespaces. */
export const NETNS_FAULTS: readonly FaultKind[] = ["netem-loss", "netem-delay", "partition"];

/** One applied fault. */
export interface FaultEvent {
  kind: FaultKind;
  /** The node concerned (absent for every-link faults). */
  node?: string;
  startMs: number;
  endMs: number;
  /** ms until the cluster converged after the revert (null when it did not within the bound, or the run ended first). */
  recoveredMs: number | null;
}

/** Schedule parameters. */
export interface FaultOptions {
  kinds: FaultKind[];
  everyMs: number;
  holdMs: number;
  lossPct: number;
  delayMs: number;
  /** Bound for re-convergence after each fault, ms. */
  recoverTimeoutMs: number;
  random: () => number;
  /** ms since the run started. */
  now: () => number;
  /** The background link condition to return to after netem faults. */
  baseline: { lossPct: number; delayMs: number };
  /** Nodes kept down for the whole run (never picked). */
  exclude: Set<number>;
  /** Restricts the nodes a kind may hit (default: any not excluded). */
  targetsFor?: (kind: FaultKind) => number[];
  /** Told when a fault is applied (`start`), reverted (`end`) and the cluster converged again or gave up (`recovered`). */
  onEvent?: (phase: "start" | "end" | "recovered", ev: FaultEvent) => void;
}

/** The next fault of a schedule: wait `gapMs`, then apply `kind` to node index `node` (null: no node to pick) for `holdMs`. */
export interface PlannedFault {
  gapMs: number;
  kind: FaultKind;
  node: number | null;
  holdMs: number;
}

/**
 * Draws the next fault from `o.random` (gap, kind, node, hold — always these
 * four draws in this order, so a seed gives the same schedule whatever the
 * cluster does in between): gap and hold are `everyMs` / `holdMs` ±50%.
 */
export function drawFault(o: Pick<FaultOptions, "kinds" | "everyMs" | "holdMs" | "random" | "targetsFor">, candidates: readonly number[]): PlannedFault {
  const gapMs = Math.round(o.everyMs * (0.5 + o.random()));
  const kind = o.kinds[Math.floor(o.random() * o.kinds.length)]!;
  const pool = o.targetsFor?.(kind).filter((t) => candidates.includes(t)) ?? candidates;
  const pick = o.random();
  const holdMs = Math.round(o.holdMs * (0.5 + o.random()));
  return { gapMs, kind, node: pool.length === 0 ? null : pool[Math.floor(pick * pool.length)]!, holdMs };
}

/** Applies faults until stopped. */
export class FaultInjector {
  readonly events: FaultEvent[] = [];
  private stopped = false;
  /** A short text of the fault in progress, for the progress line. */
  current = "";

  constructor(
    private readonly cluster: RealCluster,
    private readonly o: FaultOptions,
  ) {}

  /** Faults applied so far, by kind. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.events) out[e.kind] = (out[e.kind] ?? 0) + 1;
    return out;
  }

  /** Asks the loop to revert the fault in progress and return. */
  stop(): void {
    this.stopped = true;
  }

  /** Sleeps up to `ms`, waking early when stopped. */
  private async pause(ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (!this.stopped && performance.now() < end) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(100, end - performance.now()))));
  }

  /** The fault loop; resolves once stopped and the last fault is reverted. */
  async run(): Promise<void> {
    if (this.o.kinds.length === 0) return;
    const candidates = this.cluster.nodes.map((_, i) => i).filter((i) => !this.o.exclude.has(i));
    while (!this.stopped) {
      const next = drawFault(this.o, candidates);
      await this.pause(next.gapMs);
      if (this.stopped || candidates.length === 0) break;
      if (next.node === null) continue;
      const { kind, node: i, holdMs: hold } = next;
      const node = this.cluster.nodes[i]!;
      const lab = this.cluster.lab;
      const ev: FaultEvent = { kind, startMs: this.o.now(), endMs: 0, recoveredMs: null };
      if (kind !== "netem-loss" && kind !== "netem-delay") ev.node = node.spec.name;
      this.current = `${kind}${ev.node ? ` ${ev.node}` : ""}`;
      this.o.onEvent?.("start", ev);
      switch (kind) {
        case "kill":
          await node.signal("SIGKILL");
          await this.pause(hold);
          node.start();
          break;
        case "stop":
          await node.signal("SIGSTOP");
          await this.pause(hold);
          await node.signal("SIGCONT");
          break;
        case "restart":
          await node.stop(5000);
          await this.pause(Math.min(hold, 500));
          node.start();
          break;
        case "netem-loss":
          lab!.setLinks({ lossPct: this.o.lossPct, delayMs: this.o.baseline.delayMs, jitterMs: 0 });
          await this.pause(hold);
          lab!.setLinks({ ...this.o.baseline, jitterMs: 0 });
          break;
        case "netem-delay":
          lab!.setLinks({ lossPct: this.o.baseline.lossPct, delayMs: this.o.delayMs, jitterMs: Math.round(this.o.delayMs / 5) });
          await this.pause(hold);
          lab!.setLinks({ ...this.o.baseline, jitterMs: 0 });
          break;
        case "partition":
          lab!.partition([i]);
          await this.pause(hold);
          lab!.heal();
          break;
      }
      ev.endMs = this.o.now();
      this.events.push(ev);
      this.o.onEvent?.("end", ev);
      this.current = `recovering from ${this.current}`;
      const c = await this.cluster.waitConverged(this.o.recoverTimeoutMs, () => this.stopped);
      ev.recoveredMs = c.ok ? c.ms : null;
      this.o.onEvent?.("recovered", ev);
      this.current = "";
    }
  }
}
