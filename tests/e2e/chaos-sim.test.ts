/**
 * `shoal chaos --sim` in the compiled binary, as a user's CI runs it:
 * 20 seeds of the default fault profile pass with exit 0 and a JSON
 * summary; a planted bug fails with exit 1; the same seed replays the same
 * summary.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { runCommand } from "../helpers/processes.ts";
import { BIN, requireBinary } from "./binary.ts";

beforeAll(() => {
  requireBinary();
});

describe("shoal chaos --sim (binary)", () => {
  test("--seeds 20: exit 0, JSON summary with faults, operations and no violation", async () => {
    const r = await runCommand([BIN, "chaos", "--sim", "--seeds", "20", "--json"], { timeoutMs: 120_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ mode: "sim", ok: true, seedsRun: 20, failedSeeds: [] });
    expect(j.operations).toBeGreaterThan(20 * 1000);
    expect(Object.values(j.faults as Record<string, number>).reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
    expect(j.seedsPerSecond).toBeGreaterThan(0);
  }, 130_000);

  test("a planted bug exits 1 and names the seed; that seed replays to the same summary", async () => {
    const bad = await runCommand([BIN, "chaos", "--sim", "--inject-bug", "skip-tombstone", "--seeds", "10", "--stop-on-failure", "--json"], { timeoutMs: 60_000 });
    expect(bad.code).toBe(1);
    const j = JSON.parse(bad.stdout);
    expect(j.ok).toBe(false);
    const seed = j.failedSeeds[0] as number;
    const run = () => runCommand([BIN, "chaos", "--sim", "--inject-bug", "skip-tombstone", "--seed", String(seed), "--json"], { timeoutMs: 60_000 });
    const [a, b] = [await run(), await run()];
    expect(a.code).toBe(1);
    const [ja, jb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    for (const x of [ja, jb]) {
      delete x.wallMs;
      delete x.seedsPerSecond;
    }
    expect(jb).toEqual(ja);
    expect(ja.firstViolations[0]).toEqual(j.firstViolations[0]);
  }, 130_000);

  test("--help documents the modes and the planted bugs", async () => {
    const r = await runCommand([BIN, "chaos", "--help"]);
    expect(r.code).toBe(0);
    for (const s of ["--sim", "--real", "--soak", "--seeds", "--inject-bug", "no-read-repair", "--json"]) expect(r.stdout).toContain(s);
  });
});
