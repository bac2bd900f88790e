/**
 * Chaos reports as pictures: the timeline's buckets, the self-contained page
 * (faults as bars on their target's lane and bands over the charts,
 * checkers, escaping, nothing fetched), the --run report model rendered, and
 * `shoal chaos --sim --report FILE.html` on a real simulated seed.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FINAL_CLIENT, type Op } from "../../../chaos/history.ts";
import { renderChaosHtml } from "../../../chaos/html-report.ts";
import { pictureOfRun } from "../../../chaos/pictures.ts";
import { type ChaosRunReport, checkerResults } from "../../../chaos/report.ts";
import { timelineOf } from "../../../chaos/timeline.ts";
import { runChaos } from "../../../cmd/chaos.ts";

const op = (invokeMs: number, completeMs: number, outcome: Op["outcome"], client = 0): Op => ({ id: 0, client, kind: "get", key: "k", value: null, invokeMs, completeMs, outcome, result: null });

describe("timeline", () => {
  test("buckets by end time with per-bucket latency; the final reads are left out", () => {
    const t = timelineOf(
      [op(0, 10, "ok"), op(100, 300, "ok"), op(900, 1500, "fail"), op(1200, Number.POSITIVE_INFINITY, "unknown"), op(2100, 2101, "ok", FINAL_CLIENT)],
      { bucketMs: 1000, toMs: 2500 },
    );
    expect(t.buckets.map((b) => [b.startMs, b.ok, b.fail, b.unknown])).toEqual([
      [0, 2, 0, 0],
      [1000, 0, 1, 1],
      [2000, 0, 0, 0],
    ]);
    expect(t.buckets[0]!.p50Ms).toBe(200);
    expect(t.buckets[0]!.maxMs).toBe(200);
    expect(t.buckets[1]!.p99Ms).toBe(600);
    expect(t.buckets[2]!.p50Ms).toBeNull();
  });
  test("a long run gets wider buckets (at most 600)", () => {
    const t = timelineOf([op(0, 3_600_000, "ok")]);
    expect(t.buckets.length).toBeLessThanOrEqual(600);
    expect(t.bucketMs).toBeGreaterThan(1000);
  });
});

function runReport(): ChaosRunReport {
  const violations = [{ checker: "lost-write" as const, key: "r1", message: "acknowledged write <v7> is gone", ops: [] }];
  return {
    kind: "shoal-chaos-run",
    version: 1,
    startedAt: "2026-01-01T00:00:00.000Z",
    seed: 42,
    replay: "shoal chaos --real --run 'npm test' --seed 42",
    exitStatus: 1,
    exitReason: "violation",
    command: { text: "npm test", exitCode: 0, signal: null, status: 0, durationMs: 12_000, timedOut: false, stragglersKilled: 0 },
    cluster: { nodes: [], netns: false, replicaCount: 3, writeQuorum: 2, readQuorum: 2, memberCountQuorum: 2, preset: "local" },
    env: { SHOAL_NODES: "127.0.0.1:1,127.0.0.1:2" },
    faults: { kinds: ["kill", "stop"], everyMs: 3000, holdMs: 1000, forMs: 12_000, byKind: { kill: 1, stop: 1 } },
    clientFaults: { initial: "latency=200ms", stats: {} },
    log: [
      { what: "client", target: "all", startMs: -5, endMs: 12_000, detail: "latency=200ms", source: "--client-faults" },
      { what: "kill", target: "n1", startMs: 2000, endMs: 3500, detail: "SIGKILL", recoveredMs: 800 },
      { what: "stop", target: "n2", startMs: 6000, endMs: 7000, recoveredMs: null },
    ],
    canary: { map: "shoal-chaos-canary", rate: 20, ops: 240, byKind: { get: { ok: 100, fail: 2, unknown: 1, retries: 0 } } },
    timeline: timelineOf([op(0, 5, "ok"), op(2100, 2500, "fail"), op(2200, Number.POSITIVE_INFINITY, "unknown"), op(8000, 8004, "ok")], { toMs: 12_000 }),
    traffic: { bucketMs: 1000, buckets: [{ startMs: 0, bytesToNode: 2048, bytesToClient: 1024, connections: 3 }, { startMs: 1000, bytesToNode: 0, bytesToClient: 0, connections: 0 }] },
    convergence: { ok: true, ms: 900, detail: "" },
    checkers: checkerResults(violations, true),
  };
}

describe("the page", () => {
  test("--run report: verdict, one bar per fault on its target's lane, timeline, checkers, replay; self-contained", () => {
    const html = renderChaosHtml(pictureOfRun(runReport()));
    expect(html).toContain("✘ a checker found a violation (exit 1)");
    for (const lane of [">all<", ">n1<", ">n2<"]) expect(html).toContain(lane);
    expect(html).toMatch(/<title>kill on n1: 2 s → 3.5 s · SIGKILL · converged 800 ms after<\/title>/);
    expect(html).toContain("ok ops/s");
    expect(html).toContain("errors/s");
    expect(html).toContain("━ p99");
    expect(html).toContain("<title>0 s: 2 KiB/s to the nodes, 1 KiB/s back, 3 new connections</title>");
    expect(html).toContain('<span class="badge failed">failed</span></td><td><b>lost-write</b>');
    expect(html).toContain("key r1: acknowledged write &lt;v7&gt; is gone");
    expect(html).toContain("shoal chaos --real --run &#39;npm test&#39; --seed 42");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)|<link /);
  });
  test("a run without a timeline or faults still renders", () => {
    const r = { ...runReport(), log: [], timeline: undefined, traffic: undefined, exitStatus: 0, exitReason: "command" as const, checkers: checkerResults([], false) };
    const html = renderChaosHtml(pictureOfRun(r));
    expect(html).toContain("✔ the command passed and no checker found a violation");
    expect(html).toContain("no faults");
    expect(html).toContain('<span class="badge skipped">skipped</span>');
  });
});

describe("shoal chaos --sim --report", () => {
  test("writes the first seed as a page with its faults and its clients' timeline", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shoal-chaos-html-"));
    try {
      const file = join(dir, "sim.html");
      const out = { stdout: "", stderr: "", env: {}, out(t: string) { out.stdout += t; }, err(t: string) { out.stderr += t; } };
      expect(await runChaos(["--sim", "--seed", "4", "--nodes", "3", "--steps", "20", "--report", file, "-q"], out)).toBe(0);
      const html = readFileSync(file, "utf8");
      expect(html).toContain("shoal chaos --sim (seed 4)");
      expect(html).toContain("✔ seed 4: no violation");
      expect(html).toContain("times are simulated");
      expect(html).toMatch(/<rect [^>]*height="\d+(\.\d+)?" fill="#30a46c"><title>/);
      expect(html).toContain("Replay: <code>shoal chaos --sim --seed 4 --nodes 3 --steps 20</code>");
      const json = join(dir, "sim.json");
      expect(await runChaos(["--sim", "--seed", "4", "--nodes", "3", "--steps", "20", "--report", json, "-q"], out)).toBe(0);
      const parsed = JSON.parse(readFileSync(json, "utf8"));
      expect(parsed.seed.seed).toBe(4);
      expect(parsed.seed.history).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
