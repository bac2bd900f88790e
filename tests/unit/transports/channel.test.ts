import { describe, expect, test } from "bun:test";
import { encodeFrame, type Frame, FrameAuthenticator, FrameType, MAC_BYTES } from "../../../core/wire/framing.ts";
import { NodeHmacSigner, PeerChannel, type StreamSocket } from "../../../transports/framing.ts";

/** A socket whose kernel buffer takes at most `room` bytes until drained. */
class TightSocket implements StreamSocket {
  written: Uint8Array[] = [];
  room = 1000;
  writes = 0;
  write(data: Uint8Array): number {
    this.writes++;
    const n = Math.min(this.room, data.length);
    this.room -= n;
    this.written.push(data.slice(0, n));
    return n;
  }
  end(): void {}
}

test("partial writes are resumed on drain and the byte stream stays intact", async () => {
  const sock = new TightSocket();
  const ch = new PeerChannel(sock, { role: "dialer" }, { onFrame: () => {}, onError: () => {} });
  for (let i = 0; i < 20; i++) ch.sendFrame(FrameType.oneway, 0, new Uint8Array(700).fill(i));
  await Promise.resolve();
  expect(sock.room).toBe(0);
  expect(ch.queuedBytes).toBe(20 * (12 + 700) - 1000);
  for (let i = 0; i < 100 && ch.queuedBytes > 0; i++) {
    sock.room = 1500;
    ch.onDrain();
  }
  expect(ch.queuedBytes).toBe(0);
  const frames: Frame[] = [];
  const rx = new PeerChannel(sock, { role: "dialer" }, { onFrame: (f) => frames.push(f), onError: (e) => frames.push(e as never) });
  for (const part of sock.written) rx.onData(part);
  expect(frames.map((f) => [f.payload.length, f.payload[0], f.payload[699]])).toEqual(
    Array.from({ length: 20 }, (_, i) => [700, i, i]),
  );
});

test("NodeHmacSigner and the WebCrypto FrameAuthenticator produce the same MACs", async () => {
  const secret = "interop-cluster-key-0123456789";
  const sync = new NodeHmacSigner(secret);
  const web = await FrameAuthenticator.fromSecret(secret);
  const frame = encodeFrame(FrameType.request, 9, new Uint8Array([1, 2, 3, 4]), true);
  const a = sync.seal(frame.slice());
  const b = await web.seal(frame.slice());
  expect(Buffer.compare(a, b)).toBe(0);
  const body = a.subarray(0, a.length - MAC_BYTES);
  const mac = a.subarray(a.length - MAC_BYTES);
  expect(await web.verify(body, mac)).toBe(true);
  expect(sync.verify(body, mac)).toBe(true);
  const forged = mac.slice();
  forged[0] = forged[0]! ^ 1;
  expect(sync.verify(body, forged)).toBe(false);
  expect(new NodeHmacSigner("another-key-entirely-xx").verify(body, mac)).toBe(false);
});

/** A socket that hands every write to `deliver` and keeps a copy. */
class Pipe implements StreamSocket {
  log: Uint8Array[] = [];
  deliver: (b: Uint8Array) => void = () => {};
  write(data: Uint8Array): number {
    const copy = data.slice();
    this.log.push(copy);
    this.deliver(copy);
    return data.length;
  }
  end(): void {}
}

function keyedPair(key: Uint8Array) {
  const aSock = new Pipe();
  const bSock = new Pipe();
  const got = { a: [] as string[], b: [] as string[], aErr: [] as string[], bErr: [] as string[] };
  const a = new PeerChannel(aSock, { clusterKey: key, role: "dialer" }, {
    onFrame: (f) => got.a.push(new TextDecoder().decode(f.payload)),
    onError: (e) => got.aErr.push(e.code),
  });
  const b = new PeerChannel(bSock, { clusterKey: key, role: "listener" }, {
    onFrame: (f) => got.b.push(new TextDecoder().decode(f.payload)),
    onError: (e) => got.bErr.push(e.code),
  });
  aSock.deliver = (x) => b.onData(x);
  bSock.deliver = (x) => a.onData(x);
  return { a, b, aSock, bSock, got };
}

const tick = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("keyed sessions", () => {
  const key = new TextEncoder().encode("session-cluster-key-0123456789");
  const msg = (s: string) => new TextEncoder().encode(s);

  test("frames sent before the nonce exchange are delivered once it completes", async () => {
    const { a, b, got } = keyedPair(key);
    a.sendFrame(FrameType.oneway, 0, msg("early"));
    b.sendFrame(FrameType.oneway, 0, msg("back"));
    await tick();
    a.sendFrame(FrameType.oneway, 0, msg("later"));
    await tick();
    expect(got).toEqual({ a: ["back"], b: ["early", "later"], aErr: [], bErr: [] });
  });

  test("a dialer's byte stream replayed on a new connection is refused", async () => {
    const first = keyedPair(key);
    first.a.sendFrame(FrameType.oneway, 0, msg("delete everything"));
    await tick();
    expect(first.got.b).toEqual(["delete everything"]);
    const second = keyedPair(key); // a fresh listener with a fresh nonce
    for (const chunk of first.aSock.log) second.b.onData(chunk);
    await tick();
    expect(second.got.b).toEqual([]);
    expect(second.got.bErr).toEqual(["refused"]);
  });

  test("a frame duplicated inside a session, or reflected back, is refused", async () => {
    const { a, b, aSock, bSock, got } = keyedPair(key);
    await tick();
    a.sendFrame(FrameType.oneway, 0, msg("once"));
    await tick();
    const frameBytes = aSock.log.at(-1)!;
    b.onData(frameBytes);
    await tick();
    expect(got.b).toEqual(["once"]);
    expect(got.bErr).toEqual(["refused"]);
    // Reflection: the dialer's own frame sent back to it fails the direction check.
    const other = keyedPair(key);
    await tick();
    other.a.sendFrame(FrameType.oneway, 0, msg("mirror"));
    await tick();
    other.a.onData(other.aSock.log.at(-1)!);
    expect(other.got.a).toEqual([]);
    expect(other.got.aErr).toEqual(["refused"]);
    expect(bSock.log.length).toBeGreaterThan(0);
    b.end();
    a.end();
  });

  test("keyed and unkeyed ends refuse each other", async () => {
    const aSock = new Pipe();
    const bSock = new Pipe();
    const errs: string[] = [];
    const a = new PeerChannel(aSock, { clusterKey: key, role: "dialer" }, { onFrame: () => {}, onError: (e) => errs.push(`a:${e.code}`) });
    const b = new PeerChannel(bSock, { role: "listener" }, { onFrame: () => {}, onError: (e) => errs.push(`b:${e.code}`) });
    bSock.deliver = (x) => a.onData(x); // only the unkeyed side talks: the keyed end refuses plain frames
    b.sendFrame(FrameType.oneway, 0, msg("plain"));
    await tick();
    expect(errs).toEqual(["a:refused"]);
    const c = new PeerChannel(new Pipe(), { role: "listener" }, { onFrame: () => {}, onError: (e) => errs.push(`c:${e.code}`) });
    for (const chunk of aSock.log) c.onData(chunk); // the keyed side's nonce: the unkeyed end refuses it
    expect(errs).toEqual(["a:refused", "c:refused"]);
  });
});
