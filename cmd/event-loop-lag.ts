/**
 * The event-loop lag sampler of a serving process: a timer due every
 * `intervalMs` notes how late it fired (actual minus expected, on the
 * monotonic clock) into the node's {@link EventLoopLag}, which /metrics
 * renders. Lives in cmd/ because it runs on real timers; the Clock's timers
 * are unref'd, so the sampler never keeps a process alive.
 */
import type { Clock, Timer } from "../core/clock.ts";
import type { EventLoopLag } from "../core/stats.ts";

/** Default sampling period in milliseconds. */
export const LAG_SAMPLE_MS = 100;

/** A running sampler; stop() cancels its timer (idempotent). */
export interface LagSampler {
  stop(): void;
}

/**
 * Starts sampling into `into` every `intervalMs` (≥ 1) on `clock` (the system
 * clock in `shoal serve`). A timer chain, not an interval: after a stall the
 * late tick records the whole stall once, then sampling resumes from there.
 */
export function sampleEventLoopLag(into: EventLoopLag, clock: Clock, intervalMs = LAG_SAMPLE_MS): LagSampler {
  const every = Math.max(1, intervalMs);
  let timer: Timer | null = null;
  let stopped = false;
  let expected = clock.monotonic() + every;
  const tick = (): void => {
    if (stopped) return;
    const now = clock.monotonic();
    into.record(now - expected, now);
    expected = now + every;
    timer = clock.setTimer(every, tick);
  };
  into.started(every, expected - every);
  timer = clock.setTimer(every, tick);
  return {
    stop() {
      stopped = true;
      timer?.cancel();
      timer = null;
    },
  };
}
