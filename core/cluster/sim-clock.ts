/**
 * Deterministic simulated {@link Clock}: time moves only when the test calls
 * {@link SimClock.advance}, and timers fire in (due time, creation order).
 * After each timer the microtask queue is drained a bounded number of turns,
 * so promise chains started by a timer (transport delivery, async handlers)
 * settle before the next timer runs. Same inputs, same order, every run.
 */
import type { Clock, Timer } from "../clock.ts";

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Microtask turns drained after each timer callback. */
const SETTLE_TURNS = 40;

/** A simulated clock with a timer heap. */
export class SimClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: Scheduled[] = [];

  /** @param wallStartMs wall-clock value (`now()`) at simulated time 0. */
  constructor(private readonly wallStartMs = 1_700_000_000_000) {}

  now(): number {
    return this.wallStartMs + this.t;
  }

  monotonic(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const item: Scheduled = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(item);
    return { cancel: () => void (item.cancelled = true) };
  }

  /** Number of timers not yet fired or cancelled. */
  get pending(): number {
    return this.heap.filter((s) => !s.cancelled).length;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way (including
   * timers those timers schedule) in order. Errors thrown by a callback propagate.
   */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      const next = this.heap[0];
      if (!next || next.at > target) break;
      this.pop();
      if (next.cancelled) continue;
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = target;
  }

  private push(item: Scheduled): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

async function settle(): Promise<void> {
  for (let i = 0; i < SETTLE_TURNS; i++) await Promise.resolve();
}
