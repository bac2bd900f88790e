/**
 * Lifeguard suspicion timer (Dadgar et al., "Lifeguard: Local Health
 * Awareness for More Accurate Failure Detection"). A suspicion starts with
 * the maximum timeout and shrinks logarithmically towards the minimum as
 * independent members confirm it:
 *   timeout(c) = max(min, max − (max − min) · log(c + 1) / log(k + 1))
 * where c is the number of distinct confirmers and k the number expected.
 */
import type { Clock, Timer } from "../clock.ts";

/** A running suspicion about one member. */
export class Suspicion {
  /** Backed by refused connections (the short timeout of Membership's refusal path): further refusals leave it be. */
  refused = false;
  private readonly confirmers = new Set<string>();
  private readonly start: number;
  private timer: Timer | undefined;
  private fired = false;

  /**
   * @param from the member whose report started the suspicion (not counted as a confirmation)
   * @param k confirmations expected; 0 means the minimum timeout applies at once
   * @param onTimeout called once when the timeout elapses
   */
  constructor(
    private readonly clock: Clock,
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly onTimeout: (confirmations: number) => void,
  ) {
    this.confirmers.add(from);
    this.start = clock.monotonic();
    this.arm();
  }

  /** Number of independent confirmations so far. */
  get confirmations(): number {
    return this.confirmers.size - 1;
  }

  /** Current timeout, measured from the start of the suspicion. */
  timeoutMs(): number {
    if (this.k < 1) return this.minMs;
    const c = this.confirmations;
    const frac = Math.log(c + 1) / Math.log(this.k + 1);
    return Math.max(this.minMs, Math.floor(this.maxMs - (this.maxMs - this.minMs) * frac));
  }

  /** Records a confirmation from `from`; returns true if it was new (and so worth re-gossiping). */
  confirm(from: string): boolean {
    if (this.fired || this.confirmations >= this.k || this.confirmers.has(from)) return false;
    this.confirmers.add(from);
    this.arm();
    return true;
  }

  /** Stops the timer (refuted or superseded). */
  cancel(): void {
    this.timer?.cancel();
    this.fired = true;
  }

  private arm(): void {
    this.timer?.cancel();
    const remaining = Math.max(0, this.start + this.timeoutMs() - this.clock.monotonic());
    this.timer = this.clock.setTimer(remaining, () => {
      if (this.fired) return;
      this.fired = true;
      this.onTimeout(this.confirmations);
    });
  }
}
