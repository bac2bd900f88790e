import { describe, expect, test } from "bun:test";
import { createStaticDiscovery, staticSchema } from "../../../plugins/discovery/static.ts";
import { type DiscoveryHarness, RecordingLogger, runDiscoveryContract, until } from "./contract.ts";

/** Static harness: one hostname whose resolver answer the test swaps (all peers share port 3322). */
async function staticHarness(initial: string[]): Promise<DiscoveryHarness> {
  let answer = initial.map((a) => a.split(":")[0]!);
  let broken = false;
  const logger = new RecordingLogger();
  const config = staticSchema.parse({ peers: "shoal.test:3322", resolveInterval: "50ms" });
  const discovery = createStaticDiscovery(config, logger, async (host) => {
    if (broken || host !== "shoal.test") throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return answer;
  });
  return {
    discovery,
    logger,
    setPeers: async (addresses) => {
      answer = addresses.map((a) => a.split(":")[0]!);
    },
    breakSource: async () => {
      broken = true;
    },
    healSource: async () => {
      broken = false;
    },
    close: async () => {},
  };
}

runDiscoveryContract("static", staticHarness);

describe("static plugin", () => {
  test("IP literals pass through, IPv6 is bracketed, and localhost resolves via node:dns", async () => {
    const config = staticSchema.parse({ peers: "10.0.0.1:3322, [::1]:4000,localhost:3322", resolveInterval: "1s" });
    const d = createStaticDiscovery(config, new RecordingLogger());
    let got: string[] = [];
    await d.start((p) => {
      got = p.map((x) => x.address);
    });
    await until(() => got.length >= 3, 3000, "resolved list");
    expect(got).toContain("10.0.0.1:3322");
    expect(got).toContain("[::1]:4000");
    expect(got.some((a) => a === "127.0.0.1:3322" || a === "[::1]:3322")).toBe(true);
    await d.stop();
  });

  test("config errors name the field and the fix", () => {
    expect(staticSchema.safeParse({ peers: "nohostport:x" }).success).toBe(false);
    expect(staticSchema.parse({ peers: "" }).peers).toEqual([]);
    expect(staticSchema.safeParse({ peers: "a:0" }).error?.issues[0]?.message).toContain('expected "host:port"');
    expect(staticSchema.safeParse({ peers: "a:1", resolveInterval: "soon" }).error?.issues[0]?.message).toContain(
      "duration",
    );
  });
});

describe("static plugin: partial resolution failures", () => {
  test("a hostname that stops resolving keeps its last addresses (with a warning) while others update", async () => {
    const answers: Record<string, string[] | Error> = { "a.test": ["10.0.0.1"], "b.test": ["10.0.0.2"] };
    const logger = new RecordingLogger();
    const config = staticSchema.parse({ peers: ["a.test:3322", "b.test:3322"], resolveInterval: "30ms" });
    const d = createStaticDiscovery(config, logger, async (host) => {
      const a = answers[host];
      if (a instanceof Error || !a) throw a ?? new Error("ENOTFOUND");
      return a;
    });
    let got: string[] = [];
    await d.start((p) => {
      got = p.map((x) => x.address);
    });
    expect(got).toEqual(["10.0.0.1:3322", "10.0.0.2:3322"]);
    answers["a.test"] = new Error("getaddrinfo EAI_AGAIN a.test");
    answers["b.test"] = ["10.0.0.3", "10.0.0.4"];
    await until(() => got.length === 3, 3000, "b.test update");
    await d.stop();
    expect(got).toEqual(["10.0.0.1:3322", "10.0.0.3:3322", "10.0.0.4:3322"]);
    expect(logger.lines.some((l) => l.event === "discovery.static.resolve_failed" && l.fields?.host === "a.test")).toBe(true);
  });
});
