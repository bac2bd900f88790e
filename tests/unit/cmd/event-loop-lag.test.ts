/**
 * The node-side event-loop lag gauge: the window arithmetic of EventLoopLag,
 * the sampler on real timers against a real busy-wait, a whole in-process
 * server whose loop the test blocks (scraped over loopback /metrics and
 * /v1/stats), and a `shoal serve` child paused with SIGSTOP (what a soak
 * must not count as a stall).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { sampleEventLoopLag } from "../../../cmd/event-loop-lag.ts";
import { type RunningServer, startServer } from "../../../cmd/serve.ts";
import { systemClock } from "../../../core/clock.ts";
import { loadConfig } from "../../../core/config.ts";
import { EventLoopLag } from "../../../core/stats.ts";
import { freePorts, sleep } from "../../helpers/ports.ts";
import { startShoal } from "../../helpers/processes.ts";
import { one, parseExposition } from "../http/exposition.ts";

/** Keeps the event loop busy for `ms` milliseconds (a real stall, no timers run meanwhile). */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

const silent = { info() {}, warn() {}, error() {} };

async function lagGauges(httpPort: number): Promise<{ recent: number; max: number }> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  const fams = parseExposition(await r.text());
  return { recent: one(fams, "shoal_event_loop_lag_seconds"), max: one(fams, "shoal_event_loop_lag_max_seconds") };
}

describe("EventLoopLag", () => {
  test("recent max covers the last ~10 s in 1-s slots; the max since start stays", () => {
    const lag = new EventLoopLag();
    lag.started(100, 900);
    lag.record(3, 1000);
    lag.record(300, 2500);
    lag.record(-5, 2600); // a timer never fires early on purpose; negative readings count as 0
    expect(lag.recentMaxMs(2600)).toBe(300);
    lag.record(1, 11_900);
    expect(lag.recentMaxMs(11_950)).toBe(300); // slot 2 (2.0–3.0 s) is still one of the last ten
    lag.record(1, 12_000);
    expect(lag.recentMaxMs(12_050)).toBe(1);
    expect(lag.maxMs).toBe(300);
    expect(lag.samples).toBe(5);
  });

  test("a tick overdue right now counts, so a reading taken before the late tick runs sees the stall", () => {
    const lag = new EventLoopLag();
    expect(lag.recentMaxMs(50_000)).toBe(0); // no sampler: nothing is overdue
    lag.started(100, 0);
    lag.record(0, 100);
    expect(lag.recentMaxMs(150)).toBe(0);
    expect(lag.recentMaxMs(700)).toBe(500);
  });
});

describe("sampleEventLoopLag on real timers", () => {
  test("a 300 ms busy-wait shows as ~300 ms lag; nothing is recorded after stop()", async () => {
    const lag = new EventLoopLag();
    const sampler = sampleEventLoopLag(lag, systemClock, 20);
    try {
      await sleep(100);
      const before = lag.maxMs;
      blockLoop(300);
      await sleep(60);
      expect(before).toBeLessThan(250);
      expect(lag.maxMs).toBeGreaterThanOrEqual(250);
      expect(lag.recentMaxMs(performance.now())).toBeGreaterThanOrEqual(250);
      expect(lag.maxMs).toBeLessThan(5000);
    } finally {
      sampler.stop();
    }
    const n = lag.samples;
    await sleep(100);
    expect(lag.samples).toBe(n);
  });

  test("an unstopped sampler does not keep a process alive (its timer is unref'd)", async () => {
    const src = `import { sampleEventLoopLag } from ${JSON.stringify(`${import.meta.dir}/../../../cmd/event-loop-lag.ts`)};
import { systemClock } from ${JSON.stringify(`${import.meta.dir}/../../../core/clock.ts`)};
import { EventLoopLag } from ${JSON.stringify(`${import.meta.dir}/../../../core/stats.ts`)};
sampleEventLoopLag(new EventLoopLag(), systemClock, 10);
console.log("started");`;
    const proc = Bun.spawn([process.execPath, "-e", src], { stdout: "pipe", stderr: "pipe" });
    const killer = setTimeout(() => proc.kill(9), 10_000);
    const code = await proc.exited;
    clearTimeout(killer);
    expect(await new Response(proc.stdout).text()).toBe("started\n");
    expect(proc.signalCode).toBeNull(); // exited by itself, not killed after 10 s
    expect(code).toBe(0);
  });
});

describe("a serving node's /metrics", () => {
  let server: RunningServer | null = null;
  afterAll(async () => {
    await server?.close();
  });

  test("in-process server: blocking its event loop ~300 ms raises both gauges; close() stops the sampler", async () => {
    const [port, httpPort] = await freePorts(2);
    const cfg = loadConfig({ argv: ["--bind", "127.0.0.1", "--port", String(port), "--http-port", String(httpPort)], env: {}, readFile: () => null });
    server = await startServer(cfg, silent);
    await sleep(300);
    const calm = await lagGauges(httpPort);
    blockLoop(300); // the server shares this process's event loop: nothing it schedules runs meanwhile
    await sleep(150);
    const after = await lagGauges(httpPort);
    // the 100 ms timer was already part-way through its period when the block began: it fires 200–300 ms late
    expect(calm.max).toBeLessThan(0.19);
    expect(after.recent).toBeGreaterThanOrEqual(0.19);
    expect(after.max).toBeGreaterThanOrEqual(after.recent);
    expect(after.max).toBeLessThan(5);
    // INFO (hence `shoal stats` and /v1/stats) carries the same figures, in ms
    const stats = (await (await fetch(`http://127.0.0.1:${httpPort}/v1/stats`)).json()) as { info: { stats: Record<string, number> } };
    expect(stats.info.stats["event_loop_lag_ms"]).toBeGreaterThanOrEqual(190);
    expect(stats.info.stats["event_loop_lag_max_ms"]).toBeGreaterThanOrEqual(stats.info.stats["event_loop_lag_ms"]!);
    const lag = server.node.stats.eventLoopLag;
    expect(lag.samples).toBeGreaterThan(2);
    await server.close();
    server = null;
    const n = lag.samples;
    await sleep(250);
    expect(lag.samples).toBe(n);
  });

  test("`shoal serve` child paused 400 ms with SIGSTOP shows the pause as lag (why the soak skips paused nodes)", async () => {
    const node = await startShoal({ env: { SHOAL_LOG_LEVEL: "error" } });
    try {
      await sleep(300);
      expect((await lagGauges(node.httpPort)).max).toBeLessThan(0.3);
      process.kill(node.pid, "SIGSTOP");
      await sleep(400);
      process.kill(node.pid, "SIGCONT");
      await sleep(150);
      const g = await lagGauges(node.httpPort);
      expect(g.recent).toBeGreaterThanOrEqual(0.3);
      expect(g.max).toBeGreaterThanOrEqual(g.recent);
    } finally {
      process.kill(node.pid, "SIGCONT");
      await node.stop(2000);
    }
  }, 30_000);
});
