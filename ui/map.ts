/**
 * The partition map on a canvas: one cell per partition, filled with its
 * owner's colour; the replica holders' colours as marks along the cell's
 * bottom; partitions being caught up get a yellow frame, migrating ones a
 * white one, and a partition whose owner is not alive (dead, left, or not
 * known here) is dark with a red cross. Cells are as large as the width
 * allows (at most 28 px, at least 3 px: 16 384 partitions still fit), and
 * hovering or tapping one shows its partition number, owner and replicas.
 */
import { memberColor } from "../core/dashboard/format.ts";
import { colorIndex, displayName } from "../core/dashboard/render.ts";
import type { DashboardState } from "../core/dashboard/state.ts";

/** Where the map's cells are, for hit-testing. */
interface Layout {
  cell: number;
  gap: number;
  cols: number;
  rows: number;
}

/** Draws the map into `host` (a #map element with a canvas and a tooltip). */
export class MapView {
  private readonly canvas: HTMLCanvasElement;
  private readonly tip: HTMLElement;
  private state: DashboardState | null = null;
  private layout: Layout | null = null;
  /** A member whose partitions stand out (legend hover); null: none. */
  highlight: string | null = null;

  constructor(private readonly host: HTMLElement) {
    this.canvas = host.querySelector("canvas")!;
    this.tip = host.querySelector("#map-tip")!;
    new ResizeObserver(() => this.draw()).observe(host);
    const show = (ev: PointerEvent) => this.showTip(ev);
    this.canvas.addEventListener("pointermove", show);
    this.canvas.addEventListener("pointerdown", show);
    this.canvas.addEventListener("pointerleave", () => {
      this.tip.hidden = true;
    });
  }

  /** Redraws with `s`. */
  update(s: DashboardState): void {
    this.state = s;
    this.draw();
  }

  /** Draws the current state; records what it drew in the host's data attributes. */
  draw(): void {
    const s = this.state;
    const map = s?.map;
    const width = this.host.clientWidth;
    if (!s || !map || width === 0) {
      this.canvas.height = 0;
      this.host.dataset.drawn = "0";
      return;
    }
    const layout = layoutFor(map.count, width);
    this.layout = layout;
    const dpr = window.devicePixelRatio || 1;
    const pitch = layout.cell + layout.gap;
    const heightCss = layout.rows * pitch;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${heightCss}px`;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(heightCss * dpr);
    const g = this.canvas.getContext("2d")!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, heightCss);
    const colors = colorIndex(s);
    const status = new Map(s.members.map((m) => [m.name, m.status]));
    const fill = map.members.map((name) => memberColor(colors.get(name) ?? 0));
    const live = map.members.map((name) => status.get(name) === "alive" || status.get(name) === "suspect");
    const catching = new Set(map.catching.map((c) => c.p));
    const migrating = new Set(map.migrating);
    const hl = this.highlight === null ? -1 : map.members.indexOf(this.highlight);
    const c = layout.cell;
    const mark = c >= 8 ? Math.max(2, Math.round(c / 4)) : 0;
    let unowned = 0;
    for (let p = 0; p < map.count; p++) {
      const x = (p % layout.cols) * pitch;
      const y = Math.floor(p / layout.cols) * pitch;
      const o = map.owner[p]!;
      const reps = map.replicas[p] ?? [];
      const dim = hl >= 0 && o !== hl && !reps.includes(hl);
      g.globalAlpha = dim ? 0.18 : 1;
      if (o < 0 || !live[o]) {
        unowned++;
        g.fillStyle = "#2a2f3a";
        g.fillRect(x, y, c, c);
        g.strokeStyle = "#ff4d5e";
        g.lineWidth = Math.max(1, c / 10);
        g.beginPath();
        g.moveTo(x + 2, y + 2);
        g.lineTo(x + c - 2, y + c - 2);
        g.moveTo(x + c - 2, y + 2);
        g.lineTo(x + 2, y + c - 2);
        g.stroke();
      } else {
        g.fillStyle = fill[o]!;
        g.fillRect(x, y, c, c);
      }
      if (mark > 0 && reps.length > 0) {
        const w = c / reps.length;
        reps.forEach((r, k) => {
          g.fillStyle = r >= 0 ? fill[r]! : "#000";
          g.fillRect(x + k * w, y + c - mark, Math.ceil(w), mark);
        });
        g.fillStyle = "rgba(0,0,0,0.55)";
        g.fillRect(x, y + c - mark - 1, c, 1);
      }
      if (catching.has(p) || migrating.has(p)) {
        g.strokeStyle = catching.has(p) ? "#ffd43b" : "#ffffff";
        g.lineWidth = Math.max(1.5, c / 7);
        g.setLineDash(migrating.has(p) && !catching.has(p) ? [Math.max(2, c / 4), Math.max(2, c / 6)] : []);
        g.strokeRect(x + g.lineWidth / 2, y + g.lineWidth / 2, c - g.lineWidth, c - g.lineWidth);
        g.setLineDash([]);
      }
    }
    g.globalAlpha = 1;
    this.host.dataset.drawn = String(map.count);
    this.host.dataset.unowned = String(unowned);
    this.host.dataset.epoch = String(map.epoch);
    this.host.dataset.cell = String(c);
  }

  private showTip(ev: PointerEvent): void {
    const s = this.state;
    const map = s?.map;
    const l = this.layout;
    if (!s || !map || !l) return;
    const r = this.canvas.getBoundingClientRect();
    const pitch = l.cell + l.gap;
    const col = Math.floor((ev.clientX - r.left) / pitch);
    const row = Math.floor((ev.clientY - r.top) / pitch);
    const p = row * l.cols + col;
    if (col < 0 || col >= l.cols || p < 0 || p >= map.count) {
      this.tip.hidden = true;
      return;
    }
    const name = (k: number) => {
      const m = s.members.find((x) => x.name === map.members[k]);
      return m ? `${displayName(m)} (${m.status})` : (map.members[k] ?? "none");
    };
    const flags = [map.catching.some((c) => c.p === p) ? "catching up" : "", map.migrating.includes(p) ? "migrating" : ""].filter(Boolean).join(", ");
    this.tip.textContent = `partition ${p} · owner ${name(map.owner[p]!)} · replicas ${(map.replicas[p] ?? []).map(name).join(", ") || "none"}${flags ? ` · ${flags}` : ""}`;
    this.tip.hidden = false;
    const hostRect = this.host.getBoundingClientRect();
    this.tip.style.left = `${Math.min(ev.clientX - hostRect.left + 12, Math.max(0, hostRect.width - 260))}px`;
    this.tip.style.top = `${ev.clientY - hostRect.top + 14}px`;
  }
}

/** Cell size and grid for `count` partitions `width` px wide: about 60% as tall as wide at most, cells 3-28 px. */
export function layoutFor(count: number, width: number): Layout {
  const target = Math.max(120, Math.min(520, width * 0.6));
  let cell = Math.floor(Math.sqrt((width * target) / Math.max(1, count))) - 1;
  cell = Math.max(3, Math.min(28, cell));
  const gap = cell >= 10 ? 2 : 1;
  const cols = Math.max(1, Math.floor((width + gap) / (cell + gap)));
  return { cell, gap, cols, rows: Math.ceil(count / cols) };
}
