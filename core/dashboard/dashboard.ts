/**
 * One node's dashboard: its {@link DashboardRecorder}, once clustered the
 * {@link ClusterCollector} that gathers the other members' data, and the
 * live feed of /ui: every subscriber first gets a full state (with 15
 * minutes of series of every member), then a delta every second (members
 * and header always; the partition map and the events when they changed;
 * the series points that are new). Runtime-neutral: the Clock drives it.
 */
import type { Clock, Timer } from "../clock.ts";
import type { PartitionTable } from "../cluster/partition-table.ts";
import type { ClusterSnapshot } from "../cluster/snapshot.ts";
import type { Transport } from "../transport.ts";
import { ClusterCollector, DASHBOARD_CHANNEL } from "./collector.ts";
import { DashboardRecorder, type RecordedCluster, type RecorderOptions } from "./recorder.ts";
import { SAMPLE_MS, type SeriesColumns } from "./series.ts";
import { changedPartitions, composeState, type DashboardState } from "./state.ts";

/** The cluster layer as the dashboard uses it (a ClusterNode). */
export interface DashboardCluster extends RecordedCluster {
  readonly membership: RecordedCluster["membership"] & { liveMembers(): string[]; member(name: string): unknown };
  serviceChannel(tag: number): Transport;
}

/** Options of {@link Dashboard}. */
export interface DashboardOptions extends RecorderOptions {
  /** The cluster view (GET /v1/cluster), undefined on a single node. */
  view(): ClusterSnapshot | undefined;
  /** Interval of the live feed, ms (default 1000). */
  feedMs?: number;
  /** Interval of polling the other members, ms (default {@link SAMPLE_MS}). */
  pollMs?: number;
  /** Most live subscribers (default 64). */
  maxSubscribers?: number;
}

/** One live subscriber: gets named events with JSON data. */
export type FeedSink = (event: "snapshot" | "delta", json: string) => void;

/** What /ui serves from: the state now, and a live feed of it. */
export interface DashboardFeed {
  /** The whole state; with `series`, every member's samples after `since`. */
  state(series?: boolean, since?: number): DashboardState;
  /** Adds a live subscriber (a full state at once, then deltas); null when too many are live. */
  subscribe(sink: FeedSink): (() => void) | null;
}

/** A node's dashboard data and live feed. */
export class Dashboard implements DashboardFeed {
  readonly recorder: DashboardRecorder;
  private readonly clock: Clock;
  private cluster: DashboardCluster | null = null;
  private collector: ClusterCollector | null = null;
  private readonly sinks = new Set<FeedSink>();
  private timer: Timer | null = null;
  private stopped = false;
  private lastTable: PartitionTable | null = null;
  private changed: number[] = [];
  /** Per member, the newest sample time sent in a delta. */
  private readonly sentUntil = new Map<string, number>();
  private lastMapKey = "";
  private lastEventsKey = "";

  constructor(private readonly o: DashboardOptions) {
    this.clock = o.source.clock;
    this.recorder = new DashboardRecorder(o);
  }

  /** Sets the client addresses shown for this node. */
  setEndpoints(e: { resp?: string; http?: string }): void {
    this.recorder.setEndpoints(e);
  }

  /** Starts recording this node. */
  start(): void {
    this.recorder.start();
  }

  /**
   * Watches the cluster layer and starts answering and polling the other
   * members on the dashboard's channel. Call before the cluster starts to
   * see its first membership events.
   */
  attachCluster(c: DashboardCluster): void {
    this.cluster = c;
    this.recorder.attachCluster(c);
  }

  /** Starts the collector (after the cluster layer listens on its peer port). */
  async startCollector(): Promise<void> {
    const c = this.cluster;
    if (!c || this.collector || this.stopped) return;
    const collector = new ClusterCollector({
      recorder: this.recorder,
      channel: c.serviceChannel(DASHBOARD_CHANNEL),
      self: c.self,
      clock: this.clock,
      liveMembers: () => c.membership.liveMembers(),
      isMember: (name) => c.membership.member(name) !== undefined,
      intervalMs: this.o.pollMs ?? SAMPLE_MS,
    });
    await collector.start();
    this.collector = collector;
  }

  /** Stops recording, polling and the feed; ends every subscriber. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.sinks.clear();
    this.recorder.stop();
    await this.collector?.stop();
  }

  /** Live subscribers now. */
  get subscribers(): number {
    return this.sinks.size;
  }

  /** The whole state now; with `series`, every member's samples after `since` (default: all kept). */
  state(series = false, since = Number.NEGATIVE_INFINITY): DashboardState {
    const table = this.cluster?.partitions ?? null;
    if (table !== this.lastTable) {
      if (table && this.lastTable && table.epoch !== this.lastTable.epoch) this.changed = changedPartitions(this.lastTable, table);
      this.lastTable = table;
    }
    const mirrors = this.collector?.all() ?? new Map();
    const s = composeState({
      now: this.clock.now(),
      nodeName: this.o.nodeName,
      self: this.recorder.summary(),
      selfEvents: this.recorder.events.since(0),
      view: this.o.view(),
      table,
      mirrors,
      changed: this.changed,
    });
    if (series) s.series = this.series(() => since);
    return s;
  }

  /**
   * Adds a live subscriber: it gets a full state at once and a delta every
   * feed interval until the returned function is called.
   * @returns the unsubscribe function, or null when maxSubscribers are already live
   */
  subscribe(sink: FeedSink): (() => void) | null {
    if (this.stopped || this.sinks.size >= (this.o.maxSubscribers ?? 64)) return null;
    const full = this.state(true);
    if (this.sinks.size === 0) {
      // the first subscriber: deltas start from here
      for (const [name, cols] of Object.entries(full.series ?? {})) this.sentUntil.set(name, cols.t.at(-1) ?? Number.NEGATIVE_INFINITY);
      this.lastMapKey = mapKey(full);
      this.lastEventsKey = eventsKey(full);
    }
    this.sinks.add(sink);
    sink("snapshot", JSON.stringify(full));
    if (this.timer === null) this.schedule();
    return () => {
      this.sinks.delete(sink);
    };
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(this.o.feedMs ?? 1000, () => {
      this.timer = null;
      if (this.stopped || this.sinks.size === 0) return;
      this.tick();
      this.schedule();
    });
  }

  /** Sends one delta to every subscriber. */
  private tick(): void {
    const s = this.state(false);
    const delta: Partial<DashboardState> & { t: number } = { v: 1, t: s.t, header: s.header, members: s.members };
    const mk = mapKey(s);
    if (mk !== this.lastMapKey) {
      delta.map = s.map;
      this.lastMapKey = mk;
    }
    const ek = eventsKey(s);
    if (ek !== this.lastEventsKey) {
      delta.events = s.events;
      this.lastEventsKey = ek;
    }
    delta.series = this.series((name) => this.sentUntil.get(name) ?? Number.NEGATIVE_INFINITY);
    for (const [name, cols] of Object.entries(delta.series)) {
      if (cols.t.length === 0) delete delta.series[name];
      else this.sentUntil.set(name, cols.t.at(-1)!);
    }
    const json = JSON.stringify(delta);
    for (const sink of [...this.sinks]) {
      try {
        sink("delta", json);
      } catch {
        this.sinks.delete(sink);
      }
    }
  }

  /** Series of this node and every mirrored member after `after(name)`. */
  private series(after: (name: string) => number): Record<string, SeriesColumns> {
    const out: Record<string, SeriesColumns> = {};
    const self = this.recorder.name;
    out[self] = this.recorder.ring.since(after(self));
    for (const [name, m] of this.collector?.all() ?? []) out[name] = m.ring.since(after(name));
    return out;
  }
}

function mapKey(s: DashboardState): string {
  const m = s.map;
  if (!m) return "none";
  return `${m.epoch}/${m.count}/${m.members.join(",")}/${m.owner.join(",")}/${m.catching.map((c) => `${c.p}@${c.member}`).join(",")}/${m.migrating.join(",")}`;
}

function eventsKey(s: DashboardState): string {
  const last = s.events.at(-1);
  let seen = 0;
  for (const e of s.events) seen += e.alsoSeenBy?.length ?? 0;
  return `${s.events.length}/${last?.id ?? ""}/${seen}`;
}
