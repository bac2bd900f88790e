import type { Clock, Rng } from "../core/clock.ts";
import { SeededRng } from "../core/clock.ts";

/** The process clock: Date.now, performance.now and setTimeout. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    (t as { unref?: () => void }).unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** A PRNG seeded from the OS (crypto.getRandomValues). */
export function systemRng(): Rng {
  const seed = new Uint32Array(1);
  crypto.getRandomValues(seed);
  return new SeededRng(seed[0]!);
}
