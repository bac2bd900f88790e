/**
 * The soak's node-side lag scraper against real `shoal serve` children (two
 * nodes on loopback, run from the sources): calm nodes read a few ms; a
 * SIGSTOP the runner did not announce is the node's stall and is reported;
 * the same pause sent as a soak fault (NodeProcess.signal, which the
 * scraper knows about) is skipped, although that node's gauge shows it.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RealCluster } from "../../../chaos/real/cluster.ts";
import { httpGet, type NodeProcess } from "../../../chaos/real/spawn.ts";
import { NodeLagScraper } from "../../../chaos/soak/sampler.ts";
import { sleep } from "../../helpers/ports.ts";

const dir = mkdtempSync(join(tmpdir(), "shoal-soak-sampler-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** RealCluster runs `<bin> serve …`: a one-line wrapper that execs bun on the sources (same PID, so signals reach the node). */
function sourceBin(): string {
  const bin = join(dir, "shoal");
  writeFileSync(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(resolve(import.meta.dir, "../../../cmd/shoal.ts"))} "$@"\n`);
  chmodSync(bin, 0o755);
  return bin;
}

async function gaugeMs(host: string, httpPort: number): Promise<number> {
  const r = await httpGet(`http://${host}:${httpPort}/metrics`, 5000);
  return Number(/^shoal_event_loop_lag_seconds (\S+)$/m.exec(r.body)![1]) * 1000;
}

test("NodeLagScraper: calm nodes low, an unannounced stall reported, a fault's pause skipped", async () => {
  const cluster = await RealCluster.start({
    nodes: 2,
    bin: sourceBin(),
    netns: false,
    replicaCount: 1,
    writeQuorum: 1,
    readQuorum: 1,
    memberCountQuorum: 1,
    preset: "local",
    extraArgs: [],
  });
  const scraper = new NodeLagScraper(cluster, 200);
  const [stalled, paused] = cluster.nodes as [NodeProcess, NodeProcess];
  try {
    scraper.start();
    await sleep(1500);
    const calm = scraper.take();
    expect(calm.every((x) => x !== null && x < 300)).toBe(true);

    // n0: a stall the runner did not cause (stopped behind the harness's back); n1: a pause the soak's fault injector made
    process.kill(stalled.pid, "SIGSTOP");
    await paused.signal("SIGSTOP");
    await sleep(700);
    process.kill(stalled.pid, "SIGCONT");
    await paused.signal("SIGCONT");
    await sleep(800);
    const [n0, n1] = scraper.take();
    expect(n0).not.toBeNull();
    expect(n0!).toBeGreaterThanOrEqual(500); // its 100 ms sampling timer fired 600–700 ms late
    expect(await gaugeMs(paused.spec.host, paused.spec.httpPort)).toBeGreaterThanOrEqual(500); // n1 saw its pause too…
    expect(n1).toBeNull(); // …but a fault's pause is not the node's stall
  } finally {
    scraper.stop();
    await cluster.destroy();
  }
  expect(cluster.nodes.some((n) => n.running)).toBe(false);
}, 60_000);
