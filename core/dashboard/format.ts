/**
 * Number, size, time and HTML formatting of the dashboard, shared by the
 * page the server renders and the browser code that updates it (one
 * formatting, so a value never changes its look when the live feed takes over).
 */

/** HTML-escapes text for element content and quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Bytes in B/KiB/MiB/GiB with 3 significant digits; "–" for null. */
export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toPrecision(3)} ${units[u]}`;
}

/** A count with k/M suffixes (1.2k, 3.4M); "–" for null. */
export function fmtCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(n / 1e3).toPrecision(3)}k`;
  return a >= 100 || Number.isInteger(n) ? Math.round(n).toString() : n.toFixed(1);
}

/** Milliseconds as "0.25 ms", "12 ms", "1.5 s"; "–" for null. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${Number(ms.toPrecision(2))} ms`;
}

/** A ratio 0..1 as a percentage; "–" for null. */
export function fmtRatio(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return "–";
  return `${(r * 100).toFixed(r >= 0.9995 || r === 0 ? 0 : 1)}%`;
}

/** Wall-clock ms as HH:MM:SS at `offsetMin` minutes east of UTC (the browser passes its own). */
export function fmtClock(t: number, offsetMin = 0): string {
  const d = new Date(t + offsetMin * 60_000);
  const p = (x: number) => String(x).padStart(2, "0");
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** A duration as "4 s", "3 min", "2 h", "5 d". */
export function fmtAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/**
 * Colour of the k-th member (members sorted by name): 20 distinct hues
 * readable on a dark background, then golden-angle hues.
 */
export function memberColor(k: number): string {
  const PALETTE = [
    "#4e9cff", "#ff9f40", "#3ccf8e", "#ff5c7a", "#b58cff", "#e8c547", "#34d1d1", "#ff7ad9", "#9ad14b", "#c9a27e",
    "#7f8cff", "#ff6f3c", "#2fb5a1", "#d05ce3", "#f2e07a", "#5fb0e8", "#e05d5d", "#80e0a7", "#c7c7ff", "#f0a3c0",
  ];
  if (k >= 0 && k < PALETTE.length) return PALETTE[k]!;
  return `hsl(${Math.round((k * 137.508) % 360)} 70% 62%)`;
}
