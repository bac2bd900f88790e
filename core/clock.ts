/**
 * Time and randomness seams. Core code never calls Date.now, setTimeout or
 * Math.random directly: it receives a Clock and an Rng, so the simulator can
 * drive whole clusters deterministically.
 */

/** A cancellable timer handle returned by {@link Clock.setTimer}. */
export interface Timer {
  cancel(): void;
}

/** Wall and monotonic time plus timers, in milliseconds. */
export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (may jump, may be skewed). */
  now(): number;
  /** Monotonic milliseconds from an arbitrary origin; never goes backwards. */
  monotonic(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): Timer;
  /**
   * Runs `fn` once the I/O callbacks of the current event-loop turn have run
   * (setImmediate), so work queued while reading every ready connection goes
   * out together. Optional: callers without it fall back to a microtask
   * (the simulator's clocks leave it out, keeping their schedules as they were).
   */
  afterTurn?(fn: () => void): void;
}

/** A seeded source of randomness. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/**
 * Deterministic PRNG (sfc32 seeded through splitmix32). Same seed, same
 * sequence, on every runtime.
 */
export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/**
 * The real clock (Date.now, performance.now, setTimeout). This is the one
 * place core touches real time; everything else receives a Clock.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    (t as { unref?: () => void }).unref?.();
    return { cancel: () => clearTimeout(t) };
  },
  // Bun and Node run immediates after the turn's socket callbacks (each of which drains its own microtasks first)
  afterTurn: typeof setImmediate === "function" ? (fn) => void setImmediate(fn) : (fn) => void setTimeout(fn, 0),
};

/** A PRNG seeded from crypto.getRandomValues (WebCrypto, on every runtime). */
export function systemRng(): Rng {
  const seed = new Uint32Array(1);
  crypto.getRandomValues(seed);
  return new SeededRng(seed[0]!);
}
