/**
 * A small deterministic world for the consensus modules: N process slots
 * running {@link RaftNode}s over a lossy, delaying, partitionable network on
 * a {@link SimClock}, a proposer that moves the configuration towards the
 * live processes (as the cluster layer does with SWIM's view), joiners that
 * announce themselves, and checkers for Raft's safety properties. Crashes
 * lose all state; a restart is a new incarnation (new boot id).
 */
import { SeededRng } from "../../../core/clock.ts";
import { type MemberConfig, type MemberRef, refId, sameConfig } from "../../../core/cluster/consensus/member-config.ts";
import { type CommittedConfig, type RaftMessage, RaftNode, type RaftTimings } from "../../../core/cluster/consensus/raft.ts";
import { ConfigSteward } from "../../../core/cluster/consensus/steward.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";

export const TIMINGS: RaftTimings = { heartbeatMs: 100, electionMinMs: 400, electionMaxMs: 800 };

interface Slot {
  name: string;
  node: RaftNode | null;
  steward: ConfigSteward | null;
  boot: number;
  /** Committed configurations this incarnation saw, in order, and whether any came after a gap. */
  history: { c: CommittedConfig; gap: boolean }[];
}

/** Options of a {@link RaftWorld}. */
export interface RaftWorldOptions {
  size: number;
  seed: number;
  /** Probability that a message is lost. */
  drop?: number;
  /** Latency range, ms. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Probability that a message is delivered twice. */
  duplicate?: number;
  maxVoters?: number;
}

/** Violations the checkers found (empty = safe). */
export class RaftWorld {
  readonly clock = new SimClock();
  readonly rng: SeededRng;
  readonly slots: Slot[];
  readonly violations: string[] = [];
  /** cluster@term → leader id. */
  private readonly leaders = new Map<string, string>();
  /** cluster@index → "term:config" of the committed entry (all nodes, all time). */
  private readonly committed = new Map<string, string>();
  /** cluster@epoch → config key. */
  private readonly epochs = new Map<string, string>();
  /** Pairs of names that cannot talk (both directions). */
  private readonly cut = new Set<string>();
  private boots = 0;

  constructor(private readonly o: RaftWorldOptions) {
    this.rng = new SeededRng(o.seed);
    this.slots = Array.from({ length: o.size }, (_, i) => ({ name: `n${i + 1}`, node: null, steward: null, boot: 0, history: [] }));
  }

  /** Starts every slot; the lowest-named one bootstraps once it hears of no cluster, the others are added. */
  startAll(): void {
    for (let i = 0; i < this.slots.length; i++) this.start(i);
  }

  ref(i: number): MemberRef {
    const n = this.slots[i]!.node;
    return n ? n.self : { name: this.slots[i]!.name, boot: this.slots[i]!.boot };
  }

  /** Starts a new incarnation in slot `i`. */
  start(i: number): void {
    const slot = this.slots[i]!;
    slot.boot = 0x1000 + ++this.boots;
    slot.history = [];
    const self = { name: slot.name, boot: slot.boot };
    const node: RaftNode = new RaftNode({
      self,
      clock: this.clock,
      rng: new SeededRng(this.o.seed * 31 + this.boots),
      timings: TIMINGS,
      send: (to, msg) => this.deliver(slot.name, to, msg),
      onChange: () => this.check(node),
      onJoin: (who, wants) => steward.noteIncarnation(who, wants),
      onCommitted: (changes, gap) => {
        for (const c of changes) steward.noteCommitted(c.config);
        for (const c of changes) slot.history.push({ c, gap });
        for (const c of changes) {
          const key = configKey(c.config);
          const at = `${cidKey(node)}@${c.epoch}`;
          const seen = this.epochs.get(at);
          if (seen === undefined) this.epochs.set(at, key);
          else if (seen !== key) this.violations.push(`epoch ${c.epoch} is ${seen} on one node and ${key} on ${slot.name}`);
        }
      },
    });
    const steward: ConfigSteward = new ConfigSteward({
      raft: node,
      clock: this.clock,
      rng: new SeededRng(this.o.seed * 37 + this.boots),
      alive: () => this.slots.filter((s) => s.node && (s === slot || !this.cut.has(pairKey(s.name, slot.name)))).map((s) => s.name),
      tickMs: 150,
      leaseMs: 500,
      bootstrapAfterMs: 1000,
      maxVoters: this.o.maxVoters,
    });
    slot.node = node;
    slot.steward = steward;
    node.start();
    steward.start();
  }

  /** Crashes slot `i`: all state lost. */
  crash(i: number): void {
    this.slots[i]!.node?.stop();
    this.slots[i]!.steward?.stop();
    this.slots[i]!.node = null;
    this.slots[i]!.steward = null;
  }

  /** Cuts (or heals) the link between slots a and b. */
  setCut(a: number, b: number, on: boolean): void {
    const k = pairKey(this.slots[a]!.name, this.slots[b]!.name);
    if (on) this.cut.add(k);
    else this.cut.delete(k);
  }

  /** Isolates slot `i` from everyone (or heals it). */
  isolate(i: number, on: boolean): void {
    for (let j = 0; j < this.slots.length; j++) if (j !== i) this.setCut(i, j, on);
  }

  healAll(): void {
    this.cut.clear();
  }

  /** Faults off (no drops, no duplicates) from now on. */
  calm(): void {
    this.o.drop = 0;
    this.o.duplicate = 0;
  }

  private deliver(from: string, to: string, msg: RaftMessage): void {
    if (this.cut.has(pairKey(from, to))) return;
    if (this.rng.next() < (this.o.drop ?? 0)) return;
    const copies = this.rng.next() < (this.o.duplicate ?? 0) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const lo = this.o.minDelayMs ?? 1;
      const hi = this.o.maxDelayMs ?? 20;
      const delay = lo + this.rng.int(Math.max(1, hi - lo));
      const copy = structuredClone(msg);
      this.clock.setTimer(delay, () => {
        const slot = this.slots.find((s) => s.name === to);
        if (!slot?.node || this.cut.has(pairKey(from, to))) return;
        slot.node.receive(from, copy);
      });
    }
  }

  /** Raft's safety checks, run after every state change of a node. */
  private check(node: RaftNode): void {
    if (node.role === "leader") {
      const id = refId(node.self);
      const at = `${cidKey(node)}@${node.term}`;
      const prev = this.leaders.get(at);
      if (prev === undefined) this.leaders.set(at, id);
      else if (prev !== id) this.violations.push(`two leaders in term ${node.term}: ${prev} and ${id}`);
    }
    const snap = node.logSnapshot();
    const record = (index: number, term: number, config: MemberConfig): void => {
      const key = `${term}:${configKey(config)}`;
      const at = `${cidKey(node)}@${index}`;
      const seen = this.committed.get(at);
      if (seen === undefined) this.committed.set(at, key);
      else if (seen !== key) this.violations.push(`index ${index} committed as ${seen} and as ${key} (${refId(node.self)})`);
    };
    if (node.cluster === null) return;
    if (snap.base.index > 0 && snap.base.config.members.length > 0) record(snap.base.index, snap.base.term, snap.base.config);
    for (let i = 0; i < snap.entries.length; i++) {
      const index = snap.base.index + 1 + i;
      if (index > snap.commit) break;
      record(index, snap.entries[i]!.term, snap.entries[i]!.config);
    }
  }

  /** Runs the world for `ms` simulated milliseconds. */
  async run(ms: number): Promise<void> {
    await this.clock.advance(ms);
  }

  /** Live nodes. */
  live(): RaftNode[] {
    return this.slots.flatMap((s) => (s.node ? [s.node] : []));
  }

  /** True when every live node has committed the same configuration listing exactly the live incarnations. */
  converged(): boolean {
    const live = this.live();
    const want = live.map((n) => refId(n.self)).sort();
    const c0 = live[0]?.committed;
    if (!c0) return false;
    return live.every((n) => sameConfig(n.committed, c0) && !n.changePending) && c0.members.map(refId).sort().join() === want.join();
  }

  stop(): void {
    for (let i = 0; i < this.slots.length; i++) this.crash(i);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export function configKey(c: MemberConfig): string {
  return `${c.members.map(refId).join(",")}/${c.voters.map(refId).join(",")}`;
}

function cidKey(node: RaftNode): string {
  const c = node.cluster;
  return c === null ? "none" : `${c.gen}.${c.id}`;
}
