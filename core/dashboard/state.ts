/**
 * The dashboard's model of the whole cluster as one node sees it, as plain
 * JSON: a header (table epoch, quorums, consensus leader and voters when
 * the view has them), one row per member (status from this node's
 * membership view; keys, memory, ops/s, latency and lag from the member's
 * own recorder, polled by the {@link ClusterCollector}), the partition map
 * (owner and replicas of every partition, those being caught up or
 * migrating), the recent events of every member (a membership change seen
 * by several members is one event with its observers) and, on request, the
 * series of every member for the charts. Pure: everything comes in as data.
 */
import type { PartitionTable } from "../cluster/partition-table.ts";
import type { ClusterSnapshot } from "../cluster/snapshot.ts";
import type { MemberMirror } from "./collector.ts";
import type { DashEvent, DashEventKind } from "./event-log.ts";
import type { NodeSummary } from "./recorder.ts";
import type { Sample, SeriesColumns } from "./series.ts";

/** Member statuses shown ("unknown": a member only a peer's data still names). */
export type MemberStatusShown = "alive" | "suspect" | "dead" | "left" | "unknown";

/** One row of the members table. */
export interface MemberRow {
  /** Member name (peer address), the row's key. */
  name: string;
  /** --node-name, once the member answered (null before). */
  nodeName: string | null;
  self: boolean;
  status: MemberStatusShown;
  incarnation: number | null;
  /** Wall-clock ms of the last status change (as this node saw it). */
  since: number | null;
  /** Partitions owned, and held as a replica, in this node's table. */
  owned: number;
  replicas: number;
  ready: boolean | null;
  /** Figures from the member's newest sample (null: unknown). */
  keys: number | null;
  ops: number | null;
  hitRatio: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  rssBytes: number | null;
  storeBytes: number | null;
  lagMs: number | null;
  /** Partitions it is catching up, and whether it is rebalancing. */
  catching: number;
  rebalancing: boolean;
  /** Client addresses it announced. */
  resp: string | null;
  http: string | null;
  /** Wall-clock ms of its last answer to this node (self: now). */
  lastContact: number | null;
  /** Why polling it failed last (null when it answered). */
  error: string | null;
  /** With consensus ownership: the member leads the log, or votes (null: neither, or gossip ownership). */
  role: "leader" | "voter" | null;
}

/** The partition table as drawn: indices into `members`. */
export interface PartitionMap {
  epoch: number;
  count: number;
  members: string[];
  /** Owner of partition p: members[owner[p]]. */
  owner: number[];
  /** Replica holders of partition p (owner excluded), as indices. */
  replicas: number[][];
  /** Partitions a member is still pulling after taking them over, with that member. */
  catching: { p: number; member: string }[];
  /** Partitions whose holders changed in the latest table while a rebalance runs. */
  migrating: number[];
}

/** The cluster-wide line above the members. */
export interface DashboardHeader {
  /** The member serving the page, and its node name. */
  self: string;
  nodeName: string;
  clustered: boolean;
  epoch: number;
  partitionCount: number;
  replicaCount: number;
  writeQuorum: number;
  readQuorum: number;
  memberCountQuorum: number;
  liveMembers: number;
  quorumMet: boolean;
  ready: boolean;
  syncing: boolean;
  /** Consensus ownership (the serving node's role, term, leader, agreed epoch, voters), when the view carries it. */
  consensus: { role: string; term: number; leader: string | null; epoch: number; voters: string[] } | null;
}

/** An event on the page: one observer's, or one membership change seen by several. */
export interface UiEvent {
  /** `<observer>#<seq>` of the first observer. */
  id: string;
  t: number;
  kind: DashEventKind;
  node: string;
  member?: string;
  text: string;
  /** Other members that saw the same membership change. */
  alsoSeenBy?: string[];
}

/** Everything the page shows. */
export interface DashboardState {
  v: 1;
  /** Wall-clock ms on the serving node. */
  t: number;
  header: DashboardHeader;
  members: MemberRow[];
  map: PartitionMap | null;
  events: UiEvent[];
  /** Chart series by member name (only in full states and as new points in deltas). */
  series?: Record<string, SeriesColumns>;
}

/** What a state is composed from. */
export interface StateInputs {
  now: number;
  nodeName: string;
  /** This node's recorder summary and its own events. */
  self: NodeSummary;
  selfEvents: readonly DashEvent[];
  /** The cluster view (undefined on a single node). */
  view: ClusterSnapshot | undefined;
  table: PartitionTable | null;
  /** What was gathered from the other members. */
  mirrors: ReadonlyMap<string, Pick<MemberMirror, "summary" | "events" | "lastContact" | "error">>;
  /** Partitions whose holders changed in the latest table change (kept by the feed). */
  changed: readonly number[];
  /** Most events kept (default 200). */
  maxEvents?: number;
}

const MEMBER_EVENTS = new Set<DashEventKind>(["join", "suspect", "alive", "dead", "leave"]);

function figures(latest: Sample | null | undefined): Pick<MemberRow, "keys" | "ops" | "hitRatio" | "p50Ms" | "p99Ms" | "rssBytes" | "storeBytes" | "lagMs"> {
  return {
    keys: latest?.keys ?? null,
    ops: latest?.ops ?? null,
    hitRatio: latest?.hitRatio ?? null,
    p50Ms: latest?.p50Ms ?? null,
    p99Ms: latest?.p99Ms ?? null,
    rssBytes: latest?.rssBytes ?? null,
    storeBytes: latest?.storeBytes ?? null,
    lagMs: latest?.lagMs ?? null,
  };
}

/** The member rows: every member of the view, then members only the mirrors still know (reaped from the view). */
export function memberRows(i: StateInputs): MemberRow[] {
  const rows: MemberRow[] = [];
  const row = (name: string, summary: NodeSummary | null, rest: Partial<MemberRow>): MemberRow => ({
    name,
    nodeName: summary?.nodeName ?? null,
    self: false,
    status: "unknown",
    incarnation: null,
    since: null,
    owned: 0,
    replicas: 0,
    ready: summary?.ready ?? null,
    ...figures(summary?.latest),
    catching: summary?.catching.length ?? 0,
    rebalancing: summary?.rebalancing ?? false,
    resp: summary?.resp ?? null,
    http: summary?.http ?? null,
    lastContact: null,
    error: null,
    role: i.view?.consensus?.leader === name ? "leader" : i.view?.consensus?.voters.includes(name) ? "voter" : null,
    ...rest,
  });
  if (!i.view) {
    return [row(i.self.name, i.self, { self: true, status: "alive", owned: 0, lastContact: i.now })];
  }
  const seen = new Set<string>();
  for (const m of i.view.members) {
    seen.add(m.name);
    const base = { self: m.self, status: m.status, incarnation: m.incarnation, since: m.since, owned: m.ownedPartitions, replicas: m.replicaPartitions } as const;
    if (m.self) {
      rows.push(row(m.name, i.self, { ...base, lastContact: i.now }));
      continue;
    }
    const mirror = i.mirrors.get(m.name);
    rows.push(row(m.name, mirror?.summary ?? null, { ...base, lastContact: mirror?.lastContact ?? null, error: mirror?.error ?? null }));
  }
  for (const [name, mirror] of i.mirrors) {
    if (seen.has(name)) continue;
    // reaped from the membership view (dead or left long enough ago): keep showing it as gone
    rows.push(row(name, mirror.summary, { status: "dead", lastContact: mirror.lastContact, error: mirror.error ?? "no longer in the membership view" }));
  }
  // by what the page shows (node name, else address); colours follow the member name (render.ts)
  const label = (r: MemberRow) => `${r.nodeName ?? r.name}\u0000${r.name}`;
  return rows.sort((a, b) => (label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0));
}

/** The partition map of `table`, with catch-ups reported by the members and the partitions changed by the latest table. */
export function partitionMap(table: PartitionTable | null, catchers: readonly { member: string; partitions: readonly number[] }[], changed: readonly number[], rebalancing: boolean): PartitionMap | null {
  if (!table) return null;
  const members = [...table.members];
  const index = new Map(members.map((m, k) => [m, k]));
  const owner: number[] = new Array(table.partitionCount);
  const replicas: number[][] = new Array(table.partitionCount);
  for (let p = 0; p < table.partitionCount; p++) {
    owner[p] = index.get(table.owner(p)) ?? -1;
    replicas[p] = table.replicas(p).map((r) => index.get(r) ?? -1);
  }
  const catching: PartitionMap["catching"] = [];
  for (const c of catchers) for (const p of c.partitions) if (p < table.partitionCount) catching.push({ p, member: c.member });
  return { epoch: table.epoch, count: table.partitionCount, members, owner, replicas, catching, migrating: rebalancing ? [...changed] : [] };
}

/** Partitions whose owner or replica set differs between two tables (all of `next`'s when there is no comparable `prev`). */
export function changedPartitions(prev: PartitionTable | null, next: PartitionTable): number[] {
  const out: number[] = [];
  for (let p = 0; p < next.partitionCount; p++) {
    if (!prev || prev.partitionCount !== next.partitionCount) {
      out.push(p);
      continue;
    }
    const a = prev.replicas(p);
    const b = next.replicas(p);
    if (prev.owner(p) !== next.owner(p) || a.length !== b.length || a.some((x, k) => x !== b[k])) out.push(p);
  }
  return out;
}

/**
 * Every member's events merged newest last: a membership change (kind,
 * member, incarnation) seen by several members is one event, the earliest
 * observer's, with the others in `alsoSeenBy`.
 */
export function mergeEvents(lists: readonly (readonly DashEvent[])[], max = 200): UiEvent[] {
  const all = lists.flat().sort((a, b) => a.t - b.t || (a.node < b.node ? -1 : 1));
  const out: UiEvent[] = [];
  const byChange = new Map<string, UiEvent>();
  for (const e of all) {
    const ui: UiEvent = { id: `${e.node}#${e.seq}`, t: e.t, kind: e.kind, node: e.node, text: e.text, ...(e.member !== undefined ? { member: e.member } : {}) };
    if (MEMBER_EVENTS.has(e.kind) && e.member !== undefined) {
      const key = `${e.kind}\u0000${e.member}\u0000${e.incarnation ?? ""}`;
      const first = byChange.get(key);
      if (first) {
        if (first.node !== e.node && !first.alsoSeenBy?.includes(e.node)) (first.alsoSeenBy ??= []).push(e.node);
        continue;
      }
      byChange.set(key, ui);
    }
    out.push(ui);
  }
  return out.slice(-max);
}

/** The header line from the view (a single node: its own settings). */
export function header(i: StateInputs): DashboardHeader {
  const v = i.view;
  const c = v?.consensus;
  return {
    self: i.self.name,
    nodeName: i.nodeName,
    clustered: v !== undefined,
    epoch: v?.epoch ?? 0,
    partitionCount: v?.partitionCount ?? 0,
    replicaCount: v?.replicaCount ?? 1,
    writeQuorum: v?.writeQuorum ?? 1,
    readQuorum: v?.readQuorum ?? 1,
    memberCountQuorum: v?.memberCountQuorum ?? 1,
    liveMembers: v?.liveMembers ?? 1,
    quorumMet: v?.quorumMet ?? true,
    ready: v?.ready ?? i.self.ready,
    syncing: v?.syncing ?? false,
    consensus: c ? { role: c.role, term: c.term, leader: c.leader, epoch: c.epoch, voters: [...c.voters] } : null,
  };
}

/** The whole state (without series). */
export function composeState(i: StateInputs): DashboardState {
  const catchers = [{ member: i.self.name, partitions: i.self.catching }];
  let rebalancing = i.self.rebalancing;
  const lists: DashEvent[][] = [[...i.selfEvents]];
  for (const [name, m] of i.mirrors) {
    if (m.summary) {
      catchers.push({ member: name, partitions: m.summary.catching });
      rebalancing ||= m.summary.rebalancing;
    }
    lists.push(m.events.since(0));
  }
  return {
    v: 1,
    t: i.now,
    header: header(i),
    members: memberRows(i),
    map: partitionMap(i.table, catchers, i.changed, rebalancing),
    events: mergeEvents(lists, i.maxEvents ?? 200),
  };
}
