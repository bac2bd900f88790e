/**
 * Makes every member's dashboard data available on every member, so any
 * node's page shows the whole cluster: each node answers peers' requests on
 * {@link DASHBOARD_CHANNEL} of the peer transport with its recorder's
 * summary, new samples and new events, and polls every live member every
 * {@link CollectorOptions.intervalMs} into a mirror (a ring and an event log
 * of its own per member). A member that stops answering keeps its last
 * figures, marked with the time of the last contact. Runtime-neutral: the
 * Clock and the Transport are injected.
 */
import type { Clock, Timer } from "../clock.ts";
import type { Link, Listener, Transport } from "../transport.ts";
import { EventLog } from "./event-log.ts";
import type { DashboardRecorder, NodeSummary } from "./recorder.ts";
import { MetricRing, SAMPLE_MS } from "./series.ts";
import { type DashRequest, decodeDashReply, decodeDashRequest, encodeDash } from "./wire.ts";

/** The peer-transport channel of dashboard messages (a service channel, beside the edge cache's 16). */
export const DASHBOARD_CHANNEL = 17;

/** What this node knows of another member's dashboard data. */
export interface MemberMirror {
  name: string;
  summary: NodeSummary | null;
  ring: MetricRing;
  events: EventLog;
  /** Wall-clock ms of the last answer (null: never answered). */
  lastContact: number | null;
  /** Why the last request failed (null after an answer). */
  error: string | null;
}

/** Options of {@link ClusterCollector}. */
export interface CollectorOptions {
  recorder: DashboardRecorder;
  /** The dashboard's channel of the peer transport. */
  channel: Transport;
  self: string;
  clock: Clock;
  /** Members to poll (alive and suspect ones, this node included or not). */
  liveMembers(): string[];
  /** Whether `name` is a member here (only members are answered). */
  isMember(name: string): boolean;
  /** Poll interval, ms (default {@link SAMPLE_MS}). */
  intervalMs?: number;
  /** Timeout of one request, ms (default the interval). */
  timeoutMs?: number;
  /** Mirrors of members gone from every list are forgotten after this long, ms (default 1 hour). */
  forgetAfterMs?: number;
}

/** Polls the other members' dashboard data and answers theirs. */
export class ClusterCollector {
  private readonly mirrors = new Map<string, MemberMirror>();
  private readonly links = new Map<string, Link>();
  private readonly inFlight = new Set<string>();
  private listener: Listener | null = null;
  private timer: Timer | null = null;
  private stopped = false;

  constructor(private readonly o: CollectorOptions) {}

  /** Listens for peers' requests and starts polling. */
  async start(): Promise<void> {
    const rec = this.o.recorder;
    this.listener = await this.o.channel.listen(this.o.self, {
      onRequest: (from, bytes) => {
        if (!this.o.isMember(from)) return encodeDash({ t: "error", message: `${from} is not a member here` });
        let req: DashRequest;
        try {
          req = decodeDashRequest(bytes);
        } catch (e) {
          return encodeDash({ t: "error", message: (e as Error).message });
        }
        const summary = rec.summary();
        const restarted = req.startedAt !== summary.startedAt;
        return encodeDash({
          t: "dash",
          summary,
          samples: rec.ring.since(restarted ? Number.NEGATIVE_INFINITY : req.since),
          events: rec.events.since(restarted ? 0 : req.after),
        });
      },
      onMessage: () => undefined,
    });
    const every = this.o.intervalMs ?? SAMPLE_MS;
    const tick = (): void => {
      if (this.stopped) return;
      this.pollAll();
      this.timer = this.o.clock.setTimer(every, tick);
    };
    this.timer = this.o.clock.setTimer(0, tick);
  }

  /** Stops polling and answering; closes the links. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.listener?.close();
    this.listener = null;
  }

  /** The mirror of `name`, if it was ever polled. */
  mirror(name: string): MemberMirror | undefined {
    return this.mirrors.get(name);
  }

  /** Every mirror, by member name. */
  all(): ReadonlyMap<string, MemberMirror> {
    return this.mirrors;
  }

  /** Starts one request to every live member that has none in flight; resolves when they all ended. */
  async pollAll(): Promise<void> {
    const live = this.o.liveMembers().filter((m) => m !== this.o.self);
    this.forget(live);
    await Promise.all(live.filter((m) => !this.inFlight.has(m)).map((m) => this.poll(m)));
  }

  private async poll(member: string): Promise<void> {
    let mirror = this.mirrors.get(member);
    if (!mirror) {
      mirror = { name: member, summary: null, ring: new MetricRing(this.o.recorder.ring.capacity), events: new EventLog(), lastContact: null, error: null };
      this.mirrors.set(member, mirror);
    }
    let link = this.links.get(member);
    if (!link) {
      link = this.o.channel.connect(member, this.o.self);
      this.links.set(member, link);
    }
    this.inFlight.add(member);
    const known = mirror.summary?.startedAt ?? 0;
    try {
      const bytes = await link.request(encodeDash({ t: "dash", since: mirror.ring.lastTime, after: mirror.events.lastSeq, startedAt: known }), this.o.timeoutMs ?? this.o.intervalMs ?? SAMPLE_MS);
      const reply = decodeDashReply(bytes);
      if (this.stopped) return;
      // a restarted member numbers its events from 1 again
      if (known !== 0 && reply.summary.startedAt !== known) mirror.events = new EventLog();
      mirror.summary = reply.summary;
      mirror.ring.pushColumns(reply.samples);
      for (const e of reply.events) mirror.events.keep(e);
      mirror.lastContact = this.o.clock.now();
      mirror.error = null;
    } catch (e) {
      mirror.error = e instanceof Error ? e.message : String(e);
      // a broken link is not reused: the next poll connects afresh
      link.close();
      this.links.delete(member);
    } finally {
      this.inFlight.delete(member);
    }
  }

  /** Drops mirrors of members not live and not heard from for forgetAfterMs. */
  private forget(live: readonly string[]): void {
    const limit = this.o.forgetAfterMs ?? 3_600_000;
    const now = this.o.clock.now();
    for (const [name, m] of this.mirrors) {
      if (live.includes(name) || this.o.isMember(name)) continue;
      if (m.lastContact === null || now - m.lastContact > limit) {
        this.mirrors.delete(name);
        this.links.get(name)?.close();
        this.links.delete(name);
      }
    }
  }
}
