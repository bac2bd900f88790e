import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { crc32c } from "../../../core/snapshot/crc32c.ts";

const enc = new TextEncoder();

describe("crc32c", () => {
  test("known check values (RFC 3720 / iSCSI)", () => {
    expect(crc32c(enc.encode("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  test("continuing over pieces equals one pass; offsets are honoured (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (b, cutSeed) => {
        const cut = b.length === 0 ? 0 : cutSeed % (b.length + 1);
        const whole = crc32c(b);
        expect(crc32c(b, cut, b.length - cut, crc32c(b, 0, cut))).toBe(whole);
        const padded = new Uint8Array(b.length + 7);
        padded.set(b, 3);
        expect(crc32c(padded, 3, b.length)).toBe(whole);
      }),
      { numRuns: 300 },
    );
  });

  test("any single flipped byte changes the checksum (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (b, at, mask) => {
        const c = b.slice();
        c[at % c.length]! ^= mask;
        expect(crc32c(c)).not.toBe(crc32c(b));
      }),
      { numRuns: 500 },
    );
  });
});
