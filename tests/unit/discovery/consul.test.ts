/** consul plugin against the Consul HTTP API fixture over real HTTP. */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsulDiscovery, consulSchema } from "../../../plugins/discovery/consul.ts";
import { ConsulFixture } from "../../fixtures/consul-server.ts";
import { type DiscoveryHarness, RecordingLogger, runDiscoveryContract, until } from "./contract.ts";

const idOf = (address: string) => `shoal-${address.replace(/[.:]/g, "-")}`;

function setServices(consul: ConsulFixture, peers: string[]): void {
  const wanted = new Set(peers.map(idOf));
  for (const id of consul.serviceIds()) if (!wanted.has(id)) consul.deregister(id);
  for (const p of peers) {
    if (consul.serviceIds().includes(idOf(p))) continue;
    const [host, port] = p.split(":") as [string, string];
    consul.register({ ID: idOf(p), Name: "shoal", Address: host, Port: Number(port) });
  }
}

runDiscoveryContract("consul (fixture)", async (initial): Promise<DiscoveryHarness> => {
  const consul = ConsulFixture.start({ aclToken: "s3cret" });
  setServices(consul, initial);
  const logger = new RecordingLogger();
  const config = consulSchema.parse({ addr: consul.url, service: "shoal", token: "s3cret", wait: "2s", retry: "50ms" });
  return {
    discovery: new ConsulDiscovery(config, logger),
    logger,
    setPeers: async (peers) => setServices(consul, peers),
    breakSource: async () => consul.fail(500),
    healSource: async () => consul.fail(undefined),
    close: () => consul.stop(),
  };
});

describe("consul plugin", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  test("uses blocking queries: idle watching costs one request per wait, a change returns at once", async () => {
    const consul = ConsulFixture.start();
    cleanup.push(() => consul.stop());
    setServices(consul, ["127.0.0.1:3322"]);
    const d = new ConsulDiscovery(consulSchema.parse({ addr: consul.url, service: "shoal", wait: "5s" }), new RecordingLogger());
    cleanup.push(() => d.stop());
    const reports: string[][] = [];
    let seenAt = 0;
    await d.start((p) => {
      seenAt = performance.now();
      reports.push(p.map((x) => x.address));
    });
    await Bun.sleep(300);
    expect(consul.hits.get("GET /v1/health/service/shoal")).toBeLessThanOrEqual(2);
    const t0 = performance.now();
    setServices(consul, ["127.0.0.1:3322", "127.0.0.2:3322"]);
    await until(() => reports.length === 2, 3000, "change through a blocking query");
    console.log(`consul: change noticed after ${(seenAt - t0).toFixed(1)} ms (blocking wait 5 s)`);
    expect(reports[1]).toEqual(["127.0.0.1:3322", "127.0.0.2:3322"]);
  });

  test("rate-limits itself when the server does not block (index never moves)", async () => {
    const consul = ConsulFixture.start({ blocking: false });
    cleanup.push(() => consul.stop());
    setServices(consul, ["127.0.0.1:3322"]);
    const d = new ConsulDiscovery(consulSchema.parse({ addr: consul.url, service: "shoal", retry: "100ms" }), new RecordingLogger());
    cleanup.push(() => d.stop());
    await d.start(() => {});
    await Bun.sleep(500);
    // ~6 requests at one per 100 ms; a hot loop would make thousands.
    expect(consul.hits.get("GET /v1/health/service/shoal")).toBeLessThan(20);
  });

  test("ACL: without a token the agent answers 403 and the plugin warns with the reason", async () => {
    const consul = ConsulFixture.start({ aclToken: "right" });
    cleanup.push(() => consul.stop());
    const res = await fetch(`${consul.url}/v1/health/service/shoal?passing`);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe("Permission denied");
    const bearer = await fetch(`${consul.url}/v1/health/service/shoal`, { headers: { Authorization: "Bearer right" } });
    expect(bearer.status).toBe(200);
    const logger = new RecordingLogger();
    const d = new ConsulDiscovery(consulSchema.parse({ addr: consul.url, service: "shoal", token: "wrong", retry: "1s" }), logger);
    cleanup.push(() => d.stop());
    await d.start(() => {});
    expect(logger.lines.find((l) => l.level === "warn")?.fields?.error).toBe("HTTP 403: ACL not found");
  });

  test("only passing instances; self-registration keeps its TTL check passing and deregisters on stop", async () => {
    const consul = ConsulFixture.start({ aclToken: "tok" });
    cleanup.push(() => consul.stop());
    consul.register({ ID: "sick", Name: "shoal", Address: "127.0.0.9", Port: 3322, Check: { TTL: "1h" } });
    const dir = mkdtempSync(join(tmpdir(), "shoal-consul-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "token"), "tok\n");
    const config = consulSchema.parse({
      addr: consul.url,
      service: "shoal",
      tokenFile: join(dir, "token"),
      wait: "1s",
      register: true,
      registration: { id: "me", address: "127.0.0.5", port: 3322, ttl: "150ms" },
    });
    const d = new ConsulDiscovery(config, new RecordingLogger());
    let got: string[] = [];
    await d.start((p) => {
      got = p.map((x) => x.address);
    });
    await until(() => got.join() === "127.0.0.5:3322", 3000, "self registered and passing, sick one filtered");
    await Bun.sleep(500); // > 3 TTLs: heartbeats must keep it passing
    expect(consul.checkStatus("service:me")).toBe("passing");
    expect(got).toEqual(["127.0.0.5:3322"]);
    await d.stop();
    await d.stop();
    expect(consul.serviceIds()).toEqual(["sick"]);
  });

  test("a TTL check that stops being passed turns critical and the instance drops out", async () => {
    const consul = ConsulFixture.start();
    cleanup.push(() => consul.stop());
    consul.register({ ID: "a", Name: "shoal", Address: "127.0.0.1", Port: 1, Check: { TTL: "100ms", Status: "passing" } });
    const d = new ConsulDiscovery(consulSchema.parse({ addr: consul.url, service: "shoal", wait: "5s" }), new RecordingLogger());
    cleanup.push(() => d.stop());
    let got: string[] = ["unset"];
    await d.start((p) => {
      got = p.map((x) => x.address);
    });
    expect(got).toEqual(["127.0.0.1:1"]);
    await until(() => got.length === 0, 3000, "TTL expiry");
    expect(consul.checkStatus("service:a")).toBe("critical");
  });

  test("config errors: bad URL, register without address, missing token file", () => {
    expect(consulSchema.safeParse({ addr: "not a url", service: "s" }).error?.issues[0]?.message).toContain("http(s) URL");
    expect(consulSchema.safeParse({ service: "s", register: true }).error?.issues[0]?.message).toContain("registration.address");
    const config = consulSchema.parse({ service: "s", tokenFile: "/nonexistent/token" });
    expect(() => new ConsulDiscovery(config, new RecordingLogger())).toThrow(/tokenFile \/nonexistent\/token/);
  });
});
