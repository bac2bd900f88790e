/**
 * Shared transport contract: every peer transport (tcp, tls, memory, faulty
 * over any of them) must pass these cases. Each case makes two "nodes" by
 * calling the factory twice; factories for in-process transports should close
 * over one shared network.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Link, Listener, PeerHandler, Transport } from "../../../core/transport.ts";
import { TransportError } from "../../../core/transport.ts";

/** Options for {@link runTransportContract}. */
/** How a promise settles: "resolved", a TransportError code, or "other: …". */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return e instanceof TransportError ? e.code : `other: ${e}`;
  }
}

export interface ContractOptions {
  /** A fresh listen address per call (default "127.0.0.1:0"). */
  listenAddress?: () => string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pattern bytes that make a wrong offset or a reordered chunk visible. */
function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the promise to reject");
}

/** Registers the contract cases for one transport under `describe(name)`. */
export function runTransportContract(
  name: string,
  makeTransport: () => Transport | Promise<Transport>,
  options: ContractOptions = {},
): void {
  const listenAddress = options.listenAddress ?? (() => "127.0.0.1:0");
  describe(`transport contract: ${name}`, () => {
    const listeners: Listener[] = [];
    const links: Link[] = [];
    afterEach(async () => {
      for (const l of links.splice(0)) l.close();
      for (const l of listeners.splice(0)) await l.close();
    });

    async function pair(handler: Partial<PeerHandler>, address = listenAddress()) {
      const server = await makeTransport();
      const client = await makeTransport();
      const full: PeerHandler = {
        onRequest: handler.onRequest ?? ((_f, p) => p),
        onMessage: handler.onMessage ?? (() => {}),
      };
      const listener = await server.listen(address, full);
      listeners.push(listener);
      const link = client.connect(listener.address, "client-node");
      links.push(link);
      return { server, client, listener, link, handler: full };
    }

    test("request/response carries payload and the caller's address", async () => {
      const { link } = await pair({ onRequest: (from, p) => enc.encode(`${from}:${dec.decode(p)}`) });
      expect(dec.decode(await link.request(enc.encode("ping")))).toBe("client-node:ping");
      expect(dec.decode(await link.request(new Uint8Array(0)))).toBe("client-node:");
    });

    test("one-way messages arrive in order", async () => {
      const got: string[] = [];
      const { link } = await pair({ onMessage: (from, p) => got.push(`${from}/${dec.decode(p)}`) });
      for (let i = 0; i < 50; i++) link.send(enc.encode(String(i)));
      for (let i = 0; i < 200 && got.length < 50; i++) await sleep(10);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `client-node/${i}`));
    });

    test("a handler error rejects the request instead of hanging", async () => {
      const { link } = await pair({
        onRequest: () => {
          throw new Error("boom");
        },
      });
      const err = await rejection(link.request(enc.encode("x"), 2000));
      expect(String(err)).toContain("boom");
    });

    test("large messages (4 MiB) round-trip intact", async () => {
      const big = pattern(4 * 1024 * 1024, 42);
      const { link } = await pair({ onRequest: (_f, p) => p.slice().reverse() });
      const reply = await link.request(big, 20_000);
      expect(reply.length).toBe(big.length);
      expect(Buffer.compare(reply.slice().reverse(), big)).toBe(0);
    });

    test("1000 concurrent requests are matched to their own responses", async () => {
      const { link } = await pair({
        onRequest: async (_f, p) => {
          if (p[0]! % 3 === 0) await sleep(1); // complete out of order
          return enc.encode(`r${dec.decode(p)}`);
        },
      });
      const replies = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => link.request(enc.encode(String(i)), 20_000)),
      );
      expect(replies.map((r) => dec.decode(r))).toEqual(Array.from({ length: 1000 }, (_, i) => `r${i}`));
    });

    test("request timeout rejects with TransportError('timeout')", async () => {
      const { link } = await pair({ onRequest: () => new Promise<Uint8Array>(() => {}) });
      const err = await rejection(link.request(enc.encode("x"), 100));
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).code).toBe("timeout");
    });

    test("closed peer rejects pending requests promptly with TransportError('closed')", async () => {
      let arrived!: () => void;
      const inHandler = new Promise<void>((r) => (arrived = r));
      const { link, listener } = await pair({
        onRequest: () => {
          arrived();
          return new Promise<Uint8Array>(() => {});
        },
      });
      const pending = rejection(link.request(enc.encode("x"), 30_000));
      await inHandler;
      const t0 = performance.now();
      await listener.close();
      const err = await pending;
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).code).toBe("closed");
      expect(performance.now() - t0).toBeLessThan(10_000); // far below the 30 s request timeout
    });

    test("link.close() rejects pending and later requests with 'closed'", async () => {
      const { link } = await pair({ onRequest: () => new Promise<Uint8Array>(() => {}) });
      const pending = rejection(link.request(enc.encode("x"), 30_000));
      await sleep(20);
      link.close();
      expect(((await pending) as TransportError).code).toBe("closed");
      expect(((await rejection(link.request(enc.encode("y")))) as TransportError).code).toBe("closed");
    });

    test("the same link reconnects after the peer restarts", async () => {
      const { link, listener, server, handler } = await pair({ onRequest: () => enc.encode("first") });
      expect(dec.decode(await link.request(enc.encode("a")))).toBe("first");
      await listener.close();
      const down = await rejection(link.request(enc.encode("b"), 1000));
      expect(down).toBeInstanceOf(TransportError);
      const again = await server.listen(listener.address, { ...handler, onRequest: () => enc.encode("second") });
      listeners.push(again);
      let reply = "";
      for (let i = 0; i < 50 && reply === ""; i++) {
        try {
          reply = dec.decode(await link.request(enc.encode("c"), 2000));
        } catch {
          await sleep(20);
        }
      }
      expect(reply).toBe("second");
    });

    test("slow receiver: back-pressure loses nothing and keeps order", async () => {
      const got: number[] = [];
      let busy = 0;
      const { link } = await pair({
        onMessage: (_f, p) => {
          got.push(p[0]! | (p[1]! << 8));
          const until = performance.now() + 0.5;
          while (performance.now() < until) busy++; // a receiver slower than the sender
        },
        onRequest: async (_f, p) => {
          await sleep(2);
          return p.subarray(0, 8);
        },
      });
      const chunk = 256 * 1024;
      for (let i = 0; i < 128; i++) {
        const m = pattern(chunk, i + 1);
        m[0] = i & 0xff;
        m[1] = i >> 8;
        link.send(m);
      }
      const replies = await Promise.all(
        Array.from({ length: 64 }, (_, i) => link.request(pattern(64 * 1024, 1000 + i), 30_000)),
      );
      expect(replies.map((r) => [...r])).toEqual(
        Array.from({ length: 64 }, (_, i) => [...pattern(64 * 1024, 1000 + i).subarray(0, 8)]),
      );
      for (let i = 0; i < 500 && got.length < 128; i++) await sleep(10);
      expect(got).toEqual(Array.from({ length: 128 }, (_, i) => i));
      expect(busy).toBeGreaterThan(0);
    });
  });
}
