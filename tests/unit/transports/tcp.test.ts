import { afterEach, describe, expect, test } from "bun:test";
import type { Link, Listener } from "../../../core/transport.ts";
import { TransportError } from "../../../core/transport.ts";
import { TcpTransport } from "../../../transports/tcp.ts";
import { codeOf, runTransportContract } from "./contract.ts";

runTransportContract("tcp", () => new TcpTransport());
runTransportContract("tcp+cluster-key", () => new TcpTransport({ clusterKey: "contract-cluster-key-0123456789" }));

const enc = new TextEncoder();


describe("tcp specifics", () => {
  const listeners: Listener[] = [];
  const links: Link[] = [];
  afterEach(async () => {
    for (const l of links.splice(0)) l.close();
    for (const l of listeners.splice(0)) await l.close();
  });

  test("payloads over maxFrameBytes fail with too-large; receiver enforces its own limit", async () => {
    const small = new TcpTransport({ maxFrameBytes: 1024 });
    const l = await small.listen("127.0.0.1:0", { onRequest: (_f, p) => p, onMessage: () => {} });
    listeners.push(l);
    const link = small.connect(l.address, "a");
    links.push(link);
    expect(await codeOf(link.request(new Uint8Array(2048)))).toBe("too-large");
    expect(() => link.send(new Uint8Array(2048))).toThrow(TransportError);
    expect((await link.request(new Uint8Array(1024))).length).toBe(1024);
    // A sender with a larger limit is cut off by the receiver's limit.
    const big = new TcpTransport({ maxFrameBytes: 1 << 20 }).connect(l.address, "b");
    links.push(big);
    expect(await codeOf(big.request(new Uint8Array(4096), 3000))).toBe("closed");
  });

  test("unreachable peer rejects with unreachable", async () => {
    const probe = await new TcpTransport().listen("127.0.0.1:0", { onRequest: (_f, p) => p, onMessage: () => {} });
    const address = probe.address;
    await probe.close();
    const link = new TcpTransport().connect(address, "a");
    links.push(link);
    expect(await codeOf(link.request(enc.encode("x"), 3000))).toBe("unreachable");
  });

  test("cluster key: strangers without the key, or with another key, cannot inject", async () => {
    const seen: string[] = [];
    const keyed = new TcpTransport({ clusterKey: "the-real-cluster-key-123456" });
    const l = await keyed.listen("127.0.0.1:0", {
      onRequest: (from, p) => {
        seen.push(`${from}:${new TextDecoder().decode(p)}`);
        return p;
      },
      onMessage: (from) => seen.push(`msg from ${from}`),
    });
    listeners.push(l);
    const plain = new TcpTransport().connect(l.address, "plain");
    const wrong = new TcpTransport({ clusterKey: "a-guessed-cluster-key-xyz" }).connect(l.address, "wrong");
    const good = keyed.connect(l.address, "good");
    links.push(plain, wrong, good);
    plain.send(enc.encode("evil"));
    wrong.send(enc.encode("evil"));
    expect(await codeOf(plain.request(enc.encode("evil"), 3000))).toBe("closed");
    expect(await codeOf(wrong.request(enc.encode("evil"), 3000))).toBe("closed");
    expect(new TextDecoder().decode(await good.request(enc.encode("hi")))).toBe("hi");
    expect(seen).toEqual(["good:hi"]);
  });

  test("raw garbage on the peer port closes that connection and the listener keeps serving", async () => {
    const t = new TcpTransport();
    const l = await t.listen("127.0.0.1:0", { onRequest: (_f, p) => p, onMessage: () => {} });
    listeners.push(l);
    const [host, port] = [l.address.split(":")[0]!, Number(l.address.split(":")[1])];
    let closed = false;
    const s = await Bun.connect({ hostname: host, port, socket: { data() {}, close: () => void (closed = true) } });
    s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    for (let i = 0; i < 100 && !closed; i++) await Bun.sleep(10);
    expect(closed).toBe(true);
    const link = t.connect(l.address, "ok");
    links.push(link);
    expect((await link.request(enc.encode("still up"))).length).toBe(8);
  });

  test("slowloris: a dialer that never says hello is cut off; connections beyond maxConnections are closed", async () => {
    const t = new TcpTransport({ helloTimeoutMs: 100, maxConnections: 2 });
    const l = await t.listen("127.0.0.1:0", { onRequest: (_f, p) => p, onMessage: () => {} });
    listeners.push(l);
    const [hostname, port] = [l.address.split(":")[0]!, Number(l.address.split(":")[1])];
    const closed: boolean[] = [false, false, false];
    const raw = await Promise.all(
      [0, 1, 2].map((i) =>
        Bun.connect({ hostname, port, socket: { data() {}, close: () => void (closed[i] = true) } }),
      ),
    );
    for (let i = 0; i < 50 && !closed[2]; i++) await Bun.sleep(10);
    expect(closed).toEqual([false, false, true]); // over the limit: closed at once
    for (let i = 0; i < 200 && !(closed[0] && closed[1]); i++) await Bun.sleep(10);
    expect(closed).toEqual([true, true, true]); // silent ones: closed after the hello timeout
    for (const s of raw) s.end();
    const link = t.connect(l.address, "polite");
    links.push(link);
    expect((await link.request(enc.encode("hi"))).length).toBe(2);
  });

  test("cluster key: a recorded session replayed by a stranger is refused", async () => {
    const seen: string[] = [];
    const keyed = new TcpTransport({ clusterKey: "the-real-cluster-key-123456" });
    const l = await keyed.listen("127.0.0.1:0", {
      onRequest: (_f, p) => {
        seen.push(new TextDecoder().decode(p));
        return p;
      },
      onMessage: () => {},
    });
    listeners.push(l);
    const [hostname, port] = [l.address.split(":")[0]!, Number(l.address.split(":")[1])];
    // A recording proxy in front of the listener: the stranger sees every byte the member sent.
    const recorded: Uint8Array[] = [];
    const proxy = Bun.listen<{ up?: Awaited<ReturnType<typeof Bun.connect>>; early: Uint8Array[] }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        async open(down) {
          down.data = { early: [] };
          const up = await Bun.connect({ hostname, port, socket: { data: (_u, d) => void down.write(d), close: () => void down.end() } });
          for (const e of down.data.early) up.write(e);
          down.data.up = up;
        },
        data(down, d) {
          recorded.push(d.slice());
          if (down.data.up) down.data.up.write(d);
          else down.data.early.push(d.slice());
        },
        close(down) {
          down.data.up?.end();
        },
      },
    });
    try {
      const member = keyed.connect(`127.0.0.1:${proxy.port}`, "member");
      links.push(member);
      expect(new TextDecoder().decode(await member.request(enc.encode("DM.DEL all")))).toBe("DM.DEL all");
      member.close();
      let closed = false;
      const replay = await Bun.connect({ hostname, port, socket: { data() {}, close: () => void (closed = true) } });
      for (const chunk of recorded) replay.write(chunk);
      for (let i = 0; i < 100 && !closed; i++) await Bun.sleep(10);
      expect(closed).toBe(true);
      expect(seen).toEqual(["DM.DEL all"]);
    } finally {
      proxy.stop(true);
    }
  });

  test("back-pressure: a peer that stops reading bounds the sender's buffers; excess one-ways are dropped", async () => {
    // A peer that accepts the connection and never reads.
    const stalled = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (s) => void s.pause(),
        data() {},
      },
    });
    try {
      const t = new TcpTransport({ sendBufferBytes: 256 * 1024, maxParkedBytes: 8 << 20 });
      const link = t.connect(`127.0.0.1:${stalled.port}`, "sender") as Link & {
        bufferedBytes: number;
        parkedBytes: number;
        dropped: number;
      };
      links.push(link);
      const chunk = new Uint8Array(64 * 1024);
      const replies = Array.from({ length: 400 }, () => link.request(chunk, 1500).catch((e) => e));
      let maxBuffered = 0;
      let maxParked = 0;
      for (let i = 0; i < 40; i++) {
        await Bun.sleep(10);
        maxBuffered = Math.max(maxBuffered, link.bufferedBytes);
        maxParked = Math.max(maxParked, link.parkedBytes);
      }
      expect(maxParked).toBeGreaterThan(0); // the kernel buffers filled and frames had to wait
      expect(maxBuffered).toBeLessThan(256 * 1024 + 2 * (64 * 1024 + 64)); // bounded by sendBufferBytes
      for (let i = 0; i < 300; i++) link.send(chunk);
      expect(link.dropped).toBeGreaterThan(0);
      const outcomes = await Promise.all(replies);
      expect(outcomes.every((e) => e instanceof TransportError && e.code === "timeout")).toBe(true);
    } finally {
      stalled.stop(true);
    }
  });
});
