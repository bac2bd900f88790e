/**
 * /v1/faults over a real FaultyTransport: absent without the option, behind
 * the bearer token, PUT replaces the set (and really blocks traffic), GET
 * shows it with counters, DELETE heals, bad bodies get 400 naming the field.
 */
import { describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { FaultyTransport } from "../../../transports/faulty.ts";
import { MemoryNetwork, MemoryTransport } from "../../../transports/memory.ts";
import { testNode } from "./test-node.ts";

const A = "10.0.0.1:3322";
const B = "10.0.0.2:3322";

function setup(authTokens?: string[]) {
  const { node } = testNode();
  const faults = new FaultyTransport(new MemoryTransport(new MemoryNetwork()), { clock: systemClock, rng: new SeededRng(1), requestTimeoutMs: 200 });
  const app = createHttpApp(node, { faults: () => faults, authTokens });
  return { app, faults };
}

const put = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "PUT",
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("/v1/faults", () => {
  test("does not exist without the faults option", async () => {
    const { node } = testNode();
    const res = await createHttpApp(node).request("/v1/faults");
    expect(res.status).toBe(404);
  });

  test("PUT replaces the faults, blocks the pair, GET shows them, DELETE heals", async () => {
    const { app, faults } = setup();
    const set = { partitions: [{ a: A, b: B }], rules: [{ to: "10.0.0.3:3322", drop: 0.5 }] };
    const res = await app.request("/v1/faults", put(set));
    expect(res.status).toBe(200);
    expect(faults.plan(A, B).deliver).toBe(false);
    expect(faults.plan(B, A).deliver).toBe(false);
    const got = (await (await app.request("/v1/faults")).json()) as { partitions: unknown[]; rules: unknown[]; stats: { blocked: number } };
    expect(got.partitions).toEqual(set.partitions);
    expect(got.rules).toEqual(set.rules);
    expect(got.stats.blocked).toBe(2);

    // a second PUT replaces, not adds: one-way only now
    await app.request("/v1/faults", put({ partitions: [{ a: A, b: B, oneWay: true }] }));
    expect(faults.plan(A, B).deliver).toBe(false);
    expect(faults.plan(B, A).deliver).toBe(true);

    const del = await app.request("/v1/faults", { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(faults.plan(A, B).deliver).toBe(true);
    expect(((await (await app.request("/v1/faults")).json()) as { partitions: unknown[] }).partitions).toEqual([]);
  });

  test("bad bodies get 400 naming the field", async () => {
    const { app } = setup();
    const notJson = await app.request("/v1/faults", put("{nope"));
    expect(notJson.status).toBe(400);
    const bad = await app.request("/v1/faults", put({ rules: [{ drop: 2 }] }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain("rules.0.drop");
    const unknown = await app.request("/v1/faults", put({ isolate: A }));
    expect(unknown.status).toBe(400);
  });

  test("needs the bearer token when auth is on", async () => {
    const { app } = setup(["s3cret"]);
    expect((await app.request("/v1/faults")).status).toBe(401);
    expect((await app.request("/v1/faults", put({}, { authorization: "Bearer s3cret" }))).status).toBe(200);
  });

  test("409 while the node has no injector (no cluster yet)", async () => {
    const { node } = testNode();
    const res = await createHttpApp(node, { faults: () => undefined }).request("/v1/faults");
    expect(res.status).toBe(409);
  });
});
