import { afterEach, describe, expect, test } from "bun:test";
import { SeededRng } from "../../../core/clock.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { Shoal } from "../../../core/mod.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const dec = new TextDecoder();
const text = (b: Uint8Array | null) => (b === null ? null : dec.decode(b));
const started: Shoal[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop().catch(() => undefined);
});

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  return { wait, open };
}

describe("getOrLoad on one node", () => {
  test("concurrent calls for a missing key share one loader call; the value is stored with its TTL", async () => {
    const clock = new SimClock(Date.UTC(2025, 0, 1));
    const shoal = await Shoal.start({ clock, rng: new SeededRng(1) });
    started.push(shoal);
    const users = shoal.map("users");
    const g = gate();
    let calls = 0;
    const loader = async (key: string | Uint8Array) => {
      calls++;
      await g.wait;
      return `loaded ${typeof key === "string" ? key : dec.decode(key)}`;
    };
    const all = Array.from({ length: 20 }, () => users.getOrLoad("alice", loader, { ttl: "30s" }));
    g.open();
    expect((await Promise.all(all)).map(text)).toEqual(Array(20).fill("loaded alice"));
    expect(calls).toBe(1);
    expect(users.ttl("alice")).toBe(30_000);
    expect(text(await users.getOrLoad("alice", loader))).toBe("loaded alice");
    expect(calls).toBe(1);
    await clock.advance(31_000);
    expect(text(await shoal.dmap("users").getOrLoad("alice", loader, { ttlMs: 1000 }))).toBe("loaded alice");
    expect(calls).toBe(2);
  });

  test("a failing loader fails every waiter, and the next call loads again; null stores nothing", async () => {
    const shoal = await Shoal.start();
    started.push(shoal);
    const m = shoal.map("m");
    const g = gate();
    let calls = 0;
    const failing = async () => {
      calls++;
      await g.wait;
      throw new Error("backend down");
    };
    const all = Array.from({ length: 5 }, () => m.getOrLoad("k", failing).then(() => "ok", (e: Error) => e.message));
    g.open();
    expect(await Promise.all(all)).toEqual(Array(5).fill("backend down"));
    expect(calls).toBe(1);
    expect(text(await m.getOrLoad("k", () => "second"))).toBe("second");
    expect(await m.getOrLoad("none", () => null)).toBeNull();
    expect(m.get("none")).toBeNull();
    await expect(m.getOrLoad("x", () => "v", { ttl: "soon" })).rejects.toThrow("getOrLoad: ttl expects a positive duration");
  });
});

describe("getOrLoad in a cluster (embedded members, memory transport)", () => {
  test("concurrent misses on every member run one loader in the whole cluster (the key's lock on its owner)", async () => {
    const net = new MemoryNetwork({ requestTimeoutMs: 2000 });
    const names = ["r0:3322", "r1:3322", "r2:3322"];
    const ss: Shoal[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await Shoal.start({
        rng: new SeededRng(i + 1),
        transport: net.transport(),
        self: names[i],
        peers: [names[0]!],
        cluster: { replicaCount: 2, writeQuorum: 2, partitionCount: 31, preset: "lan", probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200, peerTimeoutMs: 500 },
      });
      started.push(s);
      ss.push(s);
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !ss.every((s) => s.cluster?.partitions?.members.length === 3)) await Bun.sleep(10);
    for (const s of ss) await s.cluster!.settled();
    let calls = 0;
    const loader = async () => {
      calls++;
      await Bun.sleep(50);
      return "from the database";
    };
    const all = Array.from({ length: 30 }, (_, i) => ss[i % 3]!.dmap("products").getOrLoad("p-1", loader, { ttl: 60_000 }));
    expect(new Set((await Promise.all(all)).map(text))).toEqual(new Set(["from the database"]));
    expect(calls).toBe(1);
    for (const s of ss) expect(text(await s.dmap("products").get("p-1"))).toBe("from the database");
    expect(await ss[1]!.dmap("products").ttl("p-1")).toBeGreaterThan(50_000);
  }, 20_000);
});
