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
