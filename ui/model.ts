/**
 * The page's copy of the dashboard state: the last full state from the
 * feed, updated by its deltas, and every member's series for the charts
 * (new points appended, points older than the window dropped).
 */

import { METRICS, type MetricName, type SeriesColumns } from "../core/dashboard/series.ts";
import type { DashboardState } from "../core/dashboard/state.ts";

/** How far back the charts look, ms. */
export const WINDOW_MS = 15 * 60 * 1000;

/** The page's state. */
export interface PageModel {
  state: DashboardState;
  series: Map<string, SeriesColumns>;
}

/** A model from a full state (the page's embedded one, or the feed's snapshot). */
export function fromSnapshot(s: DashboardState): PageModel {
  const series = new Map<string, SeriesColumns>();
  for (const [name, cols] of Object.entries(s.series ?? {})) series.set(name, cols);
  const { series: _, ...rest } = s;
  return { state: rest, series };
}

/** What a delta changed. */
export interface Changes {
  map: boolean;
  events: boolean;
  series: boolean;
}

/** Applies a delta in place. */
export function applyDelta(m: PageModel, d: Partial<DashboardState> & { t: number }): Changes {
  const s = m.state;
  s.t = d.t;
  if (d.header) s.header = d.header;
  if (d.members) s.members = d.members;
  const changes = { map: d.map !== undefined, events: d.events !== undefined, series: false };
  if (d.map !== undefined) s.map = d.map;
  if (d.events !== undefined) s.events = d.events;
  for (const [name, cols] of Object.entries(d.series ?? {})) {
    let mine = m.series.get(name);
    if (!mine) {
      mine = { t: [] } as unknown as SeriesColumns;
      for (const k of METRICS) mine[k] = [];
      m.series.set(name, mine);
    }
    const last = mine.t.at(-1) ?? Number.NEGATIVE_INFINITY;
    for (let i = 0; i < cols.t.length; i++) {
      if (!(cols.t[i]! > last)) continue;
      mine.t.push(cols.t[i]!);
      for (const k of METRICS) mine[k].push(cols[k][i] ?? null);
      changes.series = true;
    }
  }
  trim(m, d.t - WINDOW_MS);
  return changes;
}

/** Drops points older than `from`. */
function trim(m: PageModel, from: number): void {
  for (const cols of m.series.values()) {
    let k = 0;
    while (k < cols.t.length && cols.t[k]! < from) k++;
    if (k === 0) continue;
    cols.t.splice(0, k);
    for (const name of METRICS) cols[name].splice(0, k);
  }
}

/**
 * One metric of every member on a shared time axis (uPlot's aligned data):
 * times rounded to `slotMs` (members sample on their own timers), seconds
 * for the x axis, null where a member has no point.
 */
export function aligned(series: ReadonlyMap<string, SeriesColumns>, members: readonly string[], metric: MetricName, slotMs = 2000): [number[], ...(number | null)[][]] {
  const slots = new Set<number>();
  const perMember = members.map((name) => {
    const cols = series.get(name);
    const byslot = new Map<number, number | null>();
    if (cols) {
      for (let i = 0; i < cols.t.length; i++) {
        const slot = Math.round(cols.t[i]! / slotMs) * slotMs;
        slots.add(slot);
        byslot.set(slot, cols[metric][i] ?? null);
      }
    }
    return byslot;
  });
  const xs = [...slots].sort((a, b) => a - b);
  return [xs.map((x) => x / 1000), ...perMember.map((byslot) => xs.map((x) => byslot.get(x) ?? null))];
}
