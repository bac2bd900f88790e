import { expect, test } from "bun:test";
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
  const ch = new PeerChannel(sock, {}, { onFrame: () => {}, onError: () => {} });
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
  const rx = new PeerChannel(sock, {}, { onFrame: (f) => frames.push(f), onError: (e) => frames.push(e as never) });
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
