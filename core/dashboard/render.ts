/**
 * The dashboard's HTML fragments from a {@link DashboardState}: the header,
 * the members table, the partition map's legend and the events list. The
 * server renders the first page with them (so the page reads right before
 * any script runs, and `chromium --dump-dom` sees every member and its
 * status) and the browser code re-renders with the same functions on every
 * update. Pure string building; every value is escaped.
 */
import { esc, fmtAge, fmtBytes, fmtClock, fmtCount, fmtMs, fmtRatio, memberColor } from "./format.ts";
import type { DashboardState, MemberRow, UiEvent } from "./state.ts";

/** Colour index of each member: its position among all names (members and table members), sorted. */
export function colorIndex(s: Pick<DashboardState, "members" | "map">): Map<string, number> {
  const names = new Set<string>(s.members.map((m) => m.name));
  for (const m of s.map?.members ?? []) names.add(m);
  return new Map([...names].sort().map((n, k) => [n, k]));
}

/** Short display name of a member: its node name, else its address. */
export function displayName(m: Pick<MemberRow, "name" | "nodeName">): string {
  return m.nodeName ?? m.name;
}

/** The header: cluster-wide facts. */
export function renderHeader(s: DashboardState): string {
  const h = s.header;
  const alive = s.members.filter((m) => m.status === "alive").length;
  const facts: string[] = [];
  if (h.clustered) {
    facts.push(`<span class="fact"><b>${alive}</b>/${s.members.length} members alive</span>`);
    facts.push(`<span class="fact">table epoch <b>${h.epoch}</b></span>`);
    facts.push(`<span class="fact"><b>${h.partitionCount}</b> partitions</span>`);
    facts.push(`<span class="fact">RF <b>${h.replicaCount}</b> · W <b>${h.writeQuorum}</b> · R <b>${h.readQuorum}</b></span>`);
    facts.push(`<span class="fact ${h.quorumMet ? "ok" : "bad"}">member quorum ${h.liveMembers}/${h.memberCountQuorum} ${h.quorumMet ? "met" : "NOT met"}</span>`);
    const c = h.consensus;
    if (c) {
      const names = new Map(s.members.map((m) => [m.name, displayName(m)]));
      const who = (n: string) => esc(names.get(n) ?? n);
      facts.push(`<span class="fact">consensus leader <b>${c.leader ? who(c.leader) : "none"}</b> · term ${c.term} · agreed epoch ${c.epoch} · ${c.voters.length} voters (${c.voters.map(who).join(", ")})</span>`);
    }
  } else {
    facts.push(`<span class="fact">single node (not clustered)</span>`);
  }
  if (!h.ready) facts.push(`<span class="fact bad">${h.syncing ? "syncing partitions" : "not ready"}</span>`);
  return `<div class="facts">${facts.join("")}</div><div class="served">served by <b>${esc(h.nodeName)}</b> (${esc(h.self)})</div>`;
}

function statusBadge(m: MemberRow): string {
  return `<span class="badge ${m.status}">${m.status}</span>`;
}

/** One members-table row. */
export function renderMemberRow(m: MemberRow, color: string, now: number): string {
  const stale = m.self || m.status === "dead" || m.status === "left" ? "" : m.lastContact === null ? " nodata" : now - m.lastContact > 10_000 ? " stale" : "";
  const contact = m.self
    ? "this node"
    : m.error && (m.lastContact === null || m.status !== "alive")
      ? `${m.lastContact === null ? "no data" : `last data ${fmtAge(now - m.lastContact)} ago`}`
      : m.lastContact !== null
        ? `data ${fmtAge(now - m.lastContact)} ago`
        : "no data yet";
  const work = [m.catching > 0 ? `<span class="tag catching">catching up ${m.catching}</span>` : "", m.rebalancing ? `<span class="tag migrating">rebalancing</span>` : ""].join("");
  const title = m.error && m.status !== "alive" ? ` title="${esc(m.error)}"` : "";
  return (
    `<tr data-member="${esc(m.name)}" data-status="${m.status}" class="st-${m.status}${stale}"${title}>` +
    `<td class="who" data-label="Member"><span class="swatch" style="background:${color}"></span><span class="mname">${esc(displayName(m))}</span>${m.self ? ' <span class="tag self">you</span>' : ""}${m.role ? ` <span class="tag ${m.role}">${m.role}</span>` : ""}<div class="addr">${esc(m.name)}${m.http ? ` · http ${esc(m.http)}` : ""}</div></td>` +
    `<td class="status" data-label="Status">${statusBadge(m)}<div class="sub">inc ${m.incarnation ?? "–"}${m.since ? ` · ${fmtAge(now - m.since)}` : ""}</div></td>` +
    `<td class="num" data-label="Keys">${fmtCount(m.keys)}</td>` +
    `<td class="num" data-label="Memory">${fmtBytes(m.rssBytes ?? m.storeBytes)}<div class="sub">store ${fmtBytes(m.storeBytes)}</div></td>` +
    `<td class="num" data-label="Ops/s">${fmtCount(m.ops)}</td>` +
    `<td class="num" data-label="Hit ratio">${fmtRatio(m.hitRatio)}</td>` +
    `<td class="num" data-label="p50 / p99">${fmtMs(m.p50Ms)}<div class="sub">${fmtMs(m.p99Ms)}</div></td>` +
    `<td class="num" data-label="Loop lag">${fmtMs(m.lagMs)}</td>` +
    `<td class="num" data-label="Partitions">${m.owned}<div class="sub">+${m.replicas} replicas</div></td>` +
    `<td class="note" data-label="">${work}<div class="sub">${esc(contact)}</div></td>` +
    `</tr>`
  );
}

/** The members table body. */
export function renderMembers(s: DashboardState): string {
  const colors = colorIndex(s);
  return s.members.map((m) => renderMemberRow(m, memberColor(colors.get(m.name) ?? 0), s.t)).join("");
}

/** The partition map's legend and totals (the map itself is drawn on a canvas). */
export function renderMapLegend(s: DashboardState): string {
  const map = s.map;
  if (!map) return `<p class="empty">No partition table: this node is not clustered.</p>`;
  const colors = colorIndex(s);
  const status = new Map(s.members.map((m) => [m.name, m.status]));
  const owned = new Map<number, number>();
  let unowned = 0;
  for (const o of map.owner) {
    owned.set(o, (owned.get(o) ?? 0) + 1);
    const st = status.get(map.members[o] ?? "");
    if (o < 0 || (st !== "alive" && st !== "suspect")) unowned++;
  }
  const items = map.members.map((name, k) => {
    const row = s.members.find((m) => m.name === name);
    const label = row ? displayName(row) : name;
    return `<li data-member="${esc(name)}"><span class="swatch" style="background:${memberColor(colors.get(name) ?? 0)}"></span>${esc(label)} <b>${owned.get(k) ?? 0}</b></li>`;
  });
  const totals = [
    `<span><b>${map.count - unowned}</b>/${map.count} partitions with a live owner</span>`,
    `<span>epoch <b>${map.epoch}</b></span>`,
    map.catching.length > 0 ? `<span class="catching">${map.catching.length} catching up</span>` : "",
    map.migrating.length > 0 ? `<span class="migrating">${map.migrating.length} migrating</span>` : "",
    unowned > 0 ? `<span class="bad">${unowned} without a live owner</span>` : "",
  ].join("");
  return `<div class="totals">${totals}</div><ul class="legend">${items.join("")}</ul>`;
}

const KIND_LABEL: Record<string, string> = {
  join: "join",
  suspect: "suspect",
  alive: "alive",
  dead: "dead",
  leave: "left",
  table: "table",
  rebalance: "rebalance",
  "catch-up": "catch-up",
  repair: "repair",
  handoff: "handoff",
  eviction: "eviction",
  start: "start",
};

/** One event line. */
export function renderEvent(e: UiEvent, names: ReadonlyMap<string, string>, offsetMin: number): string {
  const who = (n: string) => esc(names.get(n) ?? n);
  const about = e.member !== undefined ? `<b>${who(e.member)}</b> ` : "";
  const seen = e.alsoSeenBy && e.alsoSeenBy.length > 0 ? ` <span class="sub">(also seen by ${e.alsoSeenBy.map(who).join(", ")})</span>` : "";
  return `<li class="ev ev-${e.kind}" data-kind="${e.kind}"><time>${fmtClock(e.t, offsetMin)}</time><span class="kind">${KIND_LABEL[e.kind] ?? esc(e.kind)}</span><span class="what">${about}${esc(e.text)} <span class="sub">· ${who(e.node)}</span>${seen}</span></li>`;
}

/** The events list, newest first. */
export function renderEvents(s: DashboardState, offsetMin = 0): string {
  if (s.events.length === 0) return `<li class="empty">No events yet.</li>`;
  const names = new Map(s.members.map((m) => [m.name, displayName(m)]));
  return s.events
    .slice()
    .reverse()
    .map((e) => renderEvent(e, names, offsetMin))
    .join("");
}
