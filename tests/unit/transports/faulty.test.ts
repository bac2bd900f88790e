import { describe, expect, test } from "bun:test";
import { type Clock, SeededRng, systemClock, type Timer } from "../../../core/clock.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import type { Link, Listener, PeerHandler, Transport } from "../../../core/transport.ts";
import { TransportError } from "../../../core/transport.ts";
import { crc32, FaultyTransport } from "../../../transports/faulty.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";
import { TcpTransport } from "../../../transports/tcp.ts";
import { runTransportContract } from "./contract.ts";

runTransportContract(
  "faulty(tcp) without rules",
  () => new FaultyTransport(new TcpTransport(), { clock: systemClock, rng: new SeededRng(7) }),
);

/** Simulated time: timers fire only when the test advances the clock. */
class ManualClock implements Clock {
  private t = 0;
  private timers: Array<{ at: number; seq: number; fn: () => void; live: boolean }> = [];
  private seq = 0;
  now = () => this.t;
  monotonic = () => this.t;
  setTimer(ms: number, fn: () => void): Timer {
    const entry = { at: this.t + ms, seq: this.seq++, fn, live: true };
    this.timers.push(entry);
    return { cancel: () => void (entry.live = false) };
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.find((e) => e.live);
      if (!next || next.at > end) break;
      this.timers = this.timers.filter((e) => e !== next);
      this.t = next.at;
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** Synchronous in-process transport so fault tests are fully deterministic. */
class Loopback implements Transport {
  readonly name = "loopback";
  private readonly nodes = new Map<string, PeerHandler>();
  async listen(address: string, handler: PeerHandler): Promise<Listener> {
    this.nodes.set(address, handler);
    return { address, close: async () => void this.nodes.delete(address) };
  }
  connect(address: string, local: string): Link {
    const target = () => {
      const h = this.nodes.get(address);
      if (!h) throw new TransportError(`no node ${address}`, "unreachable");
      return h;
    };
    return {
      request: async (p) => target().onRequest(local, p),
      send: (p) => target().onMessage(local, p),
      close: () => {},
    };
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function world(seed: number) {
  const clock = new ManualClock();
  const net = new FaultyTransport(new Loopback(), { clock, rng: new SeededRng(seed), requestTimeoutMs: 1000 });
  const got: Record<string, string[]> = { a: [], b: [] };
  for (const n of ["a", "b"]) {
    await net.listen(n, {
      onRequest: (from, p) => {
        got[n]!.push(`req ${from} ${dec.decode(p)}`);
        return enc.encode(`ok ${dec.decode(p)}`);
      },
      onMessage: (from, p) => void got[n]!.push(`msg ${from} ${dec.decode(p)}`),
    });
  }
  return { clock, net, got, ab: net.connect("b", "a"), ba: net.connect("a", "b") };
}

async function outcome(p: Promise<Uint8Array>): Promise<string> {
  try {
    return dec.decode(await p);
  } catch (e) {
    return e instanceof TransportError ? e.code : "error";
  }
}

describe("faulty transport", () => {
  test("crc32 matches the IEEE check value", () => {
    expect(crc32(enc.encode("123456789"))).toBe(0xcbf43926);
  });

  test("drop: requests time out on the simulated clock, messages vanish", async () => {
    const { clock, net, got, ab } = await world(1);
    net.addRule({ from: "a", to: "b", drop: 1 });
    const r = outcome(ab.request(enc.encode("x")));
    ab.send(enc.encode("m"));
    await clock.advance(999);
    await clock.advance(1);
    expect(await r).toBe("timeout");
    expect(got.b).toEqual([]);
    expect(net.stats.dropped).toBe(2);
  });

  test("delay: nothing arrives before delayMs, everything after", async () => {
    const { clock, net, got, ab } = await world(2);
    net.addRule({ delayMs: 100 });
    ab.send(enc.encode("m"));
    await clock.advance(99);
    expect(got.b).toEqual([]);
    await clock.advance(1);
    expect(got.b).toEqual(["msg a m"]);
    const r = outcome(ab.request(enc.encode("q")));
    await clock.advance(200); // 100 out + 100 back
    expect(await r).toBe("ok q");
  });

  test("partition: one-way blocks a->b only; heal restores", async () => {
    const { clock, net, got, ab, ba } = await world(3);
    net.partition("a", "b", true);
    ab.send(enc.encode("lost"));
    ba.send(enc.encode("arrives"));
    const r = outcome(ba.request(enc.encode("q"))); // reaches a, but a's reply to b is blocked
    await clock.advance(1000);
    expect(await r).toBe("timeout");
    expect(got.b).toEqual([]);
    expect(got.a).toEqual(["msg b arrives", "req b q"]);
    net.heal();
    const r2 = outcome(ab.request(enc.encode("q2")));
    await clock.advance(1);
    expect(await r2).toBe("ok q2");
  });

  test("corrupt: receivers detect flipped bytes and never apply them", async () => {
    const { clock, net, got, ab } = await world(4);
    net.addRule({ from: "a", to: "b", corrupt: 1 });
    for (let i = 0; i < 20; i++) ab.send(enc.encode(`payload-${i}`));
    const r = outcome(ab.request(enc.encode("q")));
    await clock.advance(1);
    expect(await r).not.toContain("ok");
    expect(got.b).toEqual([]);
    expect(net.stats.corrupted).toBe(21);
    expect(net.stats.rejected).toBe(21);
    // Corrupted responses are rejected on the way back too.
    net.clear();
    net.addRule({ from: "b", to: "a", corrupt: 1 });
    const r2 = outcome(ab.request(enc.encode("q2")));
    await clock.advance(1);
    expect(await r2).toBe("refused");
  });

  test("duplicate and reorder", async () => {
    const { clock, net, got, ab } = await world(5);
    const stop = net.addRule({ duplicate: 1 });
    ab.send(enc.encode("twice"));
    await clock.advance(1);
    expect(got.b).toEqual(["msg a twice", "msg a twice"]);
    stop();
    got.b!.length = 0;
    net.addRule({ reorder: 0.5, reorderDelayMs: 50 });
    for (let i = 0; i < 20; i++) ab.send(enc.encode(String(i)));
    await clock.advance(100);
    const order = got.b!.map((m) => Number(m.split(" ")[2]));
    expect([...order].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
  });

  test("same seed, same history; another seed, another history", async () => {
    async function run(seed: number) {
      const { clock, net, got, ab } = await world(seed);
      net.addRule({ drop: 0.3, delayMs: 5, jitterMs: 20, duplicate: 0.2, reorder: 0.2, corrupt: 0.1 });
      const replies = Array.from({ length: 30 }, (_, i) => outcome(ab.request(enc.encode(`r${i}`))));
      for (let i = 0; i < 30; i++) ab.send(enc.encode(`m${i}`));
      await clock.advance(2000);
      return JSON.stringify({ got: got.b, replies: await Promise.all(replies), stats: net.stats });
    }
    const first = await run(42);
    expect(await run(42)).toBe(first);
    expect(await run(43)).not.toBe(first);
  });

  test("over the memory transport on a SimClock, a seed replays the same history", async () => {
    async function run(seed: number) {
      const clock = new SimClock();
      const mem = new MemoryNetwork({ clock, latencyMs: 2, requestTimeoutMs: 500 });
      const net = new FaultyTransport(mem.transport(), { clock, rng: new SeededRng(seed), requestTimeoutMs: 500 });
      const log: string[] = [];
      for (const n of ["n1", "n2", "n3"]) {
        await net.listen(n, {
          onRequest: (from, p) => {
            log.push(`${clock.monotonic()} ${n}<-${from} ${dec.decode(p)}`);
            return p;
          },
          onMessage: (from, p) => void log.push(`${clock.monotonic()} ${n}<-${from} msg ${dec.decode(p)}`),
        });
      }
      net.addRule({ drop: 0.2, delayMs: 3, jitterMs: 10, duplicate: 0.1, reorder: 0.2, corrupt: 0.05 });
      net.partition("n1", "n3", true);
      const replies: Promise<string>[] = [];
      for (let i = 0; i < 40; i++) {
        const [a, b] = [["n1", "n2"], ["n2", "n3"], ["n1", "n3"], ["n3", "n1"]][i % 4]!;
        const link = net.connect(b!, a!);
        if (i % 2) link.send(enc.encode(`m${i}`));
        else replies.push(outcome(link.request(enc.encode(`r${i}`))));
      }
      await clock.advance(2000);
      return JSON.stringify({ log, replies: await Promise.all(replies), stats: net.stats });
    }
    const first = await run(9);
    expect(first).toContain("n2<-n1 r0");
    expect(await run(9)).toBe(first);
    expect(await run(10)).not.toBe(first);
  });
});
