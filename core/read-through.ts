/**
 * Read-through loading for maps (`getOrLoad`): a missing key is loaded once
 * by the caller's loader, stored with its TTL, and handed to everyone who
 * asked meanwhile.
 *
 * Coalescing happens at two levels:
 * - per node: concurrent `getOrLoad` calls for one key on one member share
 *   one loader call (and its error, if it throws);
 * - cluster-wide (a clustered member's maps): the loading member holds the
 *   key's lock on its owner (DM.LOCK, routed like any key) while its loader
 *   runs; members that find the key missing meanwhile poll — the value, then
 *   the lock, with a growing pause (forwarded commands must not block for
 *   long) — and take the value it stored instead of loading it again. A
 *   loader runs in the process that called it, so the lock (not the owner)
 *   decides who loads. If the loader fails, the lock is released and the
 *   next member to get it loads with its own loader; a member that cannot
 *   get the lock within the lease (or cannot reach the owner) loads anyway:
 *   a second load beats no answer.
 */
import type { Bytes, LoadOptions, LockGrant, PutOptions } from "./api.ts";
import type { Clock } from "./clock.ts";
import { ShoalError } from "./errors.ts";
import { parseDuration } from "./units.ts";

/** What a read-through needs of a map. */
export interface LoadTarget {
  get(key: Bytes): Uint8Array | null | Promise<Uint8Array | null>;
  put(key: Bytes, value: Bytes, opts?: PutOptions): boolean | Promise<boolean>;
  /** Present for cluster-wide coalescing. */
  lock?(key: Bytes, leaseMs: number, waitMs: number): Promise<LockGrant | null>;
  unlock?(key: Bytes, token: string): boolean | Promise<boolean>;
}

/** The loader of a missing key: the value to store, or null for "no such value" (nothing stored). */
export type Loader = (key: Bytes) => Bytes | null | Promise<Bytes | null>;

/** Default time a loader may hold the cluster-wide lock, ms. */
export const DEFAULT_LOAD_LEASE_MS = 30_000;

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** Counts of a read-through (tests and stats). */
export interface ReadThroughStats {
  /** Calls answered from the map. */
  hits: number;
  /** Loader calls made by this member. */
  loads: number;
  /** Calls that waited for a load in flight on this member. */
  coalesced: number;
  /** Loads skipped because another member stored the value while this one waited for the lock. */
  loadedElsewhere: number;
}

/** The read-through of one map (see the module doc). */
export class ReadThrough {
  readonly stats: ReadThroughStats = { hits: 0, loads: 0, coalesced: 0, loadedElsewhere: 0 };
  private readonly flights = new Map<string, Promise<Uint8Array | null>>();

  /** `clock`: given for cluster-wide loads (the key's lock on its owner; the target must have lock/unlock). */
  constructor(
    private readonly target: LoadTarget,
    private readonly clock?: Clock,
  ) {}

  /**
   * The value of `key`, loading and storing it when missing.
   * @throws ShoalError for a bad `ttl`; whatever the loader throws (every caller waiting on it gets it).
   */
  async getOrLoad(key: Bytes, loader: Loader, opts: LoadOptions = {}): Promise<Uint8Array | null> {
    const ttlMs = ttlOf(opts);
    const found = await this.target.get(key);
    if (found !== null) {
      this.stats.hits++;
      return found;
    }
    const id = typeof key === "string" ? latin1.decode(enc.encode(key)) : latin1.decode(key);
    const inFlight = this.flights.get(id);
    if (inFlight !== undefined) {
      this.stats.coalesced++;
      return inFlight;
    }
    const flight = this.load(key, loader, ttlMs, opts.lockLeaseMs ?? DEFAULT_LOAD_LEASE_MS).finally(() => this.flights.delete(id));
    this.flights.set(id, flight);
    return flight;
  }

  private async load(key: Bytes, loader: Loader, ttlMs: number | undefined, leaseMs: number): Promise<Uint8Array | null> {
    const { target, clock } = this;
    if (clock === undefined || target.lock === undefined) return this.run(key, loader, ttlMs);
    const deadline = clock.monotonic() + leaseMs;
    for (let pauseMs = 2; ; pauseMs = Math.min(pauseMs * 2, 100)) {
      const grant = await target.lock(key, leaseMs, 0).catch(() => null);
      if (grant !== null) {
        try {
          const stored = await target.get(key);
          if (stored !== null) {
            this.stats.loadedElsewhere++;
            return stored;
          }
          return await this.run(key, loader, ttlMs);
        } finally {
          await Promise.resolve(target.unlock?.(key, grant.token)).catch(() => false);
        }
      }
      const stored = await Promise.resolve(target.get(key)).catch(() => null);
      if (stored !== null) {
        this.stats.loadedElsewhere++;
        return stored;
      }
      if (clock.monotonic() >= deadline) return this.run(key, loader, ttlMs);
      await new Promise<void>((resolve) => clock.setTimer(pauseMs, resolve));
    }
  }

  private async run(key: Bytes, loader: Loader, ttlMs: number | undefined): Promise<Uint8Array | null> {
    this.stats.loads++;
    const value = await loader(key);
    if (value === null) return null;
    const bytes = typeof value === "string" ? enc.encode(value) : value;
    await this.target.put(key, bytes, ttlMs === undefined ? {} : { ttlMs });
    return bytes;
  }
}

/** The TTL of a load in ms (`ttl`: ms or a duration such as "30s"; `ttlMs` ms); undefined: the map's default. */
function ttlOf(opts: LoadOptions): number | undefined {
  const raw = opts.ttl ?? opts.ttlMs;
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === null || ms <= 0) throw new ShoalError("ERR", `getOrLoad: ttl expects a positive duration such as 30s or a number of milliseconds, got ${JSON.stringify(raw)}`);
  return ms;
}
