/**
 * The pure parts of `shoal chaos --real` / `--soak`: how an error reply is
 * classified into fail/unknown (what the checkers may assume), and flag
 * validation (netns-only faults without --netns, bad durations, --down).
 */
import { describe, expect, test } from "bun:test";
import { classifyError } from "../../../chaos/real/client.ts";
import { parseRealOptions } from "../../../chaos/real/options.ts";
import { seededRandom } from "../../../chaos/real/workload.ts";
import { parseSoakOptions } from "../../../chaos/soak/mod.ts";
import { UsageError } from "../../../cmd/io.ts";

describe("classifyError", () => {
  test("refusals before anything ran are fail and retryable", () => {
    for (const m of ["CLUSTERQUORUM 1 live members, 2 needed", "CLUSTERDOWN The cluster is not ready yet", "READQUORUM 1 of 2 copies answered"]) {
      expect(classifyError(m, true)).toMatchObject({ outcome: "fail", retry: true });
    }
  });
  test("a write that may have landed is unknown", () => {
    expect(classifyError("WRITEQUORUM 1 of 2 copies acknowledged the write", true)).toMatchObject({ outcome: "unknown", retry: true });
    expect(classifyError("CLUSTERDOWN owner 10.0.0.1:3322 unreachable: timeout", true)).toMatchObject({ outcome: "unknown", retry: true });
    expect(classifyError("ERR something odd", true)).toMatchObject({ outcome: "unknown", retry: false });
  });
  test("reads never have an unknown effect", () => {
    expect(classifyError("CLUSTERDOWN owner x unreachable", false).outcome).toBe("fail");
    expect(classifyError("ERR wrong type", false)).toMatchObject({ outcome: "fail", retry: false });
  });
});

describe("chaos --real flags", () => {
  test("defaults: 3 nodes, RF=3 W=2 R=2, majority member quorum, loopback faults", () => {
    const o = parseRealOptions(["--real", "--seed", "5"])!;
    expect(o).toMatchObject({ nodes: 3, replicaCount: 3, writeQuorum: 2, readQuorum: 2, memberCountQuorum: 2, seed: 5, netns: false, faultsExplicit: false });
    expect(o.faults).toEqual(["kill", "stop", "restart"]);
    expect(parseRealOptions(["--netns"])!.faults).toContain("partition");
  });
  test("network faults need --netns; bad values are usage errors", () => {
    expect(() => parseRealOptions(["--faults", "partition"])).toThrow(/needs --netns/);
    expect(() => parseRealOptions(["--link-loss", "10"])).toThrow(/need --netns/);
    expect(() => parseRealOptions(["--faults", "meteor"])).toThrow(UsageError);
    expect(() => parseRealOptions(["--duration", "soon"])).toThrow(/--duration/);
    expect(() => parseRealOptions(["--down", "3"])).toThrow(/--down/);
    expect(parseRealOptions(["--help"])).toBeNull();
  });
  test("--faults none", () => expect(parseRealOptions(["--faults", "none"])!.faults).toEqual([]));
});

describe("chaos --soak flags", () => {
  test("30 minutes by default, warm-up max(60 s, duration/5) capped at half", () => {
    expect(parseSoakOptions([])!).toMatchObject({ durationMs: 1_800_000, warmupMs: 360_000, maxRssGrowthPct: 5, maxStallMs: 1000 });
    expect(parseSoakOptions(["--duration", "100s"])!.warmupMs).toBe(50_000);
    expect(() => parseSoakOptions(["--duration", "5s"])).toThrow(/at least 10s/);
    expect(parseSoakOptions(["--fault-every", "0"])!.faults).toEqual([]);
  });
});

test("seededRandom is deterministic and in [0, 1)", () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a());
  expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
  expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
});
