/**
 * A map that keeps values by reference, for the embedded API in the same
 * process: `put` stores the caller's Uint8Array itself and `get` returns
 * that same array — no copy into an arena and none out of it, the way
 * `lru-cache` keeps its values. Same {@link DMap} behaviour as the arena
 * map (TTL, max-idle, MaxKeys and MaxInuse eviction, locks, read-through).
 * Eviction is approximated LRU as in Redis and the arena maps: a read or
 * write stamps the entry with a use counter (one typed-array store, where
 * lru-cache relinks a list on every hit) and eviction drops the least
 * recently used of {@link EVICTION_SAMPLES} sampled entries — of all of them
 * while the map has at most {@link EXACT_LRU_SLOTS} slots.
 *
 * Trade-offs, by design: values are shared with the caller (mutating an
 * array after `put` changes the stored value); keys are JS strings (byte
 * keys are decoded as UTF-8, invalid UTF-8 kept apart), so a string key
 * with a lone surrogate and its UTF-8 bytes are two keys; the map lives
 * outside the node's arena maps, so RESP/HTTP commands, snapshots, INFO's
 * keyspace and replication do not see it (it is for one process's own use).
 */
import type { Bytes, DMap, LoadOptions, LockGrant, MapLimits, PutOptions, ScanPage } from "../api.ts";
import type { Clock, Rng } from "../clock.ts";
import { notFloat, notInteger, overflow, ShoalError } from "../errors.ts";
import { type Loader, ReadThrough } from "../read-through.ts";
import { globMatch } from "./glob.ts";
import { LockTable } from "./locks.ts";
import { formatFloat, parseFloatStrict, parseInt64 } from "./map-store.ts";

const enc = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
/** Bytes MaxInuse charges per entry beyond its key and value (slot arrays, index entry, string header), estimated. */
export const REF_ENTRY_OVERHEAD = 96;
/** Entries sampled per eviction (Redis' maxmemory-samples default). */
export const EVICTION_SAMPLES = 5;
/** Up to this many slots eviction looks at every entry (exact LRU for small maps). */
export const EXACT_LRU_SLOTS = 64;
/** Marks a key given as bytes that are not valid UTF-8 (a lone surrogate never comes out of a UTF-8 decode). */
const RAW = "\uD800";

/** The map's key for `b`: strings as they are, bytes decoded as UTF-8 (or kept apart when not valid UTF-8). */
function keyOf(b: Bytes): string {
  if (typeof b === "string") return b;
  try {
    return utf8.decode(b);
  } catch {
    let s = RAW;
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
}

/** The bytes of a key made by {@link keyOf}. */
function bytesOfKey(k: string): Uint8Array {
  if (!k.startsWith(RAW)) return enc.encode(k);
  const out = new Uint8Array(k.length - 1);
  for (let i = 1; i < k.length; i++) out[i - 1] = k.charCodeAt(i);
  return out;
}

/** A {@link DMap} holding values by reference (see the module doc). */
export class RefMap implements DMap {
  private readonly index = new Map<string, number>();
  private keys: string[] = [];
  private values: (Uint8Array | null)[] = [];
  private expiry = new Float64Array(16);
  private access = new Float64Array(16);
  /** Recency: the value of {@link uses} at the entry's last read or write (eviction drops low stamps). */
  private stamp = new Float64Array(16);
  private uses = 0;
  private readonly free: number[] = [];
  /** One past the highest slot ever used (scan cursors run over slots). */
  private hiWater = 0;
  private bytes = 0;
  /** Entries with an expiry (active expiry skips the sweep while 0). */
  private volatile = 0;
  readonly locks: LockTable;
  private loads: ReadThrough | null = null;

  private mapLimits: MapLimits;
  /** Copies of the limits read on every call (a field read, not a property chain). */
  private ttlMs = 0;
  private maxIdleMs = 0;
  /** MaxKeys or MaxInuse is set: writes check for eviction. */
  private bounded = false;

  constructor(
    readonly name: string,
    limits: MapLimits,
    private readonly clock: Clock,
    private readonly rng: Rng,
    fencingFloor?: () => number,
  ) {
    this.mapLimits = limits;
    this.limits = limits;
    this.locks = new LockTable(clock, rng, fencingFloor);
  }

  /** The map's limits (TTL default, max-idle, MaxKeys, MaxInuse); assigning new ones applies from the next call. */
  get limits(): MapLimits {
    return this.mapLimits;
  }

  set limits(l: MapLimits) {
    this.mapLimits = l;
    this.ttlMs = l.ttlMs;
    this.maxIdleMs = l.maxIdleMs;
    this.bounded = l.maxKeys > 0 || l.maxInuse > 0;
  }

  /** Bytes in use as MaxInuse counts them: keys (2 per UTF-16 unit), values and {@link REF_ENTRY_OVERHEAD} per entry. */
  inuseBytes(): number {
    return this.bytes;
  }

  get(key: Bytes): Uint8Array | null {
    const idx = this.index.get(typeof key === "string" ? key : keyOf(key));
    if (idx === undefined) return null;
    if (this.expiry[idx] !== 0 || this.maxIdleMs > 0) return this.getTimed(idx);
    this.stamp[idx] = ++this.uses;
    return this.values[idx]!;
  }

  /** {@link get} of an entry with an expiry, or in a map with max-idle. */
  private getTimed(idx: number): Uint8Array | null {
    const now = this.clock.now();
    const exp = this.expiry[idx]!;
    const idle = this.maxIdleMs;
    if ((exp !== 0 && exp <= now) || (idle > 0 && this.access[idx]! + idle <= now)) {
      this.remove(idx);
      return null;
    }
    this.access[idx] = now;
    this.stamp[idx] = ++this.uses;
    return this.values[idx]!;
  }

  put(key: Bytes, value: Bytes, opts?: PutOptions): boolean {
    const k = typeof key === "string" ? key : keyOf(key);
    const idx = this.index.get(k);
    // The common overwrite (no options, no TTL on either side, no max-idle) stays in this small
    // function, which the JIT inlines into the caller's loop; everything else is in write().
    if (idx !== undefined && opts === undefined && typeof value !== "string" && this.expiry[idx] === 0 && this.ttlMs === 0 && this.maxIdleMs === 0) {
      const old = this.values[idx]!;
      if (old !== value) this.bytes += value.byteLength - old.byteLength;
      this.values[idx] = value;
      this.stamp[idx] = ++this.uses;
      if (this.bounded) this.evict(idx);
      return true;
    }
    return this.write(k, value, opts);
  }

  /** {@link put} in full: options, TTLs, max-idle, new keys. */
  private write(k: string, value: Bytes, opts: PutOptions | undefined): boolean {
    let idx = this.liveIndex(k);
    let at = 0;
    if (opts !== undefined) {
      if ((opts.nx && idx >= 0) || (opts.xx && idx < 0)) return false;
      if (opts.expireAtMs !== undefined) at = opts.expireAtMs;
      else if (opts.ttlMs !== undefined) at = this.clock.now() + opts.ttlMs;
      else if (opts.keepTtl && idx >= 0) at = this.expiry[idx]!;
    }
    if (at === 0 && this.ttlMs > 0) at = this.clock.now() + this.ttlMs;
    const v = typeof value === "string" ? enc.encode(value) : value;
    if (idx >= 0) {
      const old = this.values[idx]!;
      if (old !== v) this.bytes += v.byteLength - old.byteLength;
      this.values[idx] = v;
      if (at !== 0 || this.expiry[idx] !== 0) this.setExpiry(idx, at);
      this.stamp[idx] = ++this.uses;
    } else {
      idx = this.insert(k, v, at);
    }
    if (this.maxIdleMs > 0) this.access[idx] = this.clock.now();
    if (this.bounded) this.evict(idx);
    return true;
  }

  getPut(key: Bytes, value: Bytes): Uint8Array | null {
    const old = this.get(key);
    this.put(key, value);
    return old;
  }

  delete(key: Bytes): boolean {
    const idx = this.liveIndex(keyOf(key));
    if (idx < 0) return false;
    this.remove(idx);
    return true;
  }

  ttl(key: Bytes): number {
    const idx = this.liveIndex(keyOf(key));
    if (idx < 0) return -2;
    const e = this.expiry[idx]!;
    return e === 0 ? -1 : Math.max(0, e - this.clock.now());
  }

  expire(key: Bytes, ttlMs: number): boolean {
    return this.setExpiryOf(key, this.clock.now() + ttlMs);
  }

  expireAt(key: Bytes, atMs: number): boolean {
    return this.setExpiryOf(key, atMs);
  }

  persist(key: Bytes): boolean {
    const idx = this.liveIndex(keyOf(key));
    if (idx < 0 || this.expiry[idx] === 0) return false;
    this.setExpiry(idx, 0);
    return true;
  }

  incrBy(key: Bytes, by: number | bigint): bigint {
    const k = keyOf(key);
    const idx = this.liveIndex(k);
    let cur = 0n;
    if (idx >= 0) {
      const parsed = parseInt64(this.values[idx]!);
      if (parsed === null) throw notInteger();
      cur = parsed;
    }
    const next = cur + BigInt(by);
    if (next > INT64_MAX || next < INT64_MIN) throw overflow();
    this.put(k, next.toString(), { keepTtl: true });
    return next;
  }

  incrByFloat(key: Bytes, by: number): string {
    const k = keyOf(key);
    const idx = this.liveIndex(k);
    let cur = 0;
    if (idx >= 0) {
      cur = parseFloatStrict(new TextDecoder().decode(this.values[idx]!));
      if (Number.isNaN(cur)) throw notFloat();
    }
    const next = cur + by;
    if (!Number.isFinite(next)) throw new ShoalError("ERR", "increment would produce NaN or Infinity");
    const out = formatFloat(next);
    this.put(k, out, { keepTtl: true });
    return out;
  }

  /** Cursor scan over slots (an entry keeps its slot for life): keys present for the whole scan come back at least once. */
  scan(cursor: number, count: number, match?: string): ScanPage {
    const pat = match !== undefined && match !== "*" ? enc.encode(match) : null;
    const keys: Uint8Array[] = [];
    const now = this.clock.now();
    let i = Math.max(0, cursor);
    let seen = 0;
    for (; i < this.hiWater && seen < count; i++) {
      if (this.values[i] === null) continue;
      const e = this.expiry[i]!;
      if (e !== 0 && e <= now) {
        this.remove(i);
        continue;
      }
      seen++;
      const kb = bytesOfKey(this.keys[i]!);
      if (!pat || globMatch(pat, kb)) keys.push(kb);
    }
    return { cursor: i >= this.hiWater ? 0 : i, keys };
  }

  size(): number {
    return this.index.size;
  }

  clear(): void {
    this.index.clear();
    this.keys = [];
    this.values = [];
    this.expiry = new Float64Array(16);
    this.access = new Float64Array(16);
    this.stamp = new Float64Array(16);
    this.free.length = 0;
    this.hiWater = this.bytes = this.volatile = this.uses = 0;
  }

  getOrLoad(key: Bytes, loader: Loader, opts?: LoadOptions): Promise<Uint8Array | null> {
    this.loads ??= new ReadThrough(this);
    return this.loads.getOrLoad(key, loader, opts);
  }

  lock(key: Bytes, leaseMs: number, waitMs: number): Promise<LockGrant | null> {
    return this.locks.acquire(bytesOfKey(keyOf(key)), leaseMs, waitMs);
  }

  unlock(key: Bytes, token: string): boolean {
    return this.locks.release(bytesOfKey(keyOf(key)), token);
  }

  lockLease(key: Bytes, token: string, leaseMs: number): boolean {
    return this.locks.lease(bytesOfKey(keyOf(key)), token, leaseMs);
  }

  /**
   * Active expiry (as the arena maps' 10 Hz cycle): samples entries with an
   * expiry or, with max-idle, any entry, removing what ran out, within
   * `budgetMs`. Returns how many it removed.
   */
  activeExpire(budgetMs: number): number {
    if ((this.volatile === 0 && this.maxIdleMs <= 0) || this.index.size === 0) return 0;
    const start = this.clock.monotonic();
    const now = this.clock.now();
    const idle = this.maxIdleMs;
    let removed = 0;
    for (;;) {
      let expired = 0;
      for (let k = 0; k < 20 && this.index.size > 0; k++) {
        const i = this.rng.int(this.hiWater);
        if (this.values[i] === null) continue;
        const e = this.expiry[i]!;
        if ((e !== 0 && e <= now) || (idle > 0 && this.access[i]! + idle <= now)) {
          this.remove(i);
          expired++;
        }
      }
      removed += expired;
      if (expired <= 5 || this.clock.monotonic() - start >= budgetMs) return removed;
    }
  }

  /** The slot of `k` if it is live (an expired or idle-out entry is removed on the way), else −1. */
  private liveIndex(k: string): number {
    const idx = this.index.get(k);
    if (idx === undefined) return -1;
    const exp = this.expiry[idx]!;
    const idle = this.maxIdleMs;
    if (exp !== 0 || idle > 0) {
      const now = this.clock.now();
      if ((exp !== 0 && exp <= now) || (idle > 0 && this.access[idx]! + idle <= now)) {
        this.remove(idx);
        return -1;
      }
    }
    return idx;
  }

  private setExpiryOf(key: Bytes, atMs: number): boolean {
    const idx = this.liveIndex(keyOf(key));
    if (idx < 0) return false;
    if (atMs <= this.clock.now()) this.remove(idx);
    else this.setExpiry(idx, atMs);
    return true;
  }

  private setExpiry(idx: number, at: number): void {
    const had = this.expiry[idx] !== 0;
    if (had !== (at !== 0)) this.volatile += at !== 0 ? 1 : -1;
    this.expiry[idx] = at;
  }

  private insert(k: string, v: Uint8Array, at: number): number {
    let idx = this.free.pop();
    if (idx === undefined) {
      idx = this.hiWater++;
      if (idx >= this.expiry.length) this.grow();
    }
    this.index.set(k, idx);
    this.keys[idx] = k;
    this.values[idx] = v;
    this.expiry[idx] = 0;
    this.setExpiry(idx, at);
    this.bytes += k.length * 2 + v.byteLength + REF_ENTRY_OVERHEAD;
    this.stamp[idx] = ++this.uses;
    return idx;
  }

  private remove(idx: number): void {
    const k = this.keys[idx]!;
    this.index.delete(k);
    this.bytes -= k.length * 2 + this.values[idx]!.byteLength + REF_ENTRY_OVERHEAD;
    this.setExpiry(idx, 0);
    this.keys[idx] = "";
    this.values[idx] = null;
    this.free.push(idx);
  }

  /** MaxKeys / MaxInuse: drops least recently used entries (never `keep`, the one just written). */
  private evict(keep: number): void {
    const { maxKeys, maxInuse } = this.mapLimits;
    while ((maxKeys > 0 && this.index.size > maxKeys) || (maxInuse > 0 && this.bytes > maxInuse)) {
      const victim = this.leastRecent(keep);
      if (victim < 0) return;
      this.remove(victim);
    }
  }

  /** The live slot other than `keep` with the lowest stamp among a sample (every slot in a small map), or −1. */
  private leastRecent(keep: number): number {
    const hi = this.hiWater;
    let victim = -1;
    let oldest = Number.POSITIVE_INFINITY;
    let found = 0;
    const consider = (i: number): void => {
      if (i === keep || this.values[i] === null) return;
      found++;
      if (this.stamp[i]! < oldest) {
        oldest = this.stamp[i]!;
        victim = i;
      }
    };
    if (hi <= EXACT_LRU_SLOTS) {
      for (let i = 0; i < hi; i++) consider(i);
      return victim;
    }
    for (let tries = 0; found < EVICTION_SAMPLES && tries < 100; tries++) consider(this.rng.int(hi));
    if (found === 0) {
      // most slots are free: random probes miss, so walk on from a random start
      const start = this.rng.int(hi);
      for (let k = 0; k < hi && found < EVICTION_SAMPLES; k++) consider((start + k) % hi);
    }
    return victim;
  }

  private grow(): void {
    const n = this.expiry.length * 2;
    const f = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.expiry = f(this.expiry);
    this.access = f(this.access);
    this.stamp = f(this.stamp);
  }
}
