import { describe, expect, test } from "bun:test";
import { runChaos } from "../../../cmd/chaos.ts";
import type { CommandIO } from "../../../cmd/io.ts";
import { UsageError } from "../../../cmd/io.ts";

function io(): CommandIO & { stdout: string; stderr: string } {
  const o = {
    stdout: "",
    stderr: "",
    env: {},
    out(t: string) {
      o.stdout += t;
    },
    err(t: string) {
      o.stderr += t;
    },
  };
  return o;
}

describe("shoal chaos --sim", () => {
  test("--json summary, exit 0 without violations", async () => {
    const x = io();
    expect(await runChaos(["--sim", "--seeds", "2", "--steps", "30", "--json"], x)).toBe(0);
    const j = JSON.parse(x.stdout);
    expect(j.ok).toBe(true);
    expect(j.seedsRun).toBe(2);
    expect(j.operations).toBeGreaterThan(100);
    expect(j.settings).toMatchObject({ nodes: 5, replicaCount: 3, writeQuorum: 2, readQuorum: 2, linkSeverity: "mild" });
    expect(x.stderr).toBe(""); // --json: no progress
  }, 30_000);

  test("a planted bug makes the run fail with exit 1, the seed and a replay command", async () => {
    const x = io();
    expect(await runChaos(["--sim", "--seeds", "5", "--inject-bug", "skip-tombstone", "--stop-on-failure"], x)).toBe(1);
    expect(x.stdout).toMatch(/violations\s+1 seeds/);
    expect(x.stdout).toMatch(/seed \d+: \[(resurrection|linearizable)\] key r\d/);
    expect(x.stdout).toContain("replay one: shoal chaos --sim --seed ");
    expect(x.stdout).toContain("--inject-bug skip-tombstone");
    expect(x.stderr).toContain("chaos --sim: seed 1/5");
  }, 30_000);

  test("usage errors and help", async () => {
    await expect(runChaos(["--sim", "--inject-bug", "nope"], io())).rejects.toThrow(UsageError);
    await expect(runChaos(["--sim", "--faults", "meteor"], io())).rejects.toThrow(/unknown fault "meteor"/);
    await expect(runChaos(["--seeds", "2"], io())).rejects.toThrow(/choose a mode/);
    await expect(runChaos(["--sim", "--nodes", "2"], io())).rejects.toThrow(/at least 3/);
    await expect(runChaos(["--sim", "--run", "npm test"], io())).rejects.toThrow(/--run works with --real/);
    const h = io();
    expect(await runChaos(["--help"], h)).toBe(0);
    expect(h.stdout).toContain("--inject-bug");
    expect(h.stdout).toContain("ack-before-replicate");
    expect(h.stdout).toContain('--real --run "<command>"');
  });
});
