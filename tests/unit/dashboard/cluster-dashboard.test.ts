/**
 * The dashboard on three real ClusterNodes in one process (SimClock +
 * MemoryNetwork): every node's state shows every member (names, node names
 * and figures gathered from the peers over the dashboard channel), a
 * complete partition map and the membership events; a crashed member turns
 * dead with SWIM's reason and keeps its last figures; GET /ui renders the
 * members into the HTML, /ui/events streams a snapshot then deltas, and
 * /ui is behind the API's authentication (a Basic challenge for browsers,
 * INFO permission).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { UI_ASSETS } from "../../../cmd/ui-assets.ts";
import { SeededRng } from "../../../core/clock.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { clusterSnapshot } from "../../../core/cluster/view.ts";
import { loadConfig } from "../../../core/config.ts";
import { Dashboard } from "../../../core/dashboard/dashboard.ts";
import type { DashboardState } from "../../../core/dashboard/state.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const PARTITIONS = 31;
const enc = new TextEncoder();

interface Harness {
  clock: SimClock;
  names: string[];
  nodes: ShoalNode[];
  clusters: ClusterNode[];
  dashboards: Dashboard[];
  runUntil(done: () => boolean, limitMs: number): Promise<boolean>;
}

const live: Harness[] = [];
afterEach(async () => {
  for (const h of live.splice(0)) {
    for (const d of h.dashboards) await d.stop();
    for (const c of h.clusters) await c.stop();
    for (const n of h.nodes) n.stop();
  }
});

async function start(size: number, config: Partial<ConstructorParameters<typeof ShoalNode>[0]["config"]> = {}): Promise<Harness> {
  const clock = new SimClock();
  const net = new MemoryNetwork({ clock, latencyMs: 1 });
  const names = Array.from({ length: size }, (_, i) => `10.0.0.${i + 1}:3322`);
  const nodes: ShoalNode[] = [];
  const clusters: ClusterNode[] = [];
  const dashboards: Dashboard[] = [];
  for (let i = 0; i < size; i++) {
    const node = new ShoalNode({ clock, rng: new SeededRng(i + 1), config: { partitionCount: PARTITIONS, nodeName: `n${i}`, ...config } });
    node.start();
    const c = new ClusterNode({
      node,
      transport: net.transport(),
      clock,
      rng: new SeededRng(100 + i),
      self: names[i]!,
      seeds: [names[0]!],
      timings: membershipTimings("lan"),
      replicaCount: 2,
      writeQuorum: 1,
      memberCountQuorum: 1,
      partitionCount: PARTITIONS,
      peerTimeoutMs: 500,
    });
    node.clusterView = () => clusterSnapshot(c);
    const d = new Dashboard({
      source: { stats: node.stats, clock, keyCount: () => node.keyCount(), memoryBytes: () => node.memoryBytes(), rssBytes: () => 1000 + i, get ready() { return node.ready; } },
      nodeName: `n${i}`,
      view: () => node.clusterView?.(),
    });
    d.setEndpoints({ http: `10.0.0.${i + 1}:3380` });
    d.start();
    d.attachCluster(c);
    nodes.push(node);
    clusters.push(c);
    dashboards.push(d);
  }
  const runUntil = async (done: () => boolean, limitMs: number) => {
    for (let t = 0; t < limitMs; t += 20) {
      if (done()) return true;
      await clock.advance(20);
    }
    return done();
  };
  const h: Harness = { clock, names, nodes, clusters, dashboards, runUntil };
  live.push(h);
  let started = false;
  void Promise.all(clusters.map((c) => c.start())).then(() => (started = true));
  expect(await h.runUntil(() => started, 20_000)).toBe(true);
  for (const d of dashboards) await d.startCollector();
  expect(await h.runUntil(() => nodes.every((n) => n.ready) && clusters.every((c) => c.partitions?.members.length === size), 10_000)).toBe(true);
  return h;
}

/** Runs one command on `node` through a client session. */
function call(node: ShoalNode, ...argv: string[]): void {
  const s = new ClientSession(node, { write: () => s.onClose(), close() {}, remote: "test" });
  let wire = `*${argv.length}\r\n`;
  for (const a of argv) wire += `$${enc.encode(a).length}\r\n${a}\r\n`;
  s.onData(enc.encode(wire));
}

const allKnow = (h: Harness) => h.dashboards.every((d) => d.state().members.every((m) => m.nodeName !== null && m.keys !== null));

describe("dashboard on three ClusterNodes (simulated clock, memory transport)", () => {
  test("every node shows every member with its figures, a complete map, and a crash as dead with its reason", async () => {
    const h = await start(3);
    for (let i = 0; i < 50; i++) call(h.nodes[0]!, "SET", `k${i}`, "v");
    for (let i = 0; i < 50; i++) call(h.nodes[0]!, "GET", `k${i % 60}`);
    expect(await h.runUntil(() => allKnow(h), 10_000)).toBe(true);
    for (const d of h.dashboards) {
      const s = d.state(true);
      expect(s.members.map((m) => [m.name, m.nodeName, m.status])).toEqual(h.names.map((n, i) => [n, `n${i}`, "alive"]));
      expect(s.members.map((m) => m.http)).toEqual(["10.0.0.1:3380", "10.0.0.2:3380", "10.0.0.3:3380"]);
      expect(s.map?.count).toBe(PARTITIONS);
      expect(s.map?.owner.every((o) => o >= 0)).toBe(true);
      expect(s.members.reduce((n, m) => n + m.owned, 0)).toBe(PARTITIONS);
      expect(Object.keys(s.series ?? {}).sort()).toEqual(h.names);
      expect(s.events.some((e) => e.kind === "join")).toBe(true);
      expect(s.events.some((e) => e.kind === "table")).toBe(true);
      // consensus ownership: every node shows the same leader and voters, and marks them in the rows
      expect(s.header.consensus?.voters).toEqual(h.names);
      const leader = s.header.consensus?.leader;
      expect(h.names).toContain(leader!);
      expect(s.members.map((m) => m.role)).toEqual(h.names.map((n) => (n === leader ? "leader" : "voter")));
    }
    const page = createHttpApp(h.nodes[2]!, { ui: { dashboard: () => h.dashboards[2], assets: UI_ASSETS } });
    expect(await (await page.request("http://shoal.test/ui")).text()).toMatch(/consensus leader <b>n\d<\/b> · term \d+ · agreed epoch \d+ · 3 voters \(n0, n1, n2\)/);
    // node 0's commands are in its samples, and every node sees them
    expect(await h.runUntil(() => h.dashboards.every((d) => (d.state(true).series?.[h.names[0]!]?.ops ?? []).some((v) => (v ?? 0) > 0)), 10_000)).toBe(true);
    const n0 = h.dashboards[1]!.state().members[0]!;
    expect(n0.rssBytes).toBe(1000);

    // crash node 2 (no leave announced): the others mark it dead with SWIM's reason and keep its last figures
    await h.dashboards[2]!.stop();
    await h.clusters[2]!.stop();
    const deadOn = (d: Dashboard) => d.state().members.find((m) => m.name === h.names[2])?.status === "dead";
    expect(await h.runUntil(() => deadOn(h.dashboards[0]!) && deadOn(h.dashboards[1]!), 60_000)).toBe(true);
    const s = h.dashboards[0]!.state();
    const gone = s.members.find((m) => m.name === h.names[2])!;
    expect(gone.nodeName).toBe("n2");
    expect(gone.lastContact).not.toBeNull();
    const dead = s.events.find((e) => e.kind === "dead" && e.member === h.names[2]);
    expect(dead?.text).toMatch(/suspicion timeout|learned/);
    expect(s.events.some((e) => e.kind === "suspect" && e.member === h.names[2])).toBe(true);
    // the survivors' next table leaves it out, and the map follows
    const ownsNothing = () => {
      const m = h.dashboards[0]!.state().map;
      return m?.owner.every((o) => m.members[o] !== h.names[2]) === true;
    };
    expect(await h.runUntil(ownsNothing, 30_000)).toBe(true);
  }, 60_000);

  test("GET /ui has the members in its HTML; /ui/events streams a snapshot then deltas; /ui/state", async () => {
    const h = await start(3);
    expect(await h.runUntil(() => allKnow(h), 10_000)).toBe(true);
    const app = createHttpApp(h.nodes[1]!, { cluster: () => h.nodes[1]!.clusterView?.(), ui: { dashboard: () => h.dashboards[1], assets: UI_ASSETS } });
    const page = await app.request("http://shoal.test/ui");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    for (let i = 0; i < 3; i++) {
      expect(html).toContain(`data-member="${h.names[i]}" data-status="alive"`);
      expect(html).toContain(`<span class="mname">n${i}</span>`);
    }
    expect(html).toContain(`id="initial-state"`);
    expect(html).toContain(`ui/app.js?v=${UI_ASSETS.version}`);
    const js = await app.request("http://shoal.test/ui/app.js");
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBe(UI_ASSETS.appJs.length);
    const again = await app.request("http://shoal.test/ui/app.js", { headers: { "if-none-match": `"${UI_ASSETS.version}"` } });
    expect(again.status).toBe(304);
    expect((await app.request("http://shoal.test/ui/")).status).toBe(301);

    const state = (await (await app.request("http://shoal.test/ui/state?series=1")).json()) as DashboardState;
    expect(state.members).toHaveLength(3);
    expect(Object.keys(state.series ?? {})).toHaveLength(3);

    const abort = new AbortController();
    const res = await app.request("http://shoal.test/ui/events", { signal: abort.signal });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    const dec = new TextDecoder();
    const readUntil = async (re: RegExp) => {
      while (!re.test(text)) {
        const next = reader.read();
        let done = false;
        void next.then(() => (done = true));
        await h.runUntil(() => done, 5000);
        const r = await next;
        if (r.done) break;
        text += dec.decode(r.value);
      }
    };
    await readUntil(/event: snapshot\ndata: .*\n\n/);
    const snap = JSON.parse(/event: snapshot\ndata: (.*)\n\n/.exec(text)![1]!) as DashboardState;
    expect(snap.members.map((m) => m.nodeName)).toEqual(["n0", "n1", "n2"]);
    expect(snap.series).toBeDefined();
    await readUntil(/event: delta\ndata: .*\n\n/);
    const delta = JSON.parse(/event: delta\ndata: (.*)\n\n/.exec(text)![1]!) as Partial<DashboardState>;
    expect(delta.members).toHaveLength(3);
    expect(h.dashboards[1]!.subscribers).toBe(1);
    abort.abort();
    await reader.cancel().catch(() => undefined);
    expect(await h.runUntil(() => h.dashboards[1]!.subscribers === 0, 3000)).toBe(true);
  }, 60_000);

  test("/ui asks browsers for Basic credentials and checks INFO permission", async () => {
    const h = await start(1, { requirepass: "s3cret", aclLines: ["user viewer on >pw ~* +info", "user writer on >pw ~* +set"] });
    const node = h.nodes[0]!;
    const app = createHttpApp(node, { auth: node, ui: { dashboard: () => h.dashboards[0], assets: UI_ASSETS } });
    const anon = await app.request("http://shoal.test/ui");
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toMatch(/^Basic realm="shoal"/);
    expect((await app.request("http://shoal.test/v1/cluster")).headers.get("www-authenticate")).toMatch(/^Bearer/);
    const basic = (u: string, p: string) => ({ authorization: `Basic ${btoa(`${u}:${p}`)}` });
    expect((await app.request("http://shoal.test/ui", { headers: basic("default", "s3cret") })).status).toBe(200);
    expect((await app.request("http://shoal.test/ui/state", { headers: basic("viewer", "pw") })).status).toBe(200);
    expect((await app.request("http://shoal.test/ui/events", { headers: basic("writer", "pw") })).status).toBe(403);
    expect((await app.request("http://shoal.test/ui", { headers: basic("viewer", "wrong") })).status).toBe(401);
  }, 30_000);

  test("--ui false (flag, SHOAL_UI, shoal.yaml ui:) leaves /ui out", async () => {
    const load = (argv: string[], env: Record<string, string> = {}, yaml?: string) => loadConfig({ argv, env, readFile: (p) => (yaml !== undefined && p === "shoal.yaml" ? yaml : null) });
    expect(load([]).ui).toBe(true);
    expect(load(["--ui", "false"]).ui).toBe(false);
    expect(load([], { SHOAL_UI: "false" }).ui).toBe(false);
    expect(load([], {}, "ui: false\n").ui).toBe(false);
    expect(() => load(["--ui", "maybe"])).toThrow(/ui/);
    const h = await start(1);
    const app = createHttpApp(h.nodes[0]!, {});
    expect((await app.request("http://shoal.test/ui")).status).toBe(404);
  });
});
