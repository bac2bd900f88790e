import { describe, expect, test } from "bun:test";
import { TransportError } from "../../../core/transport.ts";
import {
  encodeFrame,
  type Frame,
  FrameAuthenticator,
  FrameReader,
  FrameType,
  HEADER_BYTES,
  MAC_BYTES,
} from "../../../core/wire/framing.ts";

function reader(opts: { max?: number; auth?: FrameAuthenticator } = {}) {
  const frames: Frame[] = [];
  const errors: TransportError[] = [];
  const r = new FrameReader({
    maxFrameBytes: opts.max,
    auth: opts.auth,
    onFrame: (f) => frames.push(f),
    onError: (e) => errors.push(e),
  });
  return { r, frames, errors };
}

/** Lets the asynchronous HMAC checks (WebCrypto) finish; generous, since a loaded machine can take a while. */
const settle = () => new Promise((r) => setTimeout(r, 100));

describe("framing", () => {
  test("round-trips frames split at every byte boundary", () => {
    const a = encodeFrame(FrameType.request, 7, new Uint8Array([1, 2, 3]), false);
    const b = encodeFrame(FrameType.oneway, 0, new Uint8Array(0), false);
    const c = encodeFrame(FrameType.response, 0xffffffff, new Uint8Array(300).fill(9), false);
    const stream = new Uint8Array([...a, ...b, ...c]);
    for (let cut = 1; cut < stream.length; cut += 7) {
      const { r, frames, errors } = reader();
      r.push(stream.subarray(0, cut));
      r.push(stream.subarray(cut));
      expect(errors).toEqual([]);
      expect(frames.map((f) => [f.type, f.id, f.payload.length])).toEqual([
        [FrameType.request, 7, 3],
        [FrameType.oneway, 0, 0],
        [FrameType.response, 0xffffffff, 300],
      ]);
      expect([...frames[0]!.payload]).toEqual([1, 2, 3]);
    }
  });

  test("oversized frames are refused on both ends with too-large", () => {
    expect(() => encodeFrame(FrameType.request, 1, new Uint8Array(101), false, 100)).toThrow(TransportError);
    try {
      encodeFrame(FrameType.request, 1, new Uint8Array(101), false, 100);
    } catch (e) {
      expect((e as TransportError).code).toBe("too-large");
    }
    const { r, frames, errors } = reader({ max: 100 });
    r.push(encodeFrame(FrameType.request, 1, new Uint8Array(101), false).subarray(0, HEADER_BYTES));
    expect(frames).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(["too-large"]);
  });

  test("garbage header is refused", () => {
    const { r, errors } = reader();
    r.push(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    expect(errors.map((e) => e.code)).toEqual(["refused"]);
  });

  test("HMAC: authentic frames pass, unauthenticated, wrong-key and tampered frames are refused", async () => {
    const auth = await FrameAuthenticator.fromSecret("cluster-secret-0123456789");
    const stranger = await FrameAuthenticator.fromSecret("some-other-secret-xyz");
    const sealed = await auth.seal(encodeFrame(FrameType.oneway, 0, new Uint8Array([5, 6, 7]), true));
    expect(sealed.length).toBe(HEADER_BYTES + 3 + MAC_BYTES);

    const ok = reader({ auth });
    ok.r.push(sealed);
    await settle();
    expect(ok.frames.map((f) => [...f.payload])).toEqual([[5, 6, 7]]);

    const plain = reader({ auth });
    plain.r.push(encodeFrame(FrameType.oneway, 0, new Uint8Array([5]), false));
    await settle();
    expect(plain.frames).toEqual([]);
    expect(plain.errors.map((e) => e.code)).toEqual(["refused"]);

    const foreign = reader({ auth });
    foreign.r.push(await stranger.seal(encodeFrame(FrameType.oneway, 0, new Uint8Array([5]), true)));
    await settle();
    expect(foreign.frames).toEqual([]);
    expect(foreign.errors.length).toBe(1);

    // Flip every byte of the payload and MAC in turn: each must be refused, never delivered.
    for (let i = HEADER_BYTES; i < sealed.length; i++) {
      const bad = sealed.slice();
      bad[i] = bad[i]! ^ 0x40;
      const t = reader({ auth });
      t.r.push(bad);
      await settle();
      expect(t.frames).toEqual([]);
      expect(t.errors.length).toBe(1);
    }
  });

  test("with a key, frames after a bad one are not delivered", async () => {
    const auth = await FrameAuthenticator.fromSecret("k".repeat(32));
    const good = await auth.seal(encodeFrame(FrameType.oneway, 0, new Uint8Array([1]), true));
    const bad = (await auth.seal(encodeFrame(FrameType.oneway, 0, new Uint8Array([2]), true))).slice();
    bad[HEADER_BYTES] = 3;
    const { r, frames, errors } = reader({ auth });
    r.push(new Uint8Array([...good, ...bad, ...good]));
    await settle();
    expect(frames.map((f) => f.payload[0])).toEqual([1]);
    expect(errors.length).toBe(1);
  });
});
