/**
 * The nemesis: every step it ends the faults whose time is up and, with some
 * probability, starts a new one drawn from the seed's Rng. Which faults may
 * overlap (the promise the checkers hold the cluster to, RF=3, W=2, R=2):
 *
 * - link faults (drop, delay, duplicate, reorder, corrupt) hit every link or
 *   one node's outgoing links; at most 2 at once; they never count as a
 *   faulty node (the quorum protocol must mask them);
 * - node faults (partition, one-way, pause, skew, jump, stall, crash,
 *   join-leave) target nodes that are not already faulty, and at most
 *   `maxFaultyNodes` nodes are faulty at once (default 1: with W=2 of 3
 *   copies, one unavailable holder is what the quorums are sized for);
 *   a full partition isolates that many nodes (a minority) from the rest;
 * - destructive faults (crash: memory lost; join-leave: the node leaves
 *   gracefully and later rejoins empty) only start when the cluster has been
 *   healthy — every node running, ready and seeing all N members — for
 *   `settleMs`, so a second copy is never lost before the first was
 *   re-replicated ("≤ 1 destructive failure at a time");
 * - clock faults keep every node within ±maxSkewMs of true time; the lock
 *   and expiry checkers allow that much slack.
 */
import type { Rng } from "../../core/clock.ts";
import type { SimClock } from "../../core/cluster/sim-clock.ts";
import type { FaultRule } from "../../transports/faulty.ts";
import type { SimCluster } from "./cluster.ts";
import type { SimNetwork } from "./network.ts";

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** Every fault kind the simulator can inject. */
export const FAULT_KINDS = [
  "drop",
  "delay",
  "duplicate",
  "reorder",
  "corrupt",
  "partition",
  "one-way",
  "crash",
  "pause",
  "skew",
  "jump",
  "join-leave",
  "stall",
] as const;

/** One fault kind. */
export type FaultKind = (typeof FAULT_KINDS)[number];

const LINK: ReadonlySet<FaultKind> = new Set(["drop", "delay", "duplicate", "reorder", "corrupt"]);
const DESTRUCTIVE: ReadonlySet<FaultKind> = new Set(["crash", "join-leave"]);

/**
 * How hard link faults hit: `mild` (drop ≤ 5%, delay ≤ 18 ms, reorder
 * hold ≤ 25 ms, corruption ≤ 3%: what SWIM's 80 ms probe timeout in the
 * simulator absorbs) or `harsh` (drop ≤ 30%, delay ≤ 100 ms, hold ≤ 110 ms,
 * corruption ≤ 11%: members suspect each other and ownership moves).
 */
export type LinkSeverity = "mild" | "harsh";

/** Options of the nemesis. */
export interface NemesisOptions {
  kinds: readonly FaultKind[];
  maxFaultyNodes: number;
  maxLinkFaults: number;
  maxSkewMs: number;
  /** Strength of drop/delay/reorder/corrupt (see {@link LinkSeverity}). */
  linkSeverity: LinkSeverity;
  /** Probability of starting a fault at each step. */
  rate: number;
  /** Healthy time required before a destructive fault, ms. */
  settleMs: number;
}

/** A fault starting or ending, for reports. */
export interface FaultEvent {
  atMs: number;
  kind: FaultKind;
  phase: "start" | "end";
  nodes: string[];
  detail?: string;
}

interface Active {
  id: number;
  kind: FaultKind;
  nodes: number[];
  endAt: number;
  /** Ends the fault; returns false when it cannot end yet (a leave still handing off). */
  end: () => Promise<boolean> | boolean;
}

/** Injects faults into a {@link SimCluster} and its {@link SimNetwork}. */
export class Nemesis {
  readonly injected = {} as Record<FaultKind, number>;
  /** Every fault start and end, in order. */
  readonly events: FaultEvent[] = [];
  private active: Active[] = [];
  private nextId = 1;
  private healthySince: number | null = null;

  constructor(
    private readonly sim: SimClock,
    private readonly cluster: SimCluster,
    private readonly net: SimNetwork,
    private readonly rng: Rng,
    private readonly o: NemesisOptions,
  ) {
    for (const k of FAULT_KINDS) this.injected[k] = 0;
  }

  /** Faults currently active. */
  get activeCount(): number {
    return this.active.length;
  }

  /** Whether every slot runs, is ready and sees all members. */
  healthy(): boolean {
    const n = this.cluster.names.length;
    for (let i = 0; i < n; i++) {
      const inc = this.cluster.at(i);
      if (!inc || inc.ended || !inc.node.ready || inc.cluster.membership.liveMembers().length !== n) return false;
    }
    return true;
  }

  /** Ends due faults, then maybe starts one. */
  async step(): Promise<void> {
    const now = this.sim.monotonic();
    await this.endDue(now);
    if (this.healthy()) this.healthySince ??= now;
    else this.healthySince = null;
    if (this.o.kinds.length === 0 || this.rng.next() >= this.o.rate) return;
    const kind = this.o.kinds[this.rng.int(this.o.kinds.length)]!;
    const duration = 500 + this.rng.int(3500);
    const started = this.start(kind, now + duration);
    if (started) this.injected[kind]++;
  }

  /** Ends every fault (advancing the clock while a leave finishes). */
  async stopAll(): Promise<void> {
    for (let i = 0; i < 200 && this.active.length > 0; i++) {
      await this.endDue(Number.POSITIVE_INFINITY);
      if (this.active.length > 0) await this.sim.advance(100);
    }
    this.net.clearAll();
  }

  private async endDue(now: number): Promise<void> {
    const keep: Active[] = [];
    for (const f of this.active) {
      if (f.endAt > now || !(await f.end())) keep.push(f);
      else this.events.push({ atMs: this.sim.monotonic(), kind: f.kind, phase: "end", nodes: f.nodes.map((i) => this.cluster.names[i]!) });
    }
    this.active = keep;
  }

  private faultyNodes(): Set<number> {
    const s = new Set<number>();
    for (const f of this.active) for (const n of f.nodes) s.add(n);
    return s;
  }

  /** Up to `k` healthy, running, not-yet-faulty slots. */
  private pickNodes(k: number): number[] {
    const faulty = this.faultyNodes();
    if (faulty.size + k > this.o.maxFaultyNodes) return [];
    const free = this.cluster.running().filter((i) => !faulty.has(i) && !this.cluster.at(i)!.clock.isPaused);
    const out: number[] = [];
    while (out.length < k && free.length > 0) out.push(free.splice(this.rng.int(free.length), 1)[0]!);
    return out.length === k ? out : [];
  }

  private start(kind: FaultKind, endAt: number): boolean {
    const id = this.nextId++;
    const names = this.cluster.names;
    const add = (nodes: number[], end: Active["end"], detail?: string): boolean => {
      this.active.push({ id, kind, nodes, endAt, end });
      this.events.push({ atMs: this.sim.monotonic(), kind, phase: "start", nodes: nodes.map((i) => names[i]!), ...(detail ? { detail } : {}) });
      return true;
    };
    const clearNet = (): boolean => {
      this.net.clear(id);
      return true;
    };
    if (LINK.has(kind)) {
      if (this.active.filter((f) => LINK.has(f.kind)).length >= this.o.maxLinkFaults) return false;
      const from = this.rng.next() < 0.5 ? names[this.rng.int(names.length)] : undefined;
      const r = this.rng;
      // mild: within what SWIM's probe timeout absorbs; harsh: enough to make members suspect each other
      const harsh = this.o.linkSeverity === "harsh";
      let rule: FaultRule;
      if (kind === "drop") rule = { from, drop: round(harsh ? 0.05 + r.next() * 0.25 : 0.01 + r.next() * 0.04) };
      else if (kind === "delay") rule = harsh ? { from, delayMs: 2 + r.int(40), jitterMs: r.int(60) } : { from, delayMs: 1 + r.int(8), jitterMs: r.int(10) };
      else if (kind === "duplicate") rule = { from, duplicate: round(0.05 + r.next() * 0.3) };
      else if (kind === "reorder") rule = { from, reorder: round(0.1 + r.next() * 0.3), reorderDelayMs: harsh ? 10 + r.int(100) : 5 + r.int(20) };
      else rule = { from, corrupt: round(harsh ? 0.01 + r.next() * 0.1 : 0.005 + r.next() * 0.025) };
      this.net.addRule(id, rule);
      return add([], clearNet, JSON.stringify(rule));
    }
    if (DESTRUCTIVE.has(kind)) {
      if (this.active.some((f) => DESTRUCTIVE.has(f.kind))) return false;
      if (this.healthySince === null || this.sim.monotonic() - this.healthySince < this.o.settleMs) return false;
    }
    if (kind === "partition") {
      const k = 1 + this.rng.int(Math.max(1, this.o.maxFaultyNodes));
      const side = this.pickNodes(Math.min(k, Math.floor((names.length - 1) / 2)));
      if (side.length === 0) return false;
      for (const a of side) {
        for (let b = 0; b < names.length; b++) {
          if (side.includes(b)) continue;
          this.net.block(id, names[a]!, names[b]!);
          this.net.block(id, names[b]!, names[a]!);
        }
      }
      return add(side, clearNet);
    }
    const [i] = this.pickNodes(1);
    if (i === undefined) return false;
    const inc = this.cluster.at(i)!;
    const name = names[i]!;
    switch (kind) {
      case "one-way": {
        const others = names.filter((n) => n !== name);
        const to = others[this.rng.int(others.length)]!;
        const out = this.rng.next() < 0.5;
        if (out) this.net.block(id, name, to);
        else this.net.block(id, to, name);
        return add([i], clearNet, out ? `${name} -> ${to} blocked` : `${to} -> ${name} blocked`);
      }
      case "pause": {
        inc.clock.pause();
        for (const other of names) {
          if (other === name) continue;
          this.net.block(id, name, other);
          this.net.block(id, other, name);
        }
        return add([i], () => {
          inc.clock.resume();
          return clearNet();
        });
      }
      case "skew":
      case "jump": {
        // skew: a constant offset anywhere in ±max; jump: a step to the edge (and back to 0 at the end)
        const sign = this.rng.next() < 0.5 ? -1 : 1;
        inc.clock.offsetMs = kind === "skew" ? Math.round((this.rng.next() * 2 - 1) * this.o.maxSkewMs) : sign * this.o.maxSkewMs;
        return add([i], () => {
          inc.clock.offsetMs = 0;
          return true;
        }, `offset ${inc.clock.offsetMs} ms`);
      }
      case "stall": {
        inc.clock.stallMs = 20 + this.rng.int(300);
        return add([i], () => {
          inc.clock.stallMs = 0;
          return true;
        }, `timers +${inc.clock.stallMs} ms`);
      }
      case "crash": {
        void this.cluster.crash(i);
        return add([i], () => {
          this.restart(i);
          return true;
        });
      }
      case "join-leave": {
        let left = false;
        void this.cluster.leave(i).finally(() => {
          left = true;
        });
        return add([i], () => {
          if (!left) return false;
          this.restart(i);
          return true;
        });
      }
      default:
        return false;
    }
  }

  private restart(i: number): void {
    const seeds = this.cluster.running().filter((s) => s !== i);
    this.cluster.start(i, seeds);
  }
}
