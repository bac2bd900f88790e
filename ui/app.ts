/**
 * The /ui page's script: starts from the state the server embedded in the
 * page, follows the live feed (a Web Worker holds the EventSource, see
 * worker.ts) and re-renders the header, members, partition map, charts and
 * events with the same fragments the server rendered (core/dashboard/render.ts).
 */
import { fmtClock } from "../core/dashboard/format.ts";
import { renderEvents, renderHeader, renderMapLegend, renderMembers } from "../core/dashboard/render.ts";
import type { DashboardState } from "../core/dashboard/state.ts";
import { Charts } from "./charts.ts";
import { MapView } from "./map.ts";
import { applyDelta, fromSnapshot, type PageModel } from "./model.ts";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const offsetMin = -new Date().getTimezoneOffset();

let model: PageModel = fromSnapshot(JSON.parse($("initial-state").textContent ?? "{}") as DashboardState);
const map = new MapView($("map"));
const charts = new Charts($("charts"), $("chips"));
const live = $("live");
let lastMessage = 0;
let status = "connecting";

function renderText(): void {
  const s = model.state;
  $("header").innerHTML = renderHeader(s);
  $("member-rows").innerHTML = renderMembers(s);
}

function renderMap(): void {
  $("map-legend").innerHTML = renderMapLegend(model.state);
  map.update(model.state);
}

function renderAll(): void {
  renderText();
  renderMap();
  $("events").innerHTML = renderEvents(model.state, offsetMin);
  charts.update(model);
}

function setLive(next: string): void {
  status = next;
  const stale = next === "live" && Date.now() - lastMessage > 5000;
  live.dataset.state = stale ? "stale" : next;
  live.textContent = stale ? `no update for ${Math.round((Date.now() - lastMessage) / 1000)} s` : next === "live" ? `live · ${fmtClock(model.state.t, offsetMin)}` : next;
}

function onMessage(msg: { type: string; state?: DashboardState; status?: string }): void {
  if (msg.type === "status") {
    setLive(msg.status ?? "reconnecting");
    return;
  }
  if (!msg.state) return;
  lastMessage = Date.now();
  if (msg.type === "snapshot") {
    model = fromSnapshot(msg.state);
    renderAll();
  } else {
    const changed = applyDelta(model, msg.state);
    renderText();
    // member statuses colour the map (a dead owner's cells), so it follows every delta
    renderMap();
    if (changed.events) $("events").innerHTML = renderEvents(model.state, offsetMin);
    if (changed.series) charts.update(model);
  }
  setLive("live");
}

// members in the legend highlight their partitions on the map
$("map-legend").addEventListener("pointerover", (e) => {
  const li = (e.target as HTMLElement).closest<HTMLElement>("li[data-member]");
  map.highlight = li?.dataset.member ?? null;
  map.draw();
});
$("map-legend").addEventListener("pointerleave", () => {
  map.highlight = null;
  map.draw();
});

renderAll();
setLive("connecting");
setInterval(() => setLive(status), 1000);

try {
  const worker = new Worker(new URL("ui/worker.js", location.href));
  worker.onmessage = (e: MessageEvent) => onMessage(e.data);
} catch {
  // no workers (a locked-down browser): the feed on the main thread
  const source = new EventSource(new URL("ui/events", location.href).href);
  source.addEventListener("snapshot", (e) => onMessage({ type: "snapshot", state: JSON.parse((e as MessageEvent<string>).data) }));
  source.addEventListener("delta", (e) => onMessage({ type: "delta", state: JSON.parse((e as MessageEvent<string>).data) }));
  source.onopen = () => setLive("live");
  source.onerror = () => setLive("reconnecting");
}
