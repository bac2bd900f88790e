/**
 * The client-fault proxy of `shoal chaos --real --run` over real loopback
 * sockets, in front of a real TCP echo server: every Toxiproxy-style fault
 * (latency ± jitter, bandwidth, reset, half-open timeout, slicing) is seen
 * by a client, changes apply to open connections, a dead target closes the
 * client's connection, and close() leaves nothing listening. Times asserted
 * are lower bounds the proxy injects, never speed claims.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { seededRandom } from "../../../chaos/real/workload.ts";
import { type ClientFaults, NO_CLIENT_FAULTS } from "../../../chaos/run/client-faults.ts";
import { ClientFaultState, ToxicProxy } from "../../../chaos/run/proxy.ts";

let echo: net.Server;
let echoPort = 0;

beforeAll(async () => {
  echo = net.createServer((s) => {
    s.on("data", (d) => s.write(d));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
  echoPort = (echo.address() as net.AddressInfo).port;
});
afterAll(() => echo.close());

/** A client connection that records what arrives, chunk by chunk. */
class Probe {
  readonly chunks: Buffer[] = [];
  error: string | null = null;
  closed = false;
  private waiters: (() => void)[] = [];
  private constructor(readonly sock: net.Socket) {
    sock.on("data", (d: Buffer) => {
      this.chunks.push(d);
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      this.error = e.code ?? e.message;
    });
    sock.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static connect(port: number): Promise<Probe> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(new Probe(s)));
      s.once("error", reject);
    });
  }
  get received(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
  /** Waits until `bytes` arrived (or the socket closed, or `timeoutMs`); returns the ms it took. */
  async until(bytes: number, timeoutMs = 10_000): Promise<number> {
    const t0 = performance.now();
    while (this.received < bytes && !this.closed && performance.now() - t0 < timeoutMs) {
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), Bun.sleep(50)]);
    }
    return performance.now() - t0;
  }
  /** Sends `text` and waits for its echo; returns the round trip in ms. */
  async roundTrip(text: string): Promise<number> {
    const want = this.received + text.length;
    const t0 = performance.now();
    this.sock.write(text);
    await this.until(want);
    return performance.now() - t0;
  }
}

async function withProxy(faults: Partial<ClientFaults>, body: (proxy: ToxicProxy, state: ClientFaultState) => Promise<void>): Promise<void> {
  const state = new ClientFaultState({ ...NO_CLIENT_FAULTS, ...faults }, seededRandom(1));
  const proxy = await ToxicProxy.start({ host: "127.0.0.1", port: echoPort }, state);
  try {
    await body(proxy, state);
  } finally {
    await proxy.close();
  }
}

describe("client-fault proxy", () => {
  test("no faults: bytes pass unchanged both ways", async () => {
    await withProxy({}, async (proxy, state) => {
      const p = await Probe.connect(proxy.port);
      await p.roundTrip("PING\r\n");
      expect(Buffer.concat(p.chunks).toString()).toBe("PING\r\n");
      expect(state.stats).toMatchObject({ connections: 1, bytesToNode: 6, bytesToClient: 6 });
      p.sock.destroy();
    });
  });

  test("latency: every round trip takes at least the latency; with jitter never below latency − jitter; turning it off applies to the open connection", async () => {
    await withProxy({ latencyMs: 200 }, async (proxy, state) => {
      const p = await Probe.connect(proxy.port);
      for (let i = 0; i < 3; i++) expect(await p.roundTrip(`x${i}`)).toBeGreaterThanOrEqual(199);
      state.faults = { ...NO_CLIENT_FAULTS, latencyMs: 100, jitterMs: 50 };
      for (let i = 0; i < 5; i++) expect(await p.roundTrip(`y${i}`)).toBeGreaterThanOrEqual(49);
      expect(state.stats.delayedChunks).toBeGreaterThanOrEqual(8);
      state.faults = { ...NO_CLIENT_FAULTS };
      const before = state.stats.delayedChunks;
      await p.roundTrip("z");
      expect(state.stats.delayedChunks).toBe(before);
      p.sock.destroy();
    });
  });

  test("latency keeps the order of pipelined replies", async () => {
    await withProxy({ latencyMs: 30, jitterMs: 25 }, async (proxy) => {
      const p = await Probe.connect(proxy.port);
      let sent = "";
      for (let i = 0; i < 30; i++) {
        const s = `<${i}>`;
        sent += s;
        p.sock.write(s);
        await Bun.sleep(2);
      }
      await p.until(sent.length);
      expect(Buffer.concat(p.chunks).toString()).toBe(sent);
      p.sock.destroy();
    });
  });

  test("bandwidth: 40 KiB at 20 KiB/s takes at least ~1.5 s and arrives intact", async () => {
    await withProxy({ bandwidthBps: 20 * 1024 }, async (proxy) => {
      const p = await Probe.connect(proxy.port);
      const data = Buffer.alloc(40 * 1024, 7);
      const t0 = performance.now();
      p.sock.write(data);
      await p.until(data.length, 20_000);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(1500);
      expect(Buffer.concat(p.chunks).equals(data)).toBe(true);
      p.sock.destroy();
    });
  });

  test("slice: a 64-byte reply arrives in many small pieces, intact", async () => {
    await withProxy({ sliceBytes: 4, sliceDelayMs: 5 }, async (proxy, state) => {
      const p = await Probe.connect(proxy.port);
      const msg = "0123456789abcdef".repeat(4);
      await p.roundTrip(msg);
      expect(Buffer.concat(p.chunks).toString()).toBe(msg);
      expect(p.chunks.length).toBeGreaterThanOrEqual(8);
      expect(Math.max(...p.chunks.map((c) => c.length))).toBeLessThanOrEqual(6);
      expect(state.stats.slicedChunks).toBeGreaterThanOrEqual(1);
      p.sock.destroy();
    });
  });

  test("reset=100%: the client's first request gets a TCP reset", async () => {
    await withProxy({ resetPct: 100 }, async (proxy, state) => {
      const p = await Probe.connect(proxy.port);
      p.sock.write("PING\r\n");
      await p.until(1, 5000);
      expect(p.closed).toBe(true);
      expect(p.error).toBe("ECONNRESET");
      expect(p.received).toBe(0);
      expect(state.stats.resets).toBe(1);
    });
  });

  test("timeout=100%: accepted, never answered, left open; off again, the same connection answers new requests", async () => {
    await withProxy({ timeoutPct: 100 }, async (proxy, state) => {
      const p = await Probe.connect(proxy.port);
      p.sock.write("lost");
      await p.until(1, 700);
      expect(p.received).toBe(0);
      expect(p.closed).toBe(false);
      expect(state.stats.silencedConnections).toBe(1);
      state.faults = { ...NO_CLIENT_FAULTS };
      await p.roundTrip("back");
      expect(Buffer.concat(p.chunks).toString()).toBe("back");
      p.sock.destroy();
    });
  });

  test("a dead target closes the client's connection; close() stops listening and closes open connections", async () => {
    const state = new ClientFaultState({ ...NO_CLIENT_FAULTS }, seededRandom(2));
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const toDead = await ToxicProxy.start({ host: "127.0.0.1", port: deadPort }, state);
    const p = await Probe.connect(toDead.port);
    await p.until(1, 3000);
    expect(p.closed).toBe(true);
    expect(state.stats.refusedUpstream).toBe(1);
    await toDead.close();

    const live = await ToxicProxy.start({ host: "127.0.0.1", port: echoPort }, state);
    const q = await Probe.connect(live.port);
    await q.roundTrip("hi");
    expect(live.connections).toBe(1);
    await live.close();
    await q.until(100, 2000);
    expect(q.closed).toBe(true);
    await expect(Probe.connect(live.port)).rejects.toThrow();
  });
});
