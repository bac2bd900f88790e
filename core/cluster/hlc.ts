/**
 * Hybrid logical clock (Kulkarni et al.) packed into one float64-safe integer:
 * `version = physicalMs * 4096 + logical`. Versions order writes across nodes
 * (last-writer-wins) without trusting wall clocks to be monotonic or in sync.
 *
 * Encoding limit: Unix milliseconds up to 2^53 / 4096 ≈ 2.199e12 (September
 * 2039) stay exact; {@link HybridClock} throws beyond that instead of
 * silently losing precision.
 */
import type { Clock } from "../clock.ts";

/** Number of logical ticks per physical millisecond (12 bits). */
export const LOGICAL_RANGE = 4096;

/** Physical milliseconds encoded in a version. */
export function physicalOf(version: number): number {
  return Math.floor(version / LOGICAL_RANGE);
}

/** Logical counter encoded in a version (0..4095). */
export function logicalOf(version: number): number {
  return version % LOGICAL_RANGE;
}

/** Builds a version from its parts; `logical` must be in [0, 4096). */
export function encodeVersion(physicalMs: number, logical: number): number {
  return physicalMs * LOGICAL_RANGE + logical;
}

/** Raised when a remote version is further ahead of local wall time than allowed. */
export class ClockDriftError extends Error {
  constructor(
    readonly remotePhysicalMs: number,
    readonly localPhysicalMs: number,
    readonly maxDriftMs: number,
  ) {
    super(
      `HLC: remote clock is ${remotePhysicalMs - localPhysicalMs} ms ahead of local wall time ` +
        `(max drift ${maxDriftMs} ms); check NTP on the sending node`,
    );
    this.name = "ClockDriftError";
  }
}

/** Options for {@link HybridClock}. */
export interface HybridClockOptions {
  /** Reject remote versions more than this many ms ahead of local wall time (default 60 000). */
  maxDriftMs?: number;
}

/**
 * Monotonic hybrid logical clock over an injected {@link Clock}.
 * Every value returned by {@link now} or {@link update} is strictly greater
 * than every value this instance returned or observed before.
 */
export class HybridClock {
  private last = 0;
  readonly maxDriftMs: number;

  constructor(
    private readonly clock: Clock,
    options: HybridClockOptions = {},
  ) {
    this.maxDriftMs = options.maxDriftMs ?? 60_000;
  }

  /** A fresh version for a local event (a write). */
  now(): number {
    return this.advance(this.wall());
  }

  /**
   * Merges a version received from a peer and returns a fresh local version
   * greater than both. Throws {@link ClockDriftError} (leaving the clock
   * unchanged) if `remote` is more than `maxDriftMs` ahead of local wall time.
   */
  update(remote: number): number {
    if (!Number.isSafeInteger(remote) || remote < 0) {
      throw new RangeError(`HLC: remote version must be a non-negative safe integer, got ${remote}`);
    }
    const wall = this.wall();
    const remotePhysical = physicalOf(remote);
    if (remotePhysical - physicalOf(wall) > this.maxDriftMs) {
      throw new ClockDriftError(remotePhysical, physicalOf(wall), this.maxDriftMs);
    }
    if (remote > this.last) this.last = remote;
    return this.advance(wall);
  }

  /**
   * Why `remote` must not be taken (it is more than `maxDriftMs` ahead of
   * local wall time, or not a version at all), or null when it may; the
   * clock is not changed.
   */
  refusal(remote: number): string | null {
    if (!Number.isSafeInteger(remote) || remote < 0) return `HLC: remote version must be a non-negative safe integer, got ${remote}`;
    const ahead = physicalOf(remote) - physicalOf(this.wall());
    return ahead > this.maxDriftMs ? new ClockDriftError(physicalOf(remote), physicalOf(this.wall()), this.maxDriftMs).message : null;
  }

  /**
   * Raises the clock to at least `version` (this node's own clock saved in a
   * snapshot), without the drift check {@link update} applies to peers.
   */
  restore(version: number): void {
    if (Number.isSafeInteger(version) && version > this.last) this.last = version;
  }

  /** The last version issued or observed, without ticking. */
  peek(): number {
    return this.last;
  }

  private wall(): number {
    return encodeVersion(Math.max(0, Math.floor(this.clock.now())), 0);
  }

  /** max(last + 1, wall): a logical overflow carries into the physical part. */
  private advance(wall: number): number {
    const next = wall > this.last ? wall : this.last + 1;
    if (!Number.isSafeInteger(next)) {
      throw new RangeError("HLC: version exceeds 2^53; physical time is past the encoding limit (2039)");
    }
    this.last = next;
    return next;
  }
}
