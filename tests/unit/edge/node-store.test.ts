import { afterEach, describe, expect, test } from "bun:test";
import { SeededRng } from "../../../core/clock.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { EdgeCache, LOCAL_PLACEMENT } from "../../../core/edge/edge-cache.ts";
import { gatewayCommand, NodeEdgeStore } from "../../../core/edge/node-store.ts";
import { CommandGateway } from "../../../core/gateway/gateway.ts";
import { ShoalNode } from "../../../core/node.ts";
import { field, request, TestOrigin, text } from "./harness.ts";

const nodes: ShoalNode[] = [];
afterEach(() => {
  for (const n of nodes.splice(0)) n.stop();
});

function nodeStore(clock = new SimClock(Date.UTC(2025, 0, 1))) {
  const node = new ShoalNode({ clock, rng: new SeededRng(3) });
  node.start();
  nodes.push(node);
  const store = new NodeEdgeStore("edge", node.map("edge"), gatewayCommand(new CommandGateway(node)));
  return { node, store, clock };
}

describe("the edge map over a node", () => {
  test("writes go through the command path with their expiry; stamps change with every write", async () => {
    const { node, store, clock } = nodeStore();
    await store.write("{u}", new Uint8Array([1, 2, 3]), clock.now() + 60_000);
    expect(store.read("{u}")).toEqual(new Uint8Array([1, 2, 3]));
    expect(node.map("edge").ttl("{u}")).toBe(60_000);
    const s1 = store.stamp("{u}");
    expect(s1).not.toBeNull();
    expect(store.stamp("{u}")).toBe(s1);
    await clock.advance(1);
    await store.write("{u}", new Uint8Array([1, 2, 4]), clock.now() + 60_000);
    expect(store.stamp("{u}")).not.toBe(s1);
    expect(store.scanLocal(0, 10).keys).toEqual(["{u}"]);
    expect(await store.remove(["{u}", "{missing}"])).toBe(1);
    expect(store.stamp("{u}")).toBeNull();
    await clock.advance(1);
    await store.write("{gone}", new Uint8Array([9]), clock.now() + 10);
    await clock.advance(20);
    expect(store.stamp("{gone}")).toBeNull();
  });

  test("a write the node refuses is an error (value larger than --max-value-bytes)", async () => {
    const clock = new SimClock(Date.UTC(2025, 0, 1));
    const node = new ShoalNode({ clock, rng: new SeededRng(3), config: { maxValueBytes: 16, maxBulkBytes: 1024 } });
    node.start();
    nodes.push(node);
    const store = new NodeEdgeStore("edge", node.map("edge"), gatewayCommand(new CommandGateway(node)));
    await expect(store.write("{k}", new Uint8Array(100), clock.now() + 1000)).rejects.toThrow();
  });

  test("the edge cache over a node's map: hits from decoded copies that follow every rewrite", async () => {
    const { store, clock } = nodeStore();
    const origin = new TestOrigin();
    let version = 1;
    origin.answer = () => ({ headers: { "cache-control": "max-age=60" }, body: `v${version}` });
    const edge = new EdgeCache({
      origin,
      store,
      placement: LOCAL_PLACEMENT,
      clock,
      rng: new SeededRng(1),
      defaultOrigin: "http://o.test",
      settings: { maxObjectBytes: 1 << 20, originTimeoutMs: 1000, defaultTtlMs: 0, keepMs: 0 },
    });
    expect(await text(await edge.handle(request("/x")))).toBe("v1");
    for (let i = 0; i < 3; i++) {
      const r = await edge.handle(request("/x"));
      expect(field(r, "x-cache")).toBe("HIT");
      expect(await text(r)).toBe("v1");
    }
    version = 2;
    expect((await edge.handle(request("/x", { method: "PURGE" }))).status).toBe(200);
    expect(await text(await edge.handle(request("/x")))).toBe("v2");
    const hit = await edge.handle(request("/x"));
    expect(field(hit, "x-cache")).toBe("HIT");
    expect(await text(hit)).toBe("v2");
    expect(origin.count("/x")).toBe(2);
  });
});
