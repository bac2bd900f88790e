/**
 * A whole shoal cluster in one process for the simulator: N slots, each
 * running one incarnation (ShoalNode + ClusterNode + NodeClock) at a fixed
 * address. A crash kills the incarnation without a word; a restart starts a
 * new, empty one at the same address that joins through the others.
 */
import { SeededRng } from "../../core/clock.ts";
import type { ClusterBugs } from "../../core/cluster/bugs.ts";
import { ClusterNode, type ClusterNodeOptions } from "../../core/cluster/cluster-node.ts";
import type { MembershipTimings } from "../../core/cluster/membership-config.ts";
import type { SimClock } from "../../core/cluster/sim-clock.ts";
import { ShoalNode } from "../../core/node.ts";
import type { SimNetwork } from "./network.ts";
import { NodeClock } from "./node-clock.ts";

/** Cluster settings of a simulation. */
export interface SimClusterConfig {
  nodes: number;
  replicaCount: number;
  writeQuorum: number;
  readQuorum: number;
  memberCountQuorum: number;
  partitionCount: number;
  peerTimeoutMs: number;
  timings: MembershipTimings;
  bugs: ClusterBugs;
  /** Ownership mode (default: ClusterNode's, consensus). */
  ownership?: "consensus" | "gossip";
  /** Anti-entropy settings (interval, keys per round, youngest tombstone collected early). */
  antiEntropy?: { intervalMs: number; maxKeys: number; confirmMinAgeMs?: number };
  /** Hinted handoff bounds and retry interval. */
  hints?: { maxEntries: number; maxBytes: number; retryMs: number };
}

/** One running incarnation of a node. */
export interface Incarnation {
  name: string;
  node: ShoalNode;
  cluster: ClusterNode;
  clock: NodeClock;
  /** Resolves when ClusterNode.start() settled (joined and pulled). */
  started: Promise<void>;
  /** How this incarnation ended, if it did. */
  ended?: "crash" | "leave";
}

/**
 * "Dead" verdicts of the failure detector, by what the member really was
 * when it was declared dead: down (crashed or leaving, or down within the
 * last `DOWN_WINDOW_MS`: a verdict may land after a quick restart), paused
 * (a SIGSTOPped process: slow, not gone) or running (a false positive: it
 * was alive, only unreachable or slow to answer).
 */
export interface DeadVerdicts {
  down: number;
  paused: number;
  running: number;
}

/** A verdict this long after a member was last down is about that downtime (longer than any suspicion timeout). */
const DOWN_WINDOW_MS = 30_000;

/** The nodes of one simulation. */
export class SimCluster {
  readonly names: string[];
  private readonly slots: (Incarnation | null)[];
  private incarnations = 0;
  /** Every member's "dead" verdicts on others, classified (see {@link DeadVerdicts}). */
  readonly verdicts: DeadVerdicts = { down: 0, paused: 0, running: 0 };
  /** Per slot: simulated ms when it last went down (crash or leave), −∞ never. */
  private readonly lastDown: number[];

  constructor(
    private readonly sim: SimClock,
    private readonly net: SimNetwork,
    private readonly seed: number,
    readonly config: SimClusterConfig,
  ) {
    this.names = Array.from({ length: config.nodes }, (_, i) => `n${i + 1}:7000`);
    this.slots = this.names.map(() => null);
    this.lastDown = this.names.map(() => Number.NEGATIVE_INFINITY);
  }

  /** Classifies a "dead" verdict about `name` made now. */
  private verdict(name: string): void {
    const i = this.names.indexOf(name);
    const inc = this.slots[i] ?? null;
    const now = this.sim.monotonic();
    if (i < 0 || inc === null || inc.ended !== undefined || now - this.lastDown[i]! < DOWN_WINDOW_MS) this.verdicts.down++;
    else if (inc.clock.isPaused) this.verdicts.paused++;
    else this.verdicts.running++;
  }

  /** The running incarnation in slot `i`, or null while it is down. */
  at(i: number): Incarnation | null {
    return this.slots[i] ?? null;
  }

  /** Slots with a running incarnation. */
  running(): number[] {
    return this.slots.flatMap((s, i) => (s ? [i] : []));
  }

  /** Starts a new empty incarnation in slot `i`, joining through `seeds` (slot numbers). */
  start(i: number, seeds: number[]): Incarnation {
    if (this.slots[i]) throw new Error(`slot ${i} is already running`);
    const name = this.names[i]!;
    const k = ++this.incarnations;
    const clock = new NodeClock(this.sim);
    const node = new ShoalNode({ clock, rng: new SeededRng(mix(this.seed, 2 * k)), config: { partitionCount: this.config.partitionCount } });
    node.start();
    const c = this.config;
    const options: ClusterNodeOptions = {
      node,
      transport: this.net.transport(),
      clock,
      rng: new SeededRng(mix(this.seed, 2 * k + 1)),
      self: name,
      seeds: seeds.map((s) => this.names[s]!),
      timings: c.timings,
      replicaCount: c.replicaCount,
      writeQuorum: c.writeQuorum,
      readQuorum: c.readQuorum,
      memberCountQuorum: c.memberCountQuorum,
      partitionCount: c.partitionCount,
      peerTimeoutMs: c.peerTimeoutMs,
      bugs: c.bugs,
      ownership: c.ownership,
      leaveTimeoutMs: 3000,
      antiEntropy: c.antiEntropy,
      hints: c.hints,
    };
    const cluster = new ClusterNode(options);
    cluster.membership.onEvent((e) => {
      if (e.type === "dead" && !clock.isDead) this.verdict(e.member.name);
    });
    const inc: Incarnation = { name, node, cluster, clock, started: Promise.resolve() };
    inc.started = cluster.start().catch(() => undefined);
    this.slots[i] = inc;
    return inc;
  }

  /** Kills slot `i` at once: no timers, no announcement, memory lost. */
  async crash(i: number): Promise<void> {
    const inc = this.slots[i];
    if (!inc) return;
    this.slots[i] = null;
    inc.ended = "crash";
    this.lastDown[i] = this.sim.monotonic();
    inc.clock.kill();
    inc.node.stop();
    await inc.cluster.stop();
  }

  /** Gracefully leaves with slot `i` (hand-off, announcement); the slot is down afterwards. */
  async leave(i: number): Promise<void> {
    const inc = this.slots[i];
    if (!inc) return;
    inc.ended = "leave";
    this.lastDown[i] = this.sim.monotonic();
    try {
      await inc.cluster.leave();
    } finally {
      this.lastDown[i] = this.sim.monotonic();
      this.slots[i] = null;
      inc.clock.kill();
      inc.node.stop();
    }
  }
}

/** A 32-bit seed for stream `k` of run `seed`. */
export function mix(seed: number, k: number): number {
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
  return (x ^ (x >>> 13)) >>> 0;
}
