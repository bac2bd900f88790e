/**
 * The /ui page as the server sends it: a complete HTML document with the
 * header, the members table, the partition legend and the events already
 * rendered from the current state (render.ts), the state itself as JSON for
 * the script to start from, the stylesheet inline, and the script that
 * draws the map and the charts and follows the live feed. Nothing is
 * fetched from anywhere but this node.
 */
import { esc } from "./format.ts";
import { renderEvents, renderHeader, renderMapLegend, renderMembers } from "./render.ts";
import type { DashboardState } from "./state.ts";

/** The browser code and styles shipped inside the binary (cmd/ui-assets.ts bundles them). */
export interface UiAssets {
  /** The page's script (draws the map and charts, applies updates). */
  appJs: string;
  /** The Web Worker that holds the live feed (EventSource) and decodes it. */
  workerJs: string;
  /** The stylesheet (the page's and the chart library's). */
  css: string;
  /** A short hash of the three, for cache busting. */
  version: string;
}

const CHARTS: [string, string][] = [
  ["ops", "Ops/s"],
  ["hitRatio", "Hit ratio"],
  ["p50Ms", "Latency p50"],
  ["p99Ms", "Latency p99"],
  ["rssBytes", "Memory (RSS)"],
  ["lagMs", "Event-loop lag"],
];

/** JSON that is safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * The whole page for `state` (without series: those come with the live
 * feed's first message). Asset URLs are relative to /ui (`ui/app.js`), so
 * the page also works behind a proxy that mounts the node under a prefix.
 */
export function renderPage(state: DashboardState, assets: Pick<UiAssets, "css" | "version">): string {
  const title = `shoal · ${state.header.nodeName}`;
  const charts = CHARTS.map(([key, label]) => `<figure class="chart" data-metric="${key}"><figcaption>${label}</figcaption><div class="plot"></div></figure>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>${assets.css}</style>
</head>
<body>
<header class="top">
  <h1><span class="logo">◆</span> shoal <span class="live" id="live" data-state="static">server-rendered</span></h1>
  <div id="header">${renderHeader(state)}</div>
</header>
<main>
  <section class="panel members-panel">
    <h2>Members</h2>
    <div class="scroll">
    <table id="members">
      <thead><tr><th>Member</th><th>Status</th><th class="num">Keys</th><th class="num">Memory</th><th class="num">Ops/s</th><th class="num">Hit ratio</th><th class="num">p50 / p99</th><th class="num">Loop lag</th><th class="num">Partitions</th><th></th></tr></thead>
      <tbody id="member-rows">${renderMembers(state)}</tbody>
    </table>
    </div>
  </section>
  <section class="panel map-panel">
    <h2>Partition map <span class="hint">owner colour · replica marks below · <i class="k catching"></i>catching up · <i class="k migrating"></i>migrating · <i class="k nolive"></i>no live owner</span></h2>
    <div id="map" data-partitions="${state.map?.count ?? 0}"><canvas id="map-canvas" role="img" aria-label="partition map"></canvas><div id="map-tip" hidden></div></div>
    <div id="map-legend">${renderMapLegend(state)}</div>
  </section>
  <section class="panel events-panel">
    <h2>Recent events</h2>
    <ol id="events">${renderEvents(state)}</ol>
  </section>
  <section class="panel charts-panel">
    <h2>Last 15 minutes <span class="hint">per member · one point every 2 s</span></h2>
    <div class="chips" id="chips"></div>
    <div class="charts" id="charts">${charts}</div>
  </section>
</main>
<script id="initial-state" type="application/json">${scriptJson(state)}</script>
<script src="ui/app.js?v=${esc(assets.version)}" defer></script>
</body>
</html>
`;
}
