import { describe, expect, test } from "bun:test";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { TransportError } from "../../../core/transport.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const noop = { onRequest: (_f: string, p: Uint8Array) => p, onMessage: () => {} };

describe("MemoryNetwork on a simulated clock", () => {
  test("delivers after the configured latency, in order, deterministically", async () => {
    const clock = new SimClock(0);
    const net = new MemoryNetwork({ clock, latencyMs: 5 });
    const got: string[] = [];
    await net.transport().listen("b", { ...noop, onMessage: (from, p) => got.push(`${from}:${dec.decode(p)}@${clock.monotonic()}`) });
    const link = net.transport().connect("b", "a");
    link.send(enc.encode("1"));
    link.send(enc.encode("2"));
    await clock.advance(4);
    expect(got).toEqual([]);
    await clock.advance(1);
    expect(got).toEqual(["a:1@5", "a:2@5"]);
  });

  test("request round trip takes two hops; timeouts follow the simulated clock", async () => {
    const clock = new SimClock(0);
    const net = new MemoryNetwork({ clock, latencyMs: 10 });
    await net.transport().listen("b", noop);
    const link = net.transport().connect("b", "a");
    let at = -1;
    link.request(enc.encode("x")).then(() => (at = clock.monotonic()));
    await clock.advance(100);
    expect(at).toBe(20);

    net.setFilter((from) => from !== "a"); // drop a → b
    let err: unknown;
    link.request(enc.encode("y"), 300).catch((e) => (err = e));
    await clock.advance(299);
    expect(err).toBeUndefined();
    await clock.advance(1);
    expect((err as TransportError).code).toBe("timeout");
    expect(net.stats.dropped).toBe(1);
  });

  test("unreachable when nobody listens; the same link works once someone does", async () => {
    const clock = new SimClock(0);
    const net = new MemoryNetwork({ clock });
    const link = net.transport().connect("b", "a");
    let err: unknown;
    link.request(enc.encode("x")).catch((e) => (err = e));
    await clock.advance(1);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).code).toBe("unreachable");
    await net.transport().listen("b", { ...noop, onRequest: () => enc.encode("up") });
    let reply = "";
    link.request(enc.encode("x")).then((r) => (reply = dec.decode(r)));
    await clock.advance(1);
    expect(reply).toBe("up");
  });

  test("binding a taken address is refused", async () => {
    const net = new MemoryNetwork();
    await net.transport().listen("b", noop);
    expect(net.transport().listen("b", noop)).rejects.toBeInstanceOf(TransportError);
  });
});

describe("SimClock", () => {
  test("fires timers in due order, FIFO on ties, and honours cancel", async () => {
    const clock = new SimClock(1000);
    const log: string[] = [];
    clock.setTimer(10, () => log.push(`a@${clock.monotonic()}`));
    clock.setTimer(5, () => {
      log.push(`b@${clock.monotonic()}`);
      clock.setTimer(0, () => log.push(`c@${clock.monotonic()}`));
    });
    clock.setTimer(10, () => log.push(`d@${clock.monotonic()}`));
    clock.setTimer(7, () => log.push("never")).cancel();
    await clock.advance(9);
    expect(log).toEqual(["b@5", "c@5"]);
    await clock.advance(1);
    expect(log).toEqual(["b@5", "c@5", "a@10", "d@10"]);
    expect(clock.now()).toBe(1010);
    expect(clock.pending).toBe(0);
  });
});
