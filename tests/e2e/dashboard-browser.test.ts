/**
 * The /ui dashboard in a real browser (Debian's chromium, headless, through
 * playwright-core) against three dist/shoal processes:
 * - the page shows 3 alive members by node name and a complete partition
 *   map (every cell drawn in a live member's colour, read back from the
 *   canvas pixels);
 * - `chromium --dump-dom --virtual-time-budget=5000 …/ui` has every member
 *   as alive; after kill -9 of one node a new dump has it dead;
 * - without a reload, the open page marks the killed node dead within the
 *   failure-detection bound of the preset, and its partitions move to the
 *   survivors on the map;
 * - screenshots (desktop and phone) are kept as artifacts; with
 *   SHOAL_TEST_README_SCREENSHOT=1 the desktop one replaces docs/dashboard.png.
 * And a synthetic cluster of 20 members × 1,000 partitions (15 minutes of
 * series each) served by the real page code renders legibly on a desktop and
 * a phone; its render time is printed (not asserted: shared machines).
 */
import { afterAll, describe, expect } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import type { Page } from "playwright-core";
import { UI_ASSETS } from "../../cmd/ui-assets.ts";
import { detectionBound, MEMBERSHIP_PRESETS } from "../../core/cluster/membership-config.ts";
import { PartitionTable } from "../../core/cluster/partition-table.ts";
import type { ClusterSnapshot } from "../../core/cluster/snapshot.ts";
import type { MemberMirror } from "../../core/dashboard/collector.ts";
import type { DashboardFeed, FeedSink } from "../../core/dashboard/dashboard.ts";
import { EventLog } from "../../core/dashboard/event-log.ts";
import { MetricRing, RING_SAMPLES, SAMPLE_MS } from "../../core/dashboard/series.ts";
import { composeState } from "../../core/dashboard/state.ts";
import type { HttpEnv } from "../../core/http/node.ts";
import { uiRoutes } from "../../core/http/ui-routes.ts";
import { artifactDir, chromiumPath, dumpDom, launchBrowser, type TestBrowser } from "../helpers/browser.ts";
import { sleep } from "../helpers/ports.ts";
import { testIf } from "../helpers/prerequisites.ts";
import { REPO_ROOT } from "../helpers/processes.ts";
import { killAll, launchAll, nodeSpecs, pipeline, type ShoalProc, until, waitMembers, waitReady } from "./cluster-harness.ts";

const missing = chromiumPath() ? null : "chromium is not installed (apt-get install chromium)";
const README_SHOT = process.env.SHOAL_TEST_README_SCREENSHOT === "1";

let nodes: ShoalProc[] = [];
let browser: TestBrowser | null = null;
let load: { stop(): Promise<void> } | null = null;

afterAll(async () => {
  await load?.stop();
  await browser?.close();
  await killAll();
});

/** Bounded traffic through every node (pipelined SET/GET batches) until stopped or `limitMs`. */
function startLoad(targets: ShoalProc[], limitMs: number): { stop(): Promise<void> } {
  let stopped = false;
  const deadline = Date.now() + limitMs;
  const loops = targets.map(async (n, k) => {
    const c = await n.connect();
    try {
      for (let round = 0; !stopped && Date.now() < deadline && round < 100_000; round++) {
        const cmds = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? ["SET", `k${k}:${(round * 50 + i) % 3000}`, "v".repeat(64)] : ["GET", `k${k}:${(round * 37 + i) % 4000}`]));
        await pipeline(c, cmds, 10_000).catch(() => undefined);
        await sleep(20);
      }
    } finally {
      c.close();
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.allSettled(loops);
    },
  };
}

/** Rows of the members table: name attribute, status, shown node name. */
async function rows(page: Page): Promise<{ member: string; status: string; name: string }[]> {
  return page.$$eval("#member-rows tr[data-member]", (trs) =>
    trs.map((tr) => ({ member: tr.getAttribute("data-member") ?? "", status: tr.getAttribute("data-status") ?? "", name: tr.querySelector(".mname")?.textContent ?? "" })),
  );
}

/** Reads the map canvas back: for every partition cell, whether its centre pixel has a live member's legend colour. */
async function mapCells(page: Page): Promise<{ drawn: number; partitions: number; inLiveColour: number; cell: number }> {
  return page.evaluate(() => {
    const host = document.getElementById("map")!;
    const canvas = host.querySelector("canvas")!;
    const g = canvas.getContext("2d")!;
    const partitions = Number(host.dataset.partitions);
    const cell = Number(host.dataset.cell);
    const gap = cell >= 10 ? 2 : 1;
    const width = canvas.clientWidth;
    const cols = Math.max(1, Math.floor((width + gap) / (cell + gap)));
    const dpr = canvas.width / width;
    const toRgb = (css: string) => {
      const probe = document.createElement("canvas").getContext("2d")!;
      probe.fillStyle = css;
      probe.fillRect(0, 0, 1, 1);
      return Array.from(probe.getImageData(0, 0, 1, 1).data.slice(0, 3)).join(",");
    };
    const status = new Map([...document.querySelectorAll("#member-rows tr[data-member]")].map((tr) => [tr.getAttribute("data-member"), tr.getAttribute("data-status")]));
    const live = new Set(
      [...document.querySelectorAll<HTMLElement>("#map-legend li[data-member]")]
        .filter((li) => status.get(li.dataset.member ?? "") === "alive")
        .map((li) => toRgb(getComputedStyle(li.querySelector(".swatch")!).backgroundColor)),
    );
    let inLiveColour = 0;
    for (let p = 0; p < partitions; p++) {
      const x = (p % cols) * (cell + gap) + cell / 2;
      const y = Math.floor(p / cols) * (cell + gap) + cell / 3;
      const px = g.getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data;
      if (live.has(`${px[0]},${px[1]},${px[2]}`)) inLiveColour++;
    }
    return { drawn: Number(host.dataset.drawn), partitions, inLiveColour, cell };
  });
}

describe("dashboard in chromium", () => {
  testIf(missing)(
    "3 nodes: 3 alive members and a complete map; kill -9 shows dead without a reload; --dump-dom before and after",
    async () => {
      const specs = await nodeSpecs(3, { prefix: "dash", extra: (_i, peers) => ["--peers", peers.join(","), "--replica-count", "2", "--write-quorum", "1"] });
      nodes = await launchAll(specs);
      await waitMembers(nodes, 3, 30_000, "join");
      await waitReady(nodes, 30_000);
      load = startLoad(nodes, README_SHOT ? 120_000 : 60_000);
      const url = (n: ShoalProc) => `http://${n.spec.host}:${n.spec.httpPort}/ui`;

      // every node's dashboard knows every member's name (gathered from the peers)
      expect(await until(async () => {
        const r = await fetch(`${url(nodes[0]!)}/state`);
        const s = (await r.json()) as { members: { nodeName: string | null }[] };
        return s.members.length === 3 && s.members.every((m) => m.nodeName !== null);
      }, 15_000)).toBe(true);

      const dump = await dumpDom(url(nodes[0]!));
      for (const n of nodes) {
        expect(dump).toContain(`data-member="${n.peer}" data-status="alive"`);
        expect(dump).toContain(`<span class="mname">${n.spec.name}</span>`);
      }

      browser = await launchBrowser({ width: 1400, height: 1000 });
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(url(nodes[0]!));
      await page.waitForSelector('#live[data-state="live"]', { timeout: 15_000 });
      const byName = (a: string[], b: string[]) => (a[0]! < b[0]! ? -1 : 1);
      expect((await rows(page)).map((r) => [r.member, r.status, r.name]).sort(byName)).toEqual(nodes.map((n) => [n.peer, "alive", n.spec.name]).sort(byName));
      const before = await mapCells(page);
      expect(before.partitions).toBe(271);
      expect(before.drawn).toBe(271);
      expect(before.inLiveColour).toBe(271);
      expect(await page.getAttribute("#map", "data-unowned")).toBe("0");
      // the charts have points from every member
      await page.waitForFunction(() => document.querySelectorAll(".chart .uplot").length === 6, undefined, { timeout: 10_000 });
      if (README_SHOT) await sleep(90_000);
      else await sleep(6000);
      const shots = artifactDir();
      await page.screenshot({ path: join(shots, "dashboard.png"), fullPage: true });
      if (README_SHOT) copyFileSync(join(shots, "dashboard.png"), join(REPO_ROOT, "docs", "dashboard.png"));

      // kill -9 one node: the open page turns it dead by itself
      const victim = nodes[2]!;
      const killedAt = Date.now();
      await victim.kill9();
      const bound = detectionBound(MEMBERSHIP_PRESETS.local, 3) + 1000 /* feed */ + 10_000; /* a loaded 2-core machine */
      await page.waitForFunction((name) => document.querySelector(`#member-rows tr[data-member="${name}"]`)?.getAttribute("data-status") === "dead", victim.peer, { timeout: bound });
      const shownDeadMs = Date.now() - killedAt;
      console.log(`dashboard: kill -9 of ${victim.spec.name} shown as dead after ${shownDeadMs} ms (detection bound ${detectionBound(MEMBERSHIP_PRESETS.local, 3)} ms)`);
      expect((await rows(page)).find((r) => r.member === victim.peer)?.status).toBe("dead");
      // the survivors' table takes the dead node's partitions; the map follows
      await page.waitForFunction(() => document.getElementById("map")?.dataset.unowned === "0", undefined, { timeout: 15_000 });
      await until(async () => (await mapCells(page)).inLiveColour === 271, 15_000, 250);
      const after = await mapCells(page);
      expect(after.inLiveColour).toBe(271);
      const events = await page.$$eval("#events li[data-kind]", (lis) => lis.map((li) => `${li.getAttribute("data-kind")} ${li.textContent}`));
      expect(events.some((e) => e.startsWith("dead") && e.includes(victim.spec.name))).toBe(true);
      await page.screenshot({ path: join(shots, "dashboard-after-kill.png"), fullPage: true });

      const phone = await browser.context.newPage();
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(url(nodes[1]!));
      await phone.waitForSelector('#live[data-state="live"]', { timeout: 15_000 });
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await phone.screenshot({ path: join(shots, "dashboard-phone.png"), fullPage: true });

      const dumpAfter = await dumpDom(url(nodes[1]!));
      expect(dumpAfter).toContain(`data-member="${victim.peer}" data-status="dead"`);
      for (const n of nodes.slice(0, 2)) expect(dumpAfter).toContain(`data-member="${n.peer}" data-status="alive"`);
      expect(errors).toEqual([]);
    },
    README_SHOT ? 400_000 : 150_000,
  );

  testIf(missing)(
    "a synthetic 20 members × 1,000 partitions renders legibly on a desktop and a phone",
    async () => {
      const feed = syntheticFeed(20, 1000);
      const app = new Hono<HttpEnv>();
      app.route("/ui", uiRoutes({ dashboard: () => feed, assets: UI_ASSETS }));
      const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, idleTimeout: 30 });
      try {
        browser ??= await launchBrowser({ width: 1400, height: 1000 });
        const url = `http://127.0.0.1:${server.port}/ui`;
        for (const [label, viewport, minCell] of [["desktop", { width: 1400, height: 1000 }, 8], ["phone", { width: 390, height: 844 }, 4]] as const) {
          const page = await browser.context.newPage();
          await page.setViewportSize(viewport);
          const t0 = Date.now();
          await page.goto(url);
          await page.waitForSelector('#live[data-state="live"]', { timeout: 20_000 });
          await page.waitForFunction(() => document.querySelectorAll(".chart .uplot").length === 6 && document.getElementById("map")?.dataset.drawn === "1000", undefined, { timeout: 20_000 });
          const ms = Date.now() - t0;
          const r = await page.evaluate(() => ({
            rows: document.querySelectorAll("#member-rows tr[data-member]").length,
            legend: document.querySelectorAll("#map-legend li[data-member]").length,
            chips: document.querySelectorAll("#chips .chip").length,
            cell: Number(document.getElementById("map")?.dataset.cell),
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            fontPx: Number.parseFloat(getComputedStyle(document.querySelector("#member-rows .mname")!).fontSize),
          }));
          console.log(`dashboard synthetic 20×1000 (${label} ${viewport.width}px): live page with map and charts after ${ms} ms; map cells ${r.cell} px`);
          expect(r.rows).toBe(20);
          expect(r.legend).toBe(20);
          expect(r.chips).toBe(20);
          expect(r.cell).toBeGreaterThanOrEqual(minCell);
          expect(r.overflow).toBeLessThanOrEqual(0);
          expect(r.fontPx).toBeGreaterThanOrEqual(12);
          const cells = await mapCells(page);
          expect(cells.drawn).toBe(1000);
          expect(cells.inLiveColour).toBe(1000);
          // the 20 partitions catching up and the 20 migrating are counted under the map
          expect(await page.textContent("#map-legend .totals")).toMatch(/20 catching up.*20 migrating/);
          await page.screenshot({ path: join(artifactDir(), `dashboard-synthetic-${label}.png`), fullPage: true });
          await page.close();
        }
      } finally {
        await server.stop(true);
      }
    },
    90_000,
  );
});

/**
 * A feed over a synthetic cluster: `members` alive members with 15 minutes
 * of series each, a real partition table of `partitions` (RF 3), 20
 * partitions catching up and 20 migrating, and 200 events.
 */
function syntheticFeed(members: number, partitions: number): DashboardFeed {
  const now = Date.now();
  const names = Array.from({ length: members }, (_, i) => `10.1.0.${i + 1}:3322`);
  const table = PartitionTable.build(names, 7, { partitionCount: partitions, replicaCount: 3 });
  const mirrors = new Map<string, Pick<MemberMirror, "summary" | "events" | "lastContact" | "error">>();
  const rings = new Map<string, MetricRing>();
  names.forEach((name, k) => {
    const ring = new MetricRing();
    for (let i = RING_SAMPLES; i > 0; i--) {
      const t = now - i * SAMPLE_MS;
      ring.push({ t, ops: 1000 + 500 * Math.sin(i / 20 + k), hitRatio: 0.8 + 0.1 * Math.cos(i / 30), p50Ms: 0.25, p99Ms: 1 + (i % 17) / 10, rssBytes: (200 + k) * 2 ** 20, storeBytes: 100 * 2 ** 20, lagMs: (i % 11) / 2, keys: 100_000 + k });
    }
    rings.set(name, ring);
    const events = new EventLog();
    for (let i = 0; i < 10; i++) events.add({ t: now - i * 5000, node: name, kind: i % 2 ? "repair" : "table", text: `synthetic event ${i} of ${name}` });
    const summary = { name, nodeName: `node-${String(k).padStart(2, "0")}`, startedAt: now - 3_600_000, ready: true, latest: ring.latest() ?? null, catching: k === 0 ? Array.from({ length: 20 }, (_, i) => partitions - 40 + i) : [], rebalancing: k === 1, epoch: 7 };
    mirrors.set(name, { summary, events, lastContact: now, error: null });
  });
  const view = {
    self: names[0],
    epoch: 7,
    partitionCount: partitions,
    replicaCount: 3,
    writeQuorum: 2,
    readQuorum: 2,
    memberCountQuorum: 11,
    liveMembers: members,
    quorumMet: true,
    ready: true,
    syncing: false,
    members: names.map((name, k) => ({ id: String(k), name, address: name, self: k === 0, status: "alive", incarnation: 1, since: now - 600_000, ownedPartitions: table.ownedBy(name).length, replicaPartitions: 0 })),
  } as unknown as ClusterSnapshot;
  const changed = Array.from({ length: 20 }, (_, i) => partitions - 20 + i);
  const state = (series = false) => {
    const self = mirrors.get(names[0]!)!;
    const s = composeState({ now: Date.now(), nodeName: "node-00", self: self.summary!, selfEvents: self.events.since(0), view, table, mirrors: new Map([...mirrors].slice(1)), changed });
    if (series) s.series = Object.fromEntries([...rings].map(([n, r]) => [n, r.since()]));
    return s;
  };
  return {
    state,
    subscribe(sink: FeedSink) {
      sink("snapshot", JSON.stringify(state(true)));
      const timer = setInterval(() => sink("delta", JSON.stringify({ ...state(false), map: undefined, events: undefined })), 1000);
      return () => clearInterval(timer);
    },
  };
}
