/**
 * What one node keeps for the dashboard: a {@link MetricRing} of its own
 * samples and an {@link EventLog} of what it saw. Samples are taken every
 * {@link SAMPLE_MS}; events come from the membership layer as they happen
 * (with SWIM's reason: which probe failed, who suspected whom, how many
 * confirmations) and from counters watched every second (a new partition
 * table, entries rebalanced, partitions caught up, keys repaired by
 * anti-entropy, hints delivered, keys evicted). Runtime-neutral: the Clock
 * drives it.
 */
import type { Timer } from "../clock.ts";
import type { AntiEntropyStats } from "../cluster/anti-entropy.ts";
import type { HintStats } from "../cluster/hints.ts";
import type { MembershipEvent } from "../cluster/membership.ts";
import type { PartitionTable } from "../cluster/partition-table.ts";
import { type DashEvent, type DashEventKind, EventLog } from "./event-log.ts";
import { type SampleSource, StatsSampler } from "./sampler.ts";
import { MetricRing, SAMPLE_MS, type Sample } from "./series.ts";

/** The cluster layer as the recorder watches it (a ClusterNode). */
export interface RecordedCluster {
  readonly self: string;
  readonly membership: { onEvent(fn: (e: MembershipEvent) => void): () => void };
  readonly partitions: PartitionTable | null;
  /** Entries pushed to new holders by rebalancing since start. */
  readonly rebalanced: number;
  /** True while a rebalance pass runs. */
  readonly rebalancing: boolean;
  /** Partitions this node took over and is still pulling. */
  catchingPartitions(): number[];
  readonly repairs: AntiEntropyStats;
  readonly handoff: HintStats;
}

/** A node's identity and latest figures, as peers and the page show them. */
export interface NodeSummary {
  /** Member name (the peer address) when clustered, else the node name. */
  name: string;
  /** --node-name. */
  nodeName: string;
  /** Wall-clock ms the node started. */
  startedAt: number;
  ready: boolean;
  /** The newest sample (null before the first). */
  latest: Sample | null;
  /** Partitions this node is catching up (pulling after a takeover). */
  catching: number[];
  /** A rebalance pass is running here. */
  rebalancing: boolean;
  /** Epoch of this node's partition table (0 without one). */
  epoch: number;
  /** Where clients reach it (host:port), when known. */
  resp?: string;
  http?: string;
}

/** Options of {@link DashboardRecorder}. */
export interface RecorderOptions {
  source: SampleSource & { readonly ready: boolean };
  nodeName: string;
  /** Client addresses (host:port) shown on the page. */
  endpoints?: { resp?: string; http?: string };
  /** Sample interval, ms (default {@link SAMPLE_MS}). */
  sampleMs?: number;
  /** Interval of the counter watch, ms (default 1000). */
  watchMs?: number;
  /** Samples kept (default: 15 minutes' worth). */
  capacity?: number;
}

const MEMBER_KINDS: Record<MembershipEvent["type"], DashEventKind> = { join: "join", suspect: "suspect", alive: "alive", dead: "dead", leave: "leave" };

/** Records one node's samples and events. */
export class DashboardRecorder {
  readonly ring: MetricRing;
  readonly events = new EventLog();
  private readonly sampler: StatsSampler;
  private readonly startedAt: number;
  private cluster: RecordedCluster | null = null;
  private unsubscribe: (() => void) | null = null;
  private timers: Timer[] = [];
  private stopped = false;
  private lastSampleMono: number;
  private endpoints: { resp?: string; http?: string };
  private seen: { evictions: number; repaired: number; pulled: number; pushed: number; orphans: number; delivered: number; dropped: number; rebalanced: number; catching: number; table: PartitionTable | null };

  constructor(private readonly o: RecorderOptions) {
    const clock = o.source.clock;
    this.ring = new MetricRing(o.capacity ?? Math.round((15 * 60 * 1000) / (o.sampleMs ?? SAMPLE_MS)));
    this.sampler = new StatsSampler(o.source);
    this.startedAt = clock.now();
    this.lastSampleMono = clock.monotonic();
    this.endpoints = { ...o.endpoints };
    this.seen = { evictions: o.source.stats.evictions, repaired: 0, pulled: 0, pushed: 0, orphans: 0, delivered: 0, dropped: 0, rebalanced: 0, catching: 0, table: null };
  }

  /** This node's name in events and on the page. */
  get name(): string {
    return this.cluster?.self ?? this.o.nodeName;
  }

  /** Sets the client addresses shown for this node (known once its listeners are open). */
  setEndpoints(e: { resp?: string; http?: string }): void {
    this.endpoints = { ...e };
  }

  /** Starts sampling and watching (idempotent). */
  start(): void {
    if (this.timers.length > 0 || this.stopped) return;
    this.note("start", `node ${this.o.nodeName} started`);
    const clock = this.o.source.clock;
    const watchMs = this.o.watchMs ?? 1000;
    const tick = (): void => {
      if (this.stopped) return;
      this.watch();
      const mono = clock.monotonic();
      if (mono - this.lastSampleMono >= (this.o.sampleMs ?? SAMPLE_MS) - watchMs / 2) {
        this.lastSampleMono = mono;
        this.ring.push(this.sampler.sample());
      }
      this.timers[0] = clock.setTimer(watchMs, tick);
    };
    this.timers = [clock.setTimer(watchMs, tick)];
  }

  /** Stops the timers and the membership subscription. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.unsubscribe?.();
  }

  /** Watches a cluster layer from now on: its membership events and its counters. */
  attachCluster(c: RecordedCluster): void {
    this.unsubscribe?.();
    this.cluster = c;
    this.seen = {
      ...this.seen,
      repaired: c.repairs.keysRepaired,
      pulled: c.repairs.entriesPulled,
      pushed: c.repairs.entriesPushed,
      orphans: c.repairs.orphansMoved,
      delivered: c.handoff.delivered,
      dropped: c.handoff.dropped,
      rebalanced: c.rebalanced,
      table: c.partitions,
    };
    this.unsubscribe = c.membership.onEvent((e) => {
      this.events.add({ t: this.o.source.clock.now(), node: c.self, kind: MEMBER_KINDS[e.type], member: e.member.name, incarnation: e.member.incarnation, text: e.reason });
    });
    const t = c.partitions;
    if (t) this.note("table", `joined with partition table epoch ${t.epoch}: ${t.members.length} members, ${t.partitionCount} partitions`);
  }

  /** Identity and newest figures. */
  summary(): NodeSummary {
    const c = this.cluster;
    return {
      name: this.name,
      nodeName: this.o.nodeName,
      startedAt: this.startedAt,
      ready: this.o.source.ready,
      latest: this.ring.latest() ?? null,
      catching: c ? c.catchingPartitions() : [],
      rebalancing: c?.rebalancing ?? false,
      epoch: c?.partitions?.epoch ?? 0,
      ...this.endpoints,
    };
  }

  /** Records an event of this node. */
  note(kind: DashEventKind, text: string, member?: string): DashEvent {
    return this.events.add({ t: this.o.source.clock.now(), node: this.name, kind, ...(member !== undefined ? { member } : {}), text });
  }

  /** Turns counter changes since the last watch into events. */
  private watch(): void {
    const seen = this.seen;
    const evictions = this.o.source.stats.evictions;
    if (evictions > seen.evictions) this.note("eviction", `evicted ${evictions - seen.evictions} keys (map key or memory limit)`);
    seen.evictions = evictions;
    const c = this.cluster;
    if (!c) return;
    const r = c.repairs;
    if (r.keysRepaired > seen.repaired || r.orphansMoved > seen.orphans) {
      const parts = [`repaired ${r.keysRepaired - seen.repaired} keys`];
      if (r.entriesPulled > seen.pulled) parts.push(`pulled ${r.entriesPulled - seen.pulled} newer copies`);
      if (r.entriesPushed > seen.pushed) parts.push(`pushed ${r.entriesPushed - seen.pushed} to replicas`);
      if (r.orphansMoved > seen.orphans) parts.push(`handed off ${r.orphansMoved - seen.orphans} orphaned copies`);
      this.note("repair", `anti-entropy ${parts.join(", ")}`);
    }
    Object.assign(seen, { repaired: r.keysRepaired, pulled: r.entriesPulled, pushed: r.entriesPushed, orphans: r.orphansMoved });
    const h = c.handoff;
    if (h.delivered > seen.delivered || h.dropped > seen.dropped) {
      const dropped = h.dropped - seen.dropped;
      this.note("handoff", `hinted handoff delivered ${h.delivered - seen.delivered} writes${dropped > 0 ? `, dropped ${dropped} (over the bounds)` : ""}; ${h.pending} pending`);
    }
    seen.delivered = h.delivered;
    seen.dropped = h.dropped;
    const table = c.partitions;
    if (table !== null && table !== seen.table && table.epoch !== seen.table?.epoch) {
      const prev = seen.table;
      if (prev && prev.partitionCount === table.partitionCount) {
        const moved = table.movedOwners(prev).length;
        this.note("table", `partition table epoch ${table.epoch}: ${table.members.length} members, ${moved} of ${table.partitionCount} partitions changed owner`);
      } else this.note("table", `first partition table here: epoch ${table.epoch}, ${table.members.length} members, ${table.partitionCount} partitions`);
    }
    if (table !== null) seen.table = table;
    if (c.rebalanced > seen.rebalanced) this.note("rebalance", `rebalance pushed ${c.rebalanced - seen.rebalanced} entries to their new holders`);
    seen.rebalanced = c.rebalanced;
    const catching = c.catchingPartitions().length;
    if (catching > seen.catching) this.note("catch-up", `catching up ${catching} partitions taken over (pulling from their previous holders)`);
    else if (catching === 0 && seen.catching > 0) this.note("catch-up", `caught up: ${seen.catching} partitions pulled`);
    seen.catching = catching;
  }
}
