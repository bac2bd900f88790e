/**
 * The time-series charts (uPlot): ops/s, hit ratio, p50 and p99 latency,
 * memory and event-loop lag, one line per member in the member's colour,
 * over the last 15 minutes. A chip per member above them hides or shows
 * that member in every chart. Charts are rebuilt when the set of members
 * changes and fed new data otherwise.
 */
import uPlot from "uplot";
import { fmtBytes, fmtClock, fmtCount, fmtMs, fmtRatio, memberColor } from "../core/dashboard/format.ts";
import { colorIndex, displayName } from "../core/dashboard/render.ts";
import type { MetricName } from "../core/dashboard/series.ts";
import { aligned, type PageModel } from "./model.ts";

const FORMAT: Partial<Record<MetricName, (v: number) => string>> = {
  ops: (v) => fmtCount(v),
  hitRatio: (v) => fmtRatio(v),
  p50Ms: (v) => fmtMs(v),
  p99Ms: (v) => fmtMs(v),
  rssBytes: (v) => fmtBytes(v),
  lagMs: (v) => fmtMs(v),
};

/** The charts section. */
export class Charts {
  private plots: { metric: MetricName; plot: uPlot; el: HTMLElement }[] = [];
  private membersKey = "";
  private members: string[] = [];
  private readonly hidden = new Set<string>();

  constructor(
    private readonly host: HTMLElement,
    private readonly chips: HTMLElement,
  ) {
    new ResizeObserver(() => this.resize()).observe(host);
  }

  /** Rebuilds (new members) or refreshes every chart from the model. */
  update(m: PageModel): void {
    // in the members table's order, then any member only the series still name
    const names = new Set<string>([...m.state.members.map((x) => x.name), ...[...m.series.keys()].sort()]);
    const members = [...names];
    const colors = colorIndex(m.state);
    const labels = members.map((n) => {
      const row = m.state.members.find((x) => x.name === n);
      return row ? displayName(row) : n;
    });
    const key = `${members.join(",")}|${labels.join(",")}`;
    if (key !== this.membersKey) {
      this.membersKey = key;
      this.members = members;
      this.build(members, labels, members.map((n) => memberColor(colors.get(n) ?? 0)));
    }
    for (const { metric, plot } of this.plots) plot.setData(aligned(m.series, this.members, metric) as uPlot.AlignedData);
  }

  private build(members: string[], labels: string[], colors: string[]): void {
    for (const p of this.plots) p.plot.destroy();
    this.plots = [];
    this.chips.innerHTML = "";
    members.forEach((name, k) => {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.dataset.member = name;
      chip.innerHTML = `<span class="swatch" style="background:${colors[k]}"></span>`;
      chip.append(labels[k]!);
      chip.setAttribute("aria-pressed", String(!this.hidden.has(name)));
      chip.addEventListener("click", () => {
        if (this.hidden.has(name)) this.hidden.delete(name);
        else this.hidden.add(name);
        chip.setAttribute("aria-pressed", String(!this.hidden.has(name)));
        for (const { plot } of this.plots) plot.setSeries(k + 1, { show: !this.hidden.has(name) });
      });
      this.chips.append(chip);
    });
    for (const fig of this.host.querySelectorAll<HTMLElement>("figure.chart")) {
      const metric = fig.dataset.metric as MetricName;
      const el = fig.querySelector<HTMLElement>(".plot")!;
      el.innerHTML = "";
      const fmt = FORMAT[metric] ?? ((v: number) => String(v));
      const opts: uPlot.Options = {
        width: Math.max(200, el.clientWidth),
        height: 150,
        legend: { show: false },
        cursor: { points: { size: 5 } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => (metric === "hitRatio" ? [0, 1] : [0, max > 0 ? max * 1.1 : 1]) } },
        axes: [
          {
            stroke: "#8b93a7",
            grid: { stroke: "#262b36", width: 1 },
            ticks: { stroke: "#262b36" },
            font: "11px system-ui, sans-serif",
            space: 70,
            values: (_u, vals) => vals.map((v) => (v === null ? "" : fmtClock(v * 1000, -new Date().getTimezoneOffset()).slice(0, 5 + (v % 60 === 0 ? 0 : 3)))),
          },
          { stroke: "#8b93a7", grid: { stroke: "#262b36", width: 1 }, ticks: { stroke: "#262b36" }, size: 74, font: "11px system-ui, sans-serif", values: (_u, vals) => vals.map((v) => (v === null ? "" : fmt(v))) },
        ],
        series: [{}, ...members.map((name, k) => ({ label: labels[k], stroke: colors[k], width: 1.5, points: { show: false }, spanGaps: false, show: !this.hidden.has(name) }))],
      };
      const plot = new uPlot(opts, [[], ...members.map(() => [])] as unknown as uPlot.AlignedData, el);
      this.plots.push({ metric, plot, el });
    }
  }

  private resize(): void {
    for (const { plot, el } of this.plots) {
      const w = Math.max(200, el.clientWidth);
      if (w !== plot.width) plot.setSize({ width: w, height: 150 });
    }
  }
}
