import { describe, expect, test } from "bun:test";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import type { EdgeCache, EdgePlacement } from "../../../core/edge/edge-cache.ts";
import { decodeEdgeRequest, decodeEdgeResponse, encodeEdgePeer } from "../../../core/edge/peer.ts";
import { MemoryEdgeStore } from "../../../core/edge/store.ts";
import { deferred, edgeNode, field, request, TestOrigin, text } from "./harness.ts";

/** Three edge nodes; keys are owned by the node their length picks; peer messages go through the codec. */
function threeNodes(origin: TestOrigin, down = new Set<number>()) {
  const clock = new SimClock(Date.UTC(2025, 0, 1));
  const store = new MemoryEdgeStore(() => clock.now()); // the cluster's map: written through its owner, read by the owner
  const nodes: EdgeCache[] = [];
  const placement = (self: number): EdgePlacement => ({
    ownerOf: (key) => {
      const owner = key.length % 3;
      return owner === self ? null : `n${owner}`;
    },
    others: () => [0, 1, 2].filter((i) => i !== self).map((i) => `n${i}`),
    ask: async (member, msg) => {
      const i = Number(member.slice(1));
      if (down.has(i)) throw new Error("unreachable");
      const res = await nodes[i]!.serve(decodeEdgeRequest(encodeEdgePeer(msg)));
      return decodeEdgeResponse(encodeEdgePeer(res));
    },
  });
  for (let i = 0; i < 3; i++) nodes.push(edgeNode(origin, { clock, store, placement: placement(i) }).edge);
  return { nodes, clock, store };
}

describe("edge cache across nodes", () => {
  test("concurrent misses on every node reach the origin once (singleflight on the owner)", async () => {
    const origin = new TestOrigin();
    const gate = deferred<void>();
    origin.answer = async () => {
      await gate.promise;
      return { headers: { "cache-control": "max-age=60" }, body: "one" };
    };
    const { nodes } = threeNodes(origin);
    const pending = Array.from({ length: 90 }, (_, i) => nodes[i % 3]!.handle(request("/slow")));
    await Bun.sleep(5);
    gate.resolve();
    const all = await Promise.all(pending);
    expect(origin.count("/slow")).toBe(1);
    expect(new Set(await Promise.all(all.map(text)))).toEqual(new Set(["one"]));
    for (const n of nodes) expect(field(await n.handle(request("/slow")), "x-cache")).toBe("HIT");
    expect(nodes.reduce((s, n) => s + n.stats.coalesced, 0)).toBe(89);
  });

  test("PURGE on one node makes the next request on another a MISS", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=60", "surrogate-key": "t1" }, body: "x" });
    const { nodes } = threeNodes(origin);
    await text(await nodes[0]!.handle(request("/p")));
    expect(field(await nodes[1]!.handle(request("/p")), "x-cache")).toBe("HIT");
    expect((await nodes[2]!.handle(request("/p", { method: "PURGE" }))).status).toBe(200);
    expect(field(await nodes[1]!.handle(request("/p")), "x-cache")).toBe("MISS");
    expect(field(await nodes[0]!.handle(request("/p")), "x-cache")).toBe("HIT");
    const r = await nodes[1]!.purgeTags(["t1"]);
    expect(r).toEqual({ purged: 1, unreachable: [] });
    expect(field(await nodes[2]!.handle(request("/p")), "x-cache")).toBe("MISS");
  });

  test("an unreachable owner: served from the origin without coalescing", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=60" }, body: "direct" });
    const { nodes } = threeNodes(origin, new Set([1]));
    // primary keys: "{http://origin.test/a}" has 22 characters → owned by n1 (down)
    const r = await nodes[0]!.handle(request("/a"));
    expect(await text(r)).toBe("direct");
    expect(nodes[0]!.stats.ownerErrors).toBe(1);
    expect((await nodes[0]!.purgeTags(["x"])).unreachable).toEqual(["n1"]);
  });

  test("a response too large for one peer frame is passed to the asking node, which streams it", async () => {
    const origin = new TestOrigin();
    origin.answer = () => ({ headers: { "cache-control": "max-age=60" }, body: new Uint8Array(2 * 1024 * 1024) });
    const { nodes } = threeNodes(origin);
    const r = await nodes[1]!.handle(request("/abc")); // 24 characters: owned by n0
    expect(r.body).toBeInstanceOf(ReadableStream);
    expect((await text(r)).length).toBe(2 * 1024 * 1024);
  });
});
