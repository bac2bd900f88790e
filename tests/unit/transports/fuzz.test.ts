/**
 * Peer-port fuzzing: mutated frame streams (bit flips, truncation, splices,
 * random lengths, random chunking) into the frame reader and into a live TCP
 * listener, with and without the cluster key. Invariants: nothing throws or
 * hangs, the listener keeps serving, and with a key only authentic payloads
 * ever reach a handler.
 *
 * CI slice by default; the full run is
 *   SHOAL_FUZZ_FRAMES=1000000 SHOAL_FUZZ_SOCKETS=20000 bun test tests/unit/transports/fuzz.test.ts
 */
import { afterAll, describe, expect, test } from "bun:test";
import { SeededRng } from "../../../core/clock.ts";
import { encodeFrame, FrameReader, FrameType, type FrameTypeCode } from "../../../core/wire/framing.ts";
import { keyBytes, NodeHmacSigner, PeerChannel } from "../../../transports/framing.ts";
import { TcpTransport } from "../../../transports/tcp.ts";

const FRAMES = Number(process.env.SHOAL_FUZZ_FRAMES ?? 20_000);
const SOCKETS = Number(process.env.SHOAL_FUZZ_SOCKETS ?? 150);
const SEED = Number(process.env.SHOAL_FUZZ_SEED ?? 20261123);
const KEY = "fuzz-cluster-key-0123456789abcdef";
const signer = new NodeHmacSigner(KEY);

function frame(rng: SeededRng, keyed: boolean): { bytes: Uint8Array; payload: Uint8Array } {
  const payload = new Uint8Array(rng.int(64));
  for (let i = 0; i < payload.length; i++) payload[i] = rng.int(256);
  const type = (1 + rng.int(5)) as FrameTypeCode;
  const f = encodeFrame(type, rng.int(1000), payload, keyed);
  return { bytes: keyed ? signer.seal(f) : f, payload };
}

function mutate(rng: SeededRng, input: Uint8Array): Uint8Array {
  let b = input.slice();
  switch (rng.int(5)) {
    case 0: // bit flips
      for (let k = 0, n = 1 + rng.int(4); k < n; k++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      break;
    case 1: // truncate
      b = b.subarray(0, rng.int(b.length));
      break;
    case 2: {
      // hostile length field
      const v = new DataView(b.buffer, b.byteOffset);
      if (b.length >= 12) v.setUint32(8, [0xffffffff, 0x7fffffff, rng.int(1 << 20), 0][rng.int(4)]!);
      break;
    }
    case 3: {
      // splice random garbage in
      const junk = new Uint8Array(1 + rng.int(32)).map(() => rng.int(256));
      const at = rng.int(b.length + 1);
      b = new Uint8Array([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
      break;
    }
    default: // header byte soup
      for (let i = 0; i < Math.min(12, b.length); i++) if (rng.next() < 0.3) b[i] = rng.int(256);
  }
  return b;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("peer frame fuzz", () => {
  for (const keyed of [false, true]) {
    test(`frame reader survives ${FRAMES} mutated frames (${keyed ? "with" : "without"} cluster key)`, () => {
      const rng = new SeededRng(SEED + (keyed ? 1 : 0));
      let delivered = 0;
      for (let n = 0; n < FRAMES; n += 4) {
        const originals = Array.from({ length: 4 }, () => frame(rng, keyed));
        const authentic = new Set(originals.map((o) => hex(o.payload)));
        const stream = new Uint8Array(originals.flatMap((o) => [...o.bytes]));
        const bad = mutate(rng, stream);
        const reader = new FrameReader({
          maxFrameBytes: 1 << 16,
          auth: keyed ? signer : undefined,
          onFrame: (f) => {
            delivered++;
            expect(f.payload.length).toBeLessThanOrEqual(1 << 16);
            if (keyed && !authentic.has(hex(f.payload))) throw new Error(`forged frame accepted (seed ${SEED}, n ${n})`);
          },
          onError: () => {},
        });
        for (let at = 0; at < bad.length; ) {
          const step = 1 + rng.int(40);
          reader.push(bad.subarray(at, at + step));
          at += step;
        }
      }
      expect(delivered).toBeGreaterThan(0);
    });
  }

  test(`a keyed TCP listener survives ${SOCKETS} hostile connections and only authentic data reaches it`, async () => {
    const rng = new SeededRng(SEED + 7);
    const seen: string[] = [];
    const authentic = new Set<string>();
    const t = new TcpTransport({ clusterKey: KEY, helloTimeoutMs: 500, maxFrameBytes: 1 << 16 });
    const l = await t.listen("127.0.0.1:0", {
      onRequest: (_f, p) => {
        seen.push(hex(p));
        return p;
      },
      onMessage: (_f, p) => void seen.push(hex(p)),
    });
    afterAll(() => l.close());
    const [host, port] = [l.address.split(":")[0]!, Number(l.address.split(":")[1])];
    for (let c = 0; c < SOCKETS; c += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, SOCKETS - c) }, async (_, k) => {
          const s = await Bun.connect({ hostname: host, port, socket: { data: (_s, d) => channel?.onData(d), error() {} } });
          let channel: PeerChannel | undefined;
          const frames = Array.from({ length: 3 }, () => frame(rng, false));
          if ((c + k) % 2 === 0) {
            // A raw stranger: mutated frames with a hello and no key exchange.
            const hello = encodeFrame(FrameType.hello, 0, new TextEncoder().encode("fuzzer"), false);
            s.write(mutate(rng, new Uint8Array([...hello, ...frames.flatMap((f) => [...f.bytes])])));
          } else {
            // A real member whose outgoing bytes get corrupted on the wire after the key exchange.
            let writes = 0;
            const corrupting = {
              write: (d: Uint8Array) => s.write(++writes > 1 && rng.next() < 0.7 ? mutate(rng, d) : d),
              end: () => s.end(),
            };
            channel = new PeerChannel(corrupting, { clusterKey: keyBytes(KEY), role: "dialer" }, {
              onFrame() {},
              onError() {},
            });
            channel.sendFrame(FrameType.hello, 0, new TextEncoder().encode("member"));
            for (const f of frames) {
              authentic.add(hex(f.payload));
              channel.sendFrame(rng.next() < 0.5 ? FrameType.request : FrameType.oneway, rng.int(100), f.payload);
            }
          }
          await Bun.sleep(5);
          s.end();
        }),
      );
    }
    await Bun.sleep(50);
    for (const p of seen) expect(authentic.has(p)).toBe(true);
    expect(seen.length).toBeGreaterThan(0); // some member traffic got through uncorrupted
    const link = t.connect(l.address, "good");
    expect(new TextDecoder().decode(await link.request(new TextEncoder().encode("alive")))).toBe("alive");
    link.close();
  });
});
