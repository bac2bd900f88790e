/**
 * One simulated node's view of time, over the shared {@link SimClock}:
 * - skew and jumps: `now()` (wall time) is offset by `offsetMs`, which the
 *   nemesis changes; `monotonic()` never jumps;
 * - pause: while paused, due timers are held and fire, in order, on resume
 *   (a SIGSTOPped process);
 * - stalls: while stalled, every new timer fires `stallMs` late (slow disk, CPU starvation);
 * - death: after {@link NodeClock.kill} no timer of this incarnation fires again.
 */
import type { Clock, Timer } from "../../core/clock.ts";
import type { SimClock } from "../../core/cluster/sim-clock.ts";

/** A per-node clock with skew, pause, stall and death. */
export class NodeClock implements Clock {
  /** Wall-clock offset from simulated time, ms (skew / jumps). */
  offsetMs = 0;
  /** Extra delay added to every timer set while > 0, ms. */
  stallMs = 0;
  private paused = false;
  private dead = false;
  private held: (() => void)[] = [];

  constructor(private readonly sim: SimClock) {}

  now(): number {
    return this.sim.now() + this.offsetMs;
  }

  monotonic(): number {
    return this.sim.monotonic();
  }

  setTimer(ms: number, fn: () => void): Timer {
    let cancelled = false;
    const t = this.sim.setTimer(ms + this.stallMs, () => {
      if (cancelled || this.dead) return;
      if (this.paused) this.held.push(() => cancelled || this.dead || fn());
      else fn();
    });
    return {
      cancel: () => {
        cancelled = true;
        t.cancel();
      },
    };
  }

  /** Whether this incarnation was killed. */
  get isDead(): boolean {
    return this.dead;
  }

  /** Whether the node is paused. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Holds every timer until {@link resume}. */
  pause(): void {
    this.paused = true;
  }

  /** Fires the held timers (through the sim clock, in their order) and runs normally again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const fn of held) this.sim.setTimer(0, fn);
  }

  /** Stops this incarnation for good: its timers never fire again. */
  kill(): void {
    this.dead = true;
    this.held = [];
  }
}
