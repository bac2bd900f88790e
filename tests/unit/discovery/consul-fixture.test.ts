/** The Consul fixture behaves as Consul's HTTP API docs describe (so plugin tests against it mean something). */
import { afterAll, describe, expect, test } from "bun:test";
import { ConsulFixture } from "../../fixtures/consul-server.ts";

const consul = ConsulFixture.start();
afterAll(() => consul.stop());
const put = (path: string, body?: unknown) =>
  fetch(consul.url + path, { method: "PUT", body: body === undefined ? undefined : JSON.stringify(body) });
const health = (query: string) => fetch(`${consul.url}/v1/health/service/web${query}`);

describe("consul fixture", () => {
  test("TTL checks start critical: hidden by ?passing until passed, visible without it", async () => {
    expect((await put("/v1/agent/service/register", { Name: "web", Port: 80, Check: { TTL: "1h" } })).status).toBe(200);
    const all = (await (await health("")).json()) as { Service: { ID: string }; Checks: { CheckID: string; Status: string }[] }[];
    expect(all[0]!.Service.ID).toBe("web");
    expect(all[0]!.Checks.map((c) => [c.CheckID, c.Status])).toEqual([
      ["serfHealth", "passing"],
      ["service:web", "critical"],
    ]);
    expect(await (await health("?passing")).json()).toEqual([]);
    expect((await put("/v1/agent/check/pass/service:web")).status).toBe(200);
    expect(((await (await health("?passing")).json()) as unknown[]).length).toBe(1);
  });

  test("blocking query: a stale index returns at once, the current index waits for `wait`, a change wakes it", async () => {
    const first = await health("?passing");
    const index = Number(first.headers.get("X-Consul-Index"));
    expect(index).toBeGreaterThan(0);
    expect(first.headers.get("X-Consul-KnownLeader")).toBe("true");
    let t = performance.now();
    await health(`?passing&index=${index - 1}&wait=5s`);
    expect(performance.now() - t).toBeLessThan(1000);
    t = performance.now();
    const timedOut = await health(`?passing&index=${index}&wait=200ms`);
    expect(performance.now() - t).toBeGreaterThanOrEqual(190);
    expect(Number(timedOut.headers.get("X-Consul-Index"))).toBe(index);
    const woken = health(`?passing&index=${index}&wait=10s`);
    await Bun.sleep(50);
    await put("/v1/agent/service/register", { ID: "web-2", Name: "web", Port: 81 });
    const res = await woken;
    expect(Number(res.headers.get("X-Consul-Index"))).toBeGreaterThan(index);
    expect(((await res.json()) as unknown[]).length).toBe(2);
  });

  test("errors: missing name 400, unknown service/check 404", async () => {
    expect((await put("/v1/agent/service/register", { Port: 1 })).status).toBe(400);
    const dereg = await put("/v1/agent/service/deregister/nope");
    expect(dereg.status).toBe(404);
    expect(await dereg.text()).toContain("Unknown service ID");
    expect((await put("/v1/agent/check/pass/service:nope")).status).toBe(404);
  });
});
