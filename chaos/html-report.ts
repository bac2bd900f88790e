/**
 * A chaos run as a picture: one self-contained HTML page (inline CSS and
 * SVG, no script, nothing fetched) with the verdict, a timeline of the
 * faults — one lane per node, plus "all" for every-link and client faults —
 * drawn over the throughput, the errors and the latency of the run's own
 * operations, the checkers' verdicts, the fault log and the run's settings.
 * `shoal chaos --real --report FILE.html`, `--real --run … --report
 * FILE.html` and `--sim --report FILE.html` write it. Pure: data in, text out.
 */
import type { Traffic } from "./run/traffic.ts";
import type { Timeline } from "./timeline.ts";

/** One fault interval on the picture. */
export interface PictureFault {
  what: string;
  /** Node name, or "all". */
  target: string;
  startMs: number;
  /** null: still in force at the end. */
  endMs: number | null;
  detail?: string;
  recoveredMs?: number | null;
}

/** One checker's verdict. */
export interface PictureChecker {
  name: string;
  status: "passed" | "failed" | "skipped";
  detail: string;
  violations: string[];
}

/** Everything the page shows. */
export interface ChaosPicture {
  /** e.g. "shoal chaos --real". */
  title: string;
  /** Seed, nodes, quorums… in one line. */
  subtitle: string;
  ok: boolean;
  /** One line: why ok or not. */
  verdict: string;
  /** "simulated" when times are the simulator's. */
  clock: "wall" | "simulated";
  durationMs: number;
  timeline: Timeline | null;
  /** Under --run: the command's own traffic through the proxies. */
  traffic?: Traffic;
  faults: PictureFault[];
  checkers: PictureChecker[];
  /** Label/value rows: settings and counters. */
  facts: [string, string][];
  replay?: string;
  /** ISO time of the run. */
  startedAt?: string;
}

const FAULT_COLORS: Record<string, string> = {
  kill: "#e5484d",
  crash: "#e5484d",
  stop: "#f5a524",
  pause: "#f5a524",
  restart: "#3e8ed0",
  "join-leave": "#3e8ed0",
  "netem-loss": "#a36bf2",
  drop: "#a36bf2",
  "netem-delay": "#12a594",
  delay: "#12a594",
  partition: "#d6409f",
  "one-way": "#d6409f",
  client: "#8d8d8d",
  skew: "#978365",
  jump: "#978365",
  stall: "#ad7f58",
};

/** The colour of a fault kind (a fixed one for known kinds, a hashed hue otherwise). */
export function faultColor(what: string): string {
  const known = FAULT_COLORS[what];
  if (known) return known;
  let h = 0;
  for (const ch of what) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360} 55% 55%)`;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const fmt = (x: number, d = 1) => (Math.abs(x) >= 100 ? Math.round(x).toString() : x.toFixed(d).replace(/\.0$/, ""));
const secs = (ms: number) => `${fmt(ms / 1000)} s`;

const W = 1100;
const LEFT = 92;
const RIGHT = 16;
const PLOT = W - LEFT - RIGHT;

/** Nice round tick step for a range. */
function step(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

/** The whole page. */
export function renderChaosHtml(p: ChaosPicture): string {
  const dur = Math.max(1, p.durationMs, ...p.faults.map((f) => f.endMs ?? f.startMs), ...(p.timeline?.buckets.map((b) => b.startMs + p.timeline!.bucketMs) ?? []));
  const minT = Math.min(0, ...p.faults.map((f) => f.startMs));
  const x = (ms: number) => LEFT + ((ms - minT) / (dur - minT)) * PLOT;
  const lanes = [...new Set(p.faults.map((f) => f.target))].sort((a, b) => (a === "all" ? -1 : b === "all" ? 1 : a < b ? -1 : 1));
  const laneH = 24;
  // faults of one target that overlap in time go on rows of their own within its lane
  const rowOf = new Map<PictureFault, number>();
  const rowsOf = new Map<string, number>();
  for (const lane of lanes) {
    const ends: number[] = [];
    for (const f of p.faults.filter((f) => f.target === lane).sort((a, b) => a.startMs - b.startMs)) {
      let r = ends.findIndex((end) => end <= f.startMs);
      if (r < 0) r = ends.push(0) - 1;
      ends[r] = f.endMs ?? Number.POSITIVE_INFINITY;
      rowOf.set(f, r);
    }
    rowsOf.set(lane, Math.max(1, ends.length));
  }
  const sections: string[] = [];
  let y = 8;
  const axisTicks = (top: number, height: number): string => {
    const s = step((dur - minT) / 1000, 10) * 1000;
    let out = "";
    for (let t = Math.ceil(minT / s) * s; t <= dur; t += s) {
      out += `<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${top + height}" class="grid"/>`;
      out += `<text x="${x(t)}" y="${top + height + 13}" class="tick" text-anchor="middle">${fmt(t / 1000)}s</text>`;
    }
    return out;
  };
  // fault lanes
  if (lanes.length > 0) {
    let g = `<text x="4" y="${y + 12}" class="label">faults</text>`;
    let top = y + 18;
    for (const lane of lanes) {
      const rows = rowsOf.get(lane)!;
      g += `<text x="${LEFT - 8}" y="${top + 15}" class="lane" text-anchor="end">${esc(lane)}</text><line x1="${LEFT}" x2="${W - RIGHT}" y1="${top + rows * laneH - 2}" y2="${top + rows * laneH - 2}" class="grid"/>`;
      for (const f of p.faults.filter((f) => f.target === lane)) {
        const ly = top + rowOf.get(f)! * laneH;
        const x0 = x(f.startMs);
        const x1 = Math.max(x0 + 3, x(f.endMs ?? dur));
        const tip = `${f.what} on ${f.target}: ${secs(f.startMs)} → ${f.endMs === null ? "end" : secs(f.endMs)}${f.detail ? ` · ${f.detail}` : ""}${f.recoveredMs != null ? ` · converged ${f.recoveredMs} ms after` : ""}`;
        g += `<g><title>${esc(tip)}</title><rect x="${x0}" y="${ly + 2}" width="${x1 - x0}" height="${laneH - 6}" rx="3" fill="${faultColor(f.what)}"/>`;
        if (x1 - x0 > f.what.length * 6.5 + 6) g += `<text x="${x0 + 4}" y="${ly + 15}" class="bar">${esc(f.what)}</text>`;
        g += "</g>";
      }
      top += rows * laneH;
    }
    sections.push(g);
    y = top + 10;
  }
  const bands = (top: number, height: number) =>
    p.faults.map((f) => `<rect x="${x(f.startMs)}" y="${top}" width="${Math.max(2, x(f.endMs ?? dur) - x(f.startMs))}" height="${height}" fill="${faultColor(f.what)}" opacity="0.13"/>`).join("");
  const tl = p.timeline;
  if (tl && tl.buckets.length > 0) {
    const perSec = 1000 / tl.bucketMs;
    const bw = Math.max(1, (tl.bucketMs / (dur - minT)) * PLOT - 0.5);
    // throughput
    const okMax = Math.max(1, ...tl.buckets.map((b) => b.ok * perSec));
    let h = 130;
    let g = `<text x="4" y="${y + 12}" class="label">ok ops/s</text>${bands(y, h)}${axisTicks(y, h)}`;
    for (const v of [0, okMax / 2, okMax]) g += `<text x="${LEFT - 8}" y="${y + h - (v / okMax) * h + 4}" class="tick" text-anchor="end">${fmt(v)}</text>`;
    for (const b of tl.buckets) {
      const v = b.ok * perSec;
      if (v > 0) g += `<rect x="${x(b.startMs)}" y="${y + h - (v / okMax) * h}" width="${bw}" height="${(v / okMax) * h}" fill="#30a46c"><title>${secs(b.startMs)}: ${fmt(v)} ok ops/s</title></rect>`;
    }
    sections.push(g);
    y += h + 24;
    // errors
    const errMax = Math.max(1, ...tl.buckets.map((b) => (b.fail + b.unknown) * perSec));
    h = 80;
    g = `<text x="4" y="${y + 12}" class="label">errors/s</text>${bands(y, h)}${axisTicks(y, h)}`;
    for (const v of [0, errMax]) g += `<text x="${LEFT - 8}" y="${y + h - (v / errMax) * h + 4}" class="tick" text-anchor="end">${fmt(v)}</text>`;
    for (const b of tl.buckets) {
      const f = b.fail * perSec;
      const u = b.unknown * perSec;
      if (f + u === 0) continue;
      const hf = (f / errMax) * h;
      const hu = (u / errMax) * h;
      g += `<g><title>${secs(b.startMs)}: ${fmt(f)} failed/s, ${fmt(u)} unknown/s</title><rect x="${x(b.startMs)}" y="${y + h - hf}" width="${bw}" height="${hf}" fill="#e5484d"/><rect x="${x(b.startMs)}" y="${y + h - hf - hu}" width="${bw}" height="${hu}" fill="#f5a524"/></g>`;
    }
    sections.push(g);
    y += h + 24;
    // latency, log scale
    const lats = tl.buckets.flatMap((b) => [b.p50Ms, b.p99Ms]).filter((v): v is number => v !== null && v > 0);
    h = 130;
    g = `<text x="4" y="${y + 12}" class="label">latency</text>${bands(y, h)}${axisTicks(y, h)}`;
    if (lats.length > 0) {
      const lo = Math.log10(Math.max(0.1, Math.min(...lats)));
      const hi = Math.max(lo + 1, Math.log10(Math.max(...lats)) + 0.1);
      const ly = (v: number) => y + h - ((Math.log10(Math.max(0.1, v)) - lo) / (hi - lo)) * h;
      for (let e = Math.ceil(lo); e <= hi; e++) g += `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${ly(10 ** e)}" y2="${ly(10 ** e)}" class="grid"/><text x="${LEFT - 8}" y="${ly(10 ** e) + 4}" class="tick" text-anchor="end">${10 ** e >= 1000 ? `${10 ** e / 1000} s` : `${10 ** e} ms`}</text>`;
      const line = (key: "p50Ms" | "p99Ms", color: string) => {
        const pts = tl.buckets.filter((b) => b[key] !== null).map((b) => `${(x(b.startMs) + bw / 2).toFixed(1)},${ly(b[key]!).toFixed(1)}`);
        return pts.length > 0 ? `<polyline points="${pts.join(" ")}" fill="none" stroke="${color}" stroke-width="1.6"/>` : "";
      };
      g += line("p99Ms", "#a36bf2") + line("p50Ms", "#3e8ed0");
      g += `<text x="${W - RIGHT}" y="${y + 12}" class="tick" text-anchor="end"><tspan fill="#3e8ed0">━ p50</tspan>  <tspan fill="#a36bf2">━ p99</tspan></text>`;
    } else g += `<text x="${LEFT + 8}" y="${y + h / 2}" class="tick">no completed operations</text>`;
    sections.push(g);
    y += h + 24;
  }
  const tr = p.traffic;
  if (tr && tr.buckets.length > 0) {
    const perSec = 1000 / tr.bucketMs;
    const kib = (b: { bytesToNode: number; bytesToClient: number }) => ((b.bytesToNode + b.bytesToClient) * perSec) / 1024;
    const top = Math.max(...tr.buckets.map(kib)) || 1;
    const bw = Math.max(1, (tr.bucketMs / (dur - minT)) * PLOT - 0.5);
    const h = 80;
    let g = `<text x="4" y="${y + 12}" class="label">command</text><text x="4" y="${y + 26}" class="tick">KiB/s, proxies</text>${bands(y, h)}${axisTicks(y, h)}`;
    for (const v of [0, top]) g += `<text x="${LEFT - 8}" y="${y + h - (v / top) * h + 4}" class="tick" text-anchor="end">${fmt(v)}</text>`;
    for (const b of tr.buckets) {
      const toNode = (b.bytesToNode * perSec) / 1024;
      const toClient = (b.bytesToClient * perSec) / 1024;
      if (toNode + toClient === 0) continue;
      const hn = (toNode / top) * h;
      const hc = (toClient / top) * h;
      g += `<g><title>${secs(b.startMs)}: ${fmt(toNode)} KiB/s to the nodes, ${fmt(toClient)} KiB/s back, ${b.connections} new connections</title><rect x="${x(b.startMs)}" y="${y + h - hn}" width="${bw}" height="${hn}" fill="#3e8ed0"/><rect x="${x(b.startMs)}" y="${y + h - hn - hc}" width="${bw}" height="${hc}" fill="#8ec8f6"/></g>`;
    }
    sections.push(g);
    y += h + 24;
  }
  const svg = `<svg viewBox="0 0 ${W} ${y}" width="100%" role="img" aria-label="fault timeline against throughput, errors and latency" xmlns="http://www.w3.org/2000/svg">${sections.join("")}</svg>`;
  const kinds = [...new Set(p.faults.map((f) => f.what))];
  const legend = kinds.map((k) => `<span class="key"><i style="background:${faultColor(k)}"></i>${esc(k)}</span>`).join("");
  const checkerRows = p.checkers
    .map(
      (c) =>
        `<tr class="${c.status}"><td><span class="badge ${c.status}">${c.status}</span></td><td><b>${esc(c.name)}</b></td><td>${esc(c.detail)}${c.violations.length > 0 ? `<ul>${c.violations.slice(0, 20).map((v) => `<li>${esc(v)}</li>`).join("")}${c.violations.length > 20 ? `<li>… ${c.violations.length - 20} more</li>` : ""}</ul>` : ""}</td></tr>`,
    )
    .join("");
  const faultRows = p.faults
    .map((f) => `<tr><td>${secs(f.startMs)}</td><td>${f.endMs === null ? "–" : secs(f.endMs)}</td><td><span class="dot" style="background:${faultColor(f.what)}"></span>${esc(f.what)}</td><td>${esc(f.target)}</td><td>${esc(f.detail ?? "")}</td><td>${f.recoveredMs === undefined ? "" : f.recoveredMs === null ? "not within the bound" : `${f.recoveredMs} ms`}</td></tr>`)
    .join("");
  const facts = p.facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(p.title)} · ${p.ok ? "passed" : "FAILED"}</title>
<style>
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2024;background:#f7f8fa}
main{max-width:1160px;margin:0 auto;padding:20px}
h1{font-size:20px;margin:0 0 2px}.sub{color:#60646c}
.verdict{margin:14px 0;padding:10px 14px;border-radius:8px;font-weight:600}
.verdict.ok{background:#e6f6eb;color:#18794e}.verdict.bad{background:#feebec;color:#ce2c31}
section{background:#fff;border:1px solid #e0e1e6;border-radius:10px;padding:14px;margin:14px 0}
h2{font-size:15px;margin:0 0 8px}
svg text{font:11px system-ui,sans-serif;fill:#60646c}svg .label{font-weight:600;fill:#1c2024;font-size:12px}
svg .lane{fill:#1c2024}svg .bar{fill:#fff;font-weight:600}svg .grid{stroke:#eceef2;stroke-width:1}
.keys{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:#60646c}.key i,.dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef2;vertical-align:top}th{color:#60646c;font-weight:500;width:28%}
.badge{display:inline-block;padding:0 8px;border-radius:9px;font-size:12px;font-weight:600}.badge.passed{background:#e6f6eb;color:#18794e}.badge.failed{background:#feebec;color:#ce2c31}.badge.skipped{background:#eceef2;color:#60646c}
ul{margin:4px 0 0;padding-left:18px}code{font:12px ui-monospace,monospace;background:#eceef2;padding:2px 6px;border-radius:4px;word-break:break-all}
</style></head><body><main>
<h1>${esc(p.title)}</h1><div class="sub">${esc(p.subtitle)}${p.startedAt ? ` · started ${esc(p.startedAt)}` : ""}${p.clock === "simulated" ? " · times are simulated" : ""}</div>
<div class="verdict ${p.ok ? "ok" : "bad"}">${p.ok ? "✔" : "✘"} ${esc(p.verdict)}</div>
<section><h2>Faults against throughput, errors and latency <span class="sub">(${secs(dur - minT)}${p.timeline ? `, ${p.timeline.bucketMs} ms buckets` : ""})</span></h2>${svg}<div class="keys">${legend}${tr ? '<span class="key"><i style="background:#3e8ed0"></i>command → nodes</span><span class="key"><i style="background:#8ec8f6"></i>nodes → command</span>' : ""}${tl ? '<span class="key"><i style="background:#30a46c"></i>ok</span><span class="key"><i style="background:#e5484d"></i>failed</span><span class="key"><i style="background:#f5a524"></i>unknown (timed out)</span>' : ""}</div></section>
<section><h2>Checkers</h2><table>${checkerRows || '<tr><td class="sub">none ran</td></tr>'}</table></section>
<section><h2>Fault log</h2><table><tr><th>start</th><th>end</th><th>fault</th><th>target</th><th>detail</th><th>converged after</th></tr>${faultRows || '<tr><td colspan="6" class="sub">no faults</td></tr>'}</table></section>
<section><h2>Run</h2><table>${facts}</table>${p.replay ? `<p>Replay: <code>${esc(p.replay)}</code></p>` : ""}</section>
</main></body></html>
`;
}
