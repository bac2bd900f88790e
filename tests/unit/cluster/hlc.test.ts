import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Clock } from "../../../core/clock.ts";
import { ClockDriftError, HybridClock, logicalOf, physicalOf } from "../../../core/cluster/hlc.ts";

/** A wall clock the test moves by hand (can go backwards). */
function manualClock(start: number): Clock & { t: number } {
  const c = {
    t: start,
    now: () => c.t,
    monotonic: () => c.t,
    setTimer: () => ({ cancel() {} }),
  };
  return c;
}

const T0 = 1_763_900_000_000;

describe("HybridClock", () => {
  test("encodes physical ms and a logical counter", () => {
    const clock = manualClock(T0);
    const hlc = new HybridClock(clock);
    const a = hlc.now();
    const b = hlc.now();
    expect(physicalOf(a)).toBe(T0);
    expect(logicalOf(a)).toBe(0);
    expect(logicalOf(b)).toBe(1);
    clock.t = T0 + 5;
    expect(hlc.now()).toBe((T0 + 5) * 4096);
  });

  test("stays monotonic when the wall clock jumps backwards", () => {
    const clock = manualClock(T0);
    const hlc = new HybridClock(clock);
    const a = hlc.now();
    clock.t = T0 - 10_000;
    const b = hlc.now();
    expect(b).toBeGreaterThan(a);
    expect(physicalOf(b)).toBe(T0);
  });

  test("logical overflow carries into the physical part", () => {
    const clock = manualClock(T0);
    const hlc = new HybridClock(clock);
    let v = 0;
    for (let i = 0; i < 4097; i++) v = hlc.now();
    expect(physicalOf(v)).toBe(T0 + 1);
    expect(logicalOf(v)).toBe(0);
  });

  test("update rejects remote versions beyond the drift guard and leaves the clock unchanged", () => {
    const clock = manualClock(T0);
    const hlc = new HybridClock(clock, { maxDriftMs: 1000 });
    const before = hlc.now();
    expect(() => hlc.update((T0 + 1001) * 4096)).toThrow(ClockDriftError);
    expect(hlc.peek()).toBe(before);
    expect(hlc.update((T0 + 1000) * 4096)).toBe((T0 + 1000) * 4096 + 1);
  });

  test("update rejects malformed versions", () => {
    const hlc = new HybridClock(manualClock(T0));
    expect(() => hlc.update(-1)).toThrow(RangeError);
    expect(() => hlc.update(1.5)).toThrow(RangeError);
  });

  test("property: any interleaving of now/update/wall moves is strictly monotonic and update > remote", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("now" as const) }),
      fc.record({ kind: fc.constant("wall" as const), delta: fc.integer({ min: -5000, max: 5000 }) }),
      fc.record({
        kind: fc.constant("update" as const),
        offsetMs: fc.integer({ min: -100_000, max: 60_000 }),
        logical: fc.integer({ min: 0, max: 4095 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const clock = manualClock(T0);
        const hlc = new HybridClock(clock, { maxDriftMs: 60_000 });
        let prev = -1;
        for (const o of ops) {
          if (o.kind === "wall") {
            clock.t += o.delta;
            continue;
          }
          let v: number;
          if (o.kind === "now") v = hlc.now();
          else {
            const remote = (clock.t + o.offsetMs) * 4096 + o.logical;
            v = hlc.update(remote);
            if (v <= remote) return false;
          }
          if (v <= prev) return false;
          if (physicalOf(v) < clock.t) return false;
          prev = v;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
