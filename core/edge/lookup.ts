/**
 * The lookup stage, run on the owner of a URL's primary key: find the stored
 * object (through the vary spec to the request's variant), decide hit / stale
 * / miss by freshness, and coalesce misses. The waiting list is Varnish's: the
 * first miss for a key leads (it runs the one fill), later ones wait for the
 * leader's outcome instead of asking the origin. A leader's outcome that
 * cannot be shared (not cacheable, too large) sends the waiters to the
 * origin on their own, and leaves a hit-for-pass marker so later requests
 * for that URL do not queue behind a fill that will not help them.
 */
import type { Clock } from "../clock.ts";
import { primaryKey, variantKey } from "./cache-key.ts";
import type { Filler, FillInput, FillOutcome, StaleCopy, XCache } from "./fill.ts";
import { stateAt } from "./freshness.ts";
import type { HeaderList } from "./headers.ts";
import { headerValue } from "./headers.ts";
import { decodeEntry, type VarySpec } from "./object.ts";
import type { EdgeStats } from "./stats.ts";
import type { EdgeStore } from "./store.ts";

/** What a lookup answers (also what the owner sends back to the node that asked). */
export type LookupResult =
  /** `copy`: the entry already decoded (local lookups), so delivery does not decode it again. */
  | { kind: "object"; xcache: XCache; entry: Uint8Array; copy?: StaleCopy }
  /** A response streaming from the origin, for a local request only. */
  | { kind: "stream"; status: number; headers: HeaderList; body: ReadableStream<Uint8Array> }
  /** Ask the origin directly, without coalescing (and store the answer if it is cacheable). */
  | { kind: "pass"; reason: string }
  | { kind: "error"; status: number; message: string };

/** How long a URL whose response could not be shared skips the waiting list (Varnish's hit-for-miss default). */
export const HIT_FOR_PASS_MS = 120_000;
/** Most hit-for-pass markers kept; the oldest go first. */
const MAX_PASS_MARKERS = 10_000;
/** Times a waiter looks again after a coalesced fill that produced another variant. */
const MAX_ROUNDS = 3;
/** Decoded hot entries kept (see {@link ObjectLookup}): at most this many, and this many bytes of entries. */
const HOT_ENTRIES = 4096;
const HOT_BYTES = 32 * 1024 * 1024;

/** What the lookup stage is built from. */
export interface LookupDeps {
  store: EdgeStore;
  filler: Filler;
  clock: Clock;
  stats: EdgeStats;
}

/** A decoded stored entry of the hot table. */
type Decoded = { kind: "object"; copy: StaleCopy } | { kind: "vary"; spec: VarySpec };

interface Found {
  copy: StaleCopy | null;
  /** The waiting-list key: the variant's store key when the vary spec is known, else the primary key. */
  flightKey: string;
}

/**
 * The owner's lookups, with the waiting list. Hot entries are kept decoded
 * (at most {@link HOT_ENTRIES} and {@link HOT_BYTES}), each with the store's
 * stamp of the copy it was decoded from: a hit costs a stamp check instead
 * of a copy and a decode, and any write to the entry (a refill, a purge, a
 * replica applied by the cluster) changes the stamp, so a stale decoded copy
 * is never used.
 */
export class ObjectLookup {
  private readonly flights = new Map<string, Promise<FillOutcome>>();
  private readonly passUntil = new Map<string, number>();
  private readonly hot = new Map<string, { stamp: string; entry: Decoded; bytes: number }>();
  private hotBytes = 0;

  constructor(private readonly d: LookupDeps) {}

  /** Fills in flight (tests and stats). */
  get inFlight(): number {
    return this.flights.size;
  }

  /**
   * The answer for a fresh stored object, found without waiting (the fast
   * path of a hit), or null when the lookup needs {@link lookup}.
   */
  peek(url: string, header: (name: string) => string | null): LookupResult | null {
    const found = this.find(url, header);
    if (found.copy === null || stateAt(found.copy.meta, this.d.clock.now()) !== "fresh") return null;
    return { kind: "object", xcache: "HIT", entry: found.copy.entry, copy: found.copy };
  }

  /**
   * Looks `input` up. `canStream`: the request is local, so an uncacheable or
   * oversized response can stream to it (a peer's request gets a pass instead).
   */
  async lookup(input: FillInput, canStream: boolean): Promise<LookupResult> {
    const { clock, stats } = this.d;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const found = this.find(input.url, (n) => headerValue(input.headers, n));
      let stale: StaleCopy | null = null;
      if (found.copy !== null) {
        const state = stateAt(found.copy.meta, clock.now());
        if (state === "fresh") return { kind: "object", xcache: "HIT", entry: found.copy.entry, copy: found.copy };
        if (state === "stale-while-revalidate") {
          if (!this.flights.has(found.flightKey)) void this.lead(found.flightKey, input, found.copy, false).catch(() => undefined);
          return { kind: "object", xcache: "STALE", entry: found.copy.entry, copy: found.copy };
        }
        stale = found.copy;
      } else if (this.passing(input.url)) {
        return { kind: "pass", reason: "hit-for-pass: the last response for this URL could not be shared" };
      }
      const flight = this.flights.get(found.flightKey);
      if (flight === undefined) return leaderResult(await this.lead(found.flightKey, input, stale, canStream));
      stats.coalesced++;
      const shared = this.forWaiter(await flight, input);
      if (shared !== null) return shared;
    }
    return { kind: "pass", reason: "the responses for this URL vary faster than they can be waited for" };
  }

  /** Forgets a URL's hit-for-pass marker (after a purge). */
  forget(url: string): void {
    this.passUntil.delete(url);
  }

  private async lead(key: string, input: FillInput, stale: StaleCopy | null, canStream: boolean): Promise<FillOutcome> {
    const flight = this.d.filler.fill(input, stale, canStream);
    this.flights.set(key, flight);
    try {
      const outcome = await flight;
      if (outcome.kind === "uncacheable" || ((outcome.kind === "stream" || outcome.kind === "too-large") && outcome.transient !== true)) this.markPass(input.url);
      return outcome;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }

  /** The stored copy for a request and its waiting-list key. */
  private find(url: string, header: (name: string) => string | null): Found {
    const primary = primaryKey(url);
    const entry = this.entryAt(primary);
    if (entry === null) return { copy: null, flightKey: primary };
    if (entry.kind === "object") return { copy: entry.copy, flightKey: primary };
    const key = variantKey(primary, entry.spec.generation, entry.spec.vary, header);
    const variant = this.entryAt(key);
    return { copy: variant?.kind === "object" ? variant.copy : null, flightKey: key };
  }

  /** The decoded entry at `key`: from the hot table while the store's stamp matches, else read and decoded (and kept). */
  private entryAt(key: string): Decoded | null {
    const { store } = this.d;
    const stamp = store.stamp?.(key);
    if (stamp === null) {
      this.drop(key);
      return null;
    }
    if (stamp !== undefined) {
      const h = this.hot.get(key);
      if (h !== undefined && h.stamp === stamp) return h.entry;
    }
    const raw = store.read(key);
    const e = raw === null ? null : decodeEntry(raw);
    if (e === null) return null;
    const entry: Decoded = e.kind === "object" ? { kind: "object", copy: { key, entry: raw!, meta: e.meta, body: e.body } } : { kind: "vary", spec: e.spec };
    if (stamp !== undefined) this.keep(key, stamp, entry, raw!.length);
    return entry;
  }

  private keep(key: string, stamp: string, entry: Decoded, bytes: number): void {
    this.drop(key);
    if (bytes > HOT_BYTES / 4) return;
    this.hot.set(key, { stamp, entry, bytes });
    this.hotBytes += bytes;
    while (this.hot.size > HOT_ENTRIES || this.hotBytes > HOT_BYTES) this.drop(this.hot.keys().next().value!);
  }

  private drop(key: string): void {
    const h = this.hot.get(key);
    if (h === undefined) return;
    this.hot.delete(key);
    this.hotBytes -= h.bytes;
  }

  /** A leader's outcome as a waiter gets it; null when it is another variant (look again). */
  private forWaiter(o: FillOutcome, input: FillInput): LookupResult | null {
    switch (o.kind) {
      case "object":
        if (o.vary.length > 0 && this.d.filler.varyValues(o.vary, input.headers) !== o.varyValues) return null;
        return { kind: "object", xcache: o.xcache === "STALE" ? "STALE" : "HIT", entry: o.entry };
      case "failed":
        return { kind: "object", xcache: "MISS", entry: o.entry };
      case "error":
        return { kind: "error", status: o.status, message: o.message };
      default:
        return { kind: "pass", reason: o.reason };
    }
  }

  private markPass(url: string): void {
    this.passUntil.delete(url);
    this.passUntil.set(url, this.d.clock.now() + HIT_FOR_PASS_MS);
    if (this.passUntil.size > MAX_PASS_MARKERS) this.passUntil.delete(this.passUntil.keys().next().value!);
  }

  private passing(url: string): boolean {
    const until = this.passUntil.get(url);
    if (until === undefined) return false;
    if (until > this.d.clock.now()) return true;
    this.passUntil.delete(url);
    return false;
  }
}

/** A fill's outcome as the request that led it gets it. */
export function leaderResult(o: FillOutcome): LookupResult {
  switch (o.kind) {
    case "object":
      return { kind: "object", xcache: o.xcache, entry: o.entry };
    case "failed":
    case "uncacheable":
      return { kind: "object", xcache: "MISS", entry: o.entry };
    case "stream":
      return { kind: "stream", status: o.status, headers: o.headers, body: o.body };
    case "error":
      return { kind: "error", status: o.status, message: o.message };
    case "too-large":
      return { kind: "pass", reason: o.reason };
  }
}
