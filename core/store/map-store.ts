import type { Bytes, DMap, LoadOptions, LockGrant, MapLimits, PutOptions, ScanPage } from "../api.ts";
import type { Clock, Rng } from "../clock.ts";
import { notFloat, notInteger, overflow, ShoalError, wrongType } from "../errors.ts";
import { type Loader, ReadThrough } from "../read-through.ts";
import type { NodeStats } from "../stats.ts";
import { SlabArena } from "./arena.ts";
import { DEFAULT_ENCODING, dropBig, type EncodingLimits, exportBlob, importBlob } from "./collection.ts";
import { EMPTY } from "./compact.ts";
import { addDecimal, formatDecimal, parseDecimal } from "./decimal.ts";
import { EntryTable } from "./entry-table.ts";
import type { FieldTable } from "./field-table.ts";
import { globMatch } from "./glob.ts";
import { hashBytes } from "./hash.ts";
import { LockTable } from "./locks.ts";

const enc = new TextEncoder();
/** Bytes of a key or value given as string or bytes. */
export const toBytes = (b: Bytes): Uint8Array => (typeof b === "string" ? enc.encode(b) : b);

/**
 * Reusable UTF-8 scratch space for string keys and values on the embedded
 * API, so a get/put with strings allocates nothing on the way in. Valid only
 * until the next load; the store copies what it keeps.
 */
class Scratch {
  private buf = new Uint8Array(1024);
  /** The bytes of the last load are out[0, n). */
  out: Uint8Array = this.buf;

  load(b: Bytes): number {
    if (typeof b !== "string") {
      this.out = b;
      return b.length;
    }
    if (b.length * 3 > this.buf.length) this.buf = new Uint8Array(b.length * 3);
    this.out = this.buf;
    return enc.encodeInto(b, this.buf).written;
  }
}

const scratchKey = new Scratch();
const scratchValue = new Scratch();

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** Parses a Redis integer string strictly (no spaces, no '+', no leading zeros). */
export function parseInt64(b: Uint8Array): bigint | null {
  const n = b.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  if (b[0] === 45) {
    if (n === 1) return null;
    i = 1;
  }
  if (b[i] === 48 && n > i + 1) return null;
  for (let j = i; j < n; j++) if (b[j]! < 48 || b[j]! > 57) return null;
  const v = BigInt(String.fromCharCode(...b));
  if (v > INT64_MAX || v < INT64_MIN) return null;
  if (i === 1 && v === 0n) return null; // "-0"
  return v;
}

/** Formats a double like Redis' human-readable long double output (no exponent). */
export function formatFloat(v: number): string {
  if (Number.isInteger(v)) return BigInt(v).toString();
  return formatDecimal(parseDecimal(String(v))!) ?? String(v);
}

/**
 * Told of entry changes while a snapshot is being written (core/snapshot/cut.ts
 * keeps the snapshot a point-in-time copy with it). Every change of an
 * entry's value, expiry or version, and every removal, calls `before(idx)`
 * first; every insert calls `inserted(idx)` after. A new way of changing
 * entries (another value type, another command) must call them too.
 */
export interface ChangeWatcher {
  before(idx: number): void;
  inserted(idx: number): void;
}

/**
 * One named map on this node: the Olric DMap fragment. Implements TTL
 * (lazy + sampled active expiry), max-idle, MaxKeys / MaxInuse with
 * approximated LRU eviction (Redis-style sampling), locks with fencing.
 */
export class MapStore implements DMap {
  readonly table = new EntryTable(new SlabArena());
  private volatile = new Int32Array(64);
  private volCount = 0;

  /** Live entries with an expiry (INFO's `expires`), kept as entries change: no walk over the keys. */
  get expiresCount(): number {
    return this.volCount;
  }
  readonly locks: LockTable;
  /** getOrLoad's loads in flight (created on first use). */
  private loads: ReadThrough | null = null;
  /** The FieldTable of each big hash or set, by entry index (see collection.ts). */
  readonly big = new Map<number, FieldTable>();
  /** Metadata bytes of every FieldTable in {@link big} (their chunks are in the arena already). */
  bigMetaBytes = 0;
  /** Set while a snapshot of this map is being written; see {@link ChangeWatcher}. */
  watcher: ChangeWatcher | null = null;

  constructor(
    readonly name: string,
    public limits: MapLimits,
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly stats: NodeStats,
    /** Version of a write made at wall time `now` (ms); the cluster layer re-stamps with its HLC. */
    private readonly nextVersion: (now: number) => number = (now) => now * 4096,
    fencingFloor?: () => number,
    /** When hashes and sets leave the compact encoding (shared with the node; CONFIG SET changes it). */
    readonly encoding: EncodingLimits = DEFAULT_ENCODING,
  ) {
    this.locks = new LockTable(clock, rng, fencingFloor);
  }

  /**
   * Bytes in use, as MaxInuse counts them: arena chunks of live entries plus
   * the metadata arrays and slot table as allocated (they grow by doubling, so
   * counting only live entries' share let RSS run ~12% past the limit with
   * 100-byte values).
   */
  inuseBytes(): number {
    return this.table.arena.usedBytes + this.table.metaBytes() + this.volatile.length * 4 + this.bigMetaBytes + this.extraBytes;
  }

  /**
   * Bytes this map's data costs outside its table (the cluster layer's
   * deletion tombstones), counted in {@link inuseBytes} so MaxInuse makes
   * room for them too.
   */
  extraBytes = 0;

  /** Bytes reserved from the runtime (pages, metadata arrays). */
  reservedBytes(): number {
    return this.table.arena.reservedBytes + this.table.metaBytes() + this.volatile.length * 4 + this.bigMetaBytes;
  }

  // ---- raw, allocation-free paths used by the RESP hot path ----

  /** Finds a live entry for key bytes; expires lazily. Counts hits/misses when `count`. -1 when missing. */
  lookup(buf: Uint8Array, off: number, len: number, count = true): number {
    const t = this.table;
    const idx = t.find(buf, off, len, hashBytes(buf, off, len));
    if (idx < 0) {
      if (count) this.stats.misses++;
      return -1;
    }
    const now = this.clock.now();
    const exp = t.expireAt[idx]!;
    if ((exp !== 0 && exp <= now) || (this.limits.maxIdleMs > 0 && t.access[idx]! + this.limits.maxIdleMs <= now)) {
      if (exp !== 0 && exp <= now) this.expired(idx);
      this.removeEntry(idx);
      this.stats.expirations++;
      if (count) this.stats.misses++;
      return -1;
    }
    t.access[idx] = now;
    if (count) this.stats.hits++;
    return idx;
  }

  /**
   * Sets key → value from byte ranges. `expireAt`: 0 none, -1 keep existing; otherwise Unix ms.
   * Returns the entry index.
   */
  setRange(kb: Uint8Array, ko: number, kl: number, vb: Uint8Array, vo: number, vl: number, expireAt: number): number {
    const t = this.table;
    const h = hashBytes(kb, ko, kl);
    let idx = t.find(kb, ko, kl, h);
    const now = this.clock.now();
    this.stats.changes++;
    if (idx >= 0) {
      if (this.watcher !== null) this.watcher.before(idx);
      if (expireAt === -1) {
        const e = t.expireAt[idx]!;
        if (e !== 0 && e <= now) expireAt = 0;
        else expireAt = e;
      }
      if (!t.isString(idx)) this.toStringEntry(idx);
      t.setValue(idx, vb, vo, vl);
    } else {
      if (expireAt === -1) expireAt = 0;
      idx = t.insert(h, kb, ko, kl, vb, vo, vl);
      if (this.watcher !== null) this.watcher.inserted(idx);
    }
    if (expireAt === 0 && this.limits.ttlMs > 0) expireAt = now + this.limits.ttlMs;
    this.applyExpire(idx, expireAt);
    t.access[idx] = now;
    t.version[idx] = this.stampVersion(now);
    if (this.limits.maxKeys > 0 || this.limits.maxInuse > 0) this.evictIfNeeded(idx);
    return idx;
  }

  /** Turns a hash or set entry back into a string entry (SET over it): its fields go. */
  private toStringEntry(idx: number): void {
    if (this.table.isBig(idx)) dropBig(this, idx);
    this.table.setKind(idx, 0, false);
  }

  /**
   * Finds a live entry of `kind` (collection.ts Kind) for key bytes: its
   * index, -1 when missing; throws WRONGTYPE when the key holds another kind.
   */
  lookupKind(buf: Uint8Array, off: number, len: number, kind: number, count = true): number {
    const idx = this.lookup(buf, off, len, count);
    if (idx >= 0 && this.table.kind(idx) !== kind) throw wrongType();
    return idx;
  }

  /** Like {@link lookup} but throws WRONGTYPE unless the key is missing or a string. */
  lookupString(buf: Uint8Array, off: number, len: number, count = true): number {
    const idx = this.lookup(buf, off, len, count);
    if (idx >= 0 && !this.table.isString(idx)) throw wrongType();
    return idx;
  }

  /**
   * Creates an empty hash or set under a key known to be absent (the caller
   * looked it up); returns its entry index. The map's default TTL applies.
   */
  createCollection(kb: Uint8Array, ko: number, kl: number, kind: number): number {
    const t = this.table;
    const idx = t.insert(hashBytes(kb, ko, kl), kb, ko, kl, EMPTY, 0, EMPTY.length);
    if (this.watcher !== null) this.watcher.inserted(idx);
    this.stats.changes++;
    t.setKind(idx, kind, false);
    const now = this.clock.now();
    if (this.limits.ttlMs > 0) this.setExpire(idx, now + this.limits.ttlMs);
    t.access[idx] = now;
    t.version[idx] = this.stampVersion(now);
    return idx;
  }

  /**
   * Records a write to a hash or set entry (new version, access time) and
   * evicts if a limit is passed. The write itself went through collection.ts,
   * which told the {@link watcher} before changing anything.
   */
  touchWrite(idx: number): void {
    if (this.watcher !== null) this.watcher.before(idx);
    this.stats.changes++;
    const t = this.table;
    const now = this.clock.now();
    t.access[idx] = now;
    t.version[idx] = this.stampVersion(now);
    if (this.limits.maxKeys > 0 || this.limits.maxInuse > 0) this.evictIfNeeded(idx);
  }

  /**
   * Puts an entry read from a snapshot, with its own expiry and version and
   * last access `now` (no default TTL, no eviction: call
   * {@link enforceLimits} once loading is done). A key already present keeps
   * the higher version (returns -1 then). Not counted as a change. The entry
   * is a string; collection.ts restoreCollection makes it a hash or set.
   */
  restore(kb: Uint8Array, ko: number, kl: number, vb: Uint8Array, vo: number, vl: number, expireAt: number, version: number, now: number): number {
    const t = this.table;
    const h = hashBytes(kb, ko, kl);
    let idx = t.find(kb, ko, kl, h);
    if (idx >= 0) {
      if (t.version[idx]! > version) return -1;
      if (!t.isString(idx)) this.toStringEntry(idx);
      t.setValue(idx, vb, vo, vl);
    } else idx = t.insert(h, kb, ko, kl, vb, vo, vl);
    this.applyExpire(idx, expireAt);
    t.version[idx] = version;
    t.access[idx] = now;
    return idx;
  }

  /** Evicts until the map is within its limits again (after the limits were lowered, or a bulk {@link restore}). */
  enforceLimits(): void {
    if (this.limits.maxKeys === 0 && this.limits.maxInuse === 0) return;
    for (let before = -1; before !== this.table.size; ) {
      before = this.table.size;
      this.evictIfNeeded(-1); // evicts at most 10 000 per call
    }
  }

  /**
   * The kind (collection.ts Kind: 0 string, 1 hash, 2 set) and canonical
   * bytes of a live entry's value (a copy): what replication, rebalancing
   * and snapshots carry.
   */
  exportValue(idx: number): { kind: number; value: Uint8Array } {
    const kind = this.table.kind(idx);
    return { kind, value: kind === 0 ? this.table.value(idx) : exportBlob(this, idx) };
  }

  /**
   * Makes `key` hold a value given as {@link exportValue} produced it,
   * replacing what it held, with the given expiry; returns the entry
   * index. Throws ShoalError on an unknown kind or malformed collection
   * bytes (input from a peer or a file).
   */
  importValue(key: Uint8Array, kind: number, value: Uint8Array, expireAt: number): number {
    if (kind === 0) return this.setRange(key, 0, key.length, value, 0, value.length, expireAt);
    return importBlob(this, key, kind, value, expireAt);
  }

  private lastVersion = 0;

  /**
   * A version for a write made now: strictly above every earlier one of this
   * map, so WATCH sees every change (two writes in one millisecond differ).
   */
  private stampVersion(now: number): number {
    const v = Math.max(this.nextVersion(now), this.lastVersion + 1);
    this.lastVersion = v;
    return v;
  }

  /**
   * Moves entry `src` to `key` (RENAME): value, kind and expiry go along,
   * whatever `key` held before is removed; a big hash or set moves its
   * FieldTable without copying a field. Returns the new entry index.
   */
  moveEntry(src: number, key: Uint8Array): number {
    const t = this.table;
    const kind = t.kind(src);
    const big = t.isBig(src) ? this.big.get(src) : undefined;
    const value = t.value(src);
    const expireAt = t.expireAt[src]!;
    if (big) {
      this.big.delete(src); // handed over, not freed
      t.setKind(src, kind, false);
    }
    this.removeEntry(src);
    const old = this.lookup(key, 0, key.length, false);
    if (old >= 0) this.removeEntry(old);
    const idx = this.setRange(key, 0, key.length, value, 0, value.length, expireAt);
    t.setKind(idx, kind, big !== undefined);
    if (big) this.big.set(idx, big);
    return idx;
  }

  /** Sets the absolute expiry of a live entry (0 removes it); a new version, as for any write. */
  setExpire(idx: number, at: number): void {
    if (this.watcher !== null) this.watcher.before(idx);
    this.stats.changes++;
    this.table.version[idx] = this.stampVersion(this.clock.now());
    this.applyExpire(idx, at);
  }

  /** Sets the version of a live entry (the cluster layer's stamp). */
  setVersion(idx: number, version: number): void {
    if (this.watcher !== null) this.watcher.before(idx);
    this.table.version[idx] = version;
  }

  /** Sets the expiry and its volatile-index slot; the caller sets the version. */
  private applyExpire(idx: number, at: number): void {
    const t = this.table;
    t.expireAt[idx] = at;
    const pos = t.volPos[idx]!;
    if (at !== 0 && pos < 0) {
      if (this.volCount === this.volatile.length) {
        const v = new Int32Array(this.volatile.length * 2);
        v.set(this.volatile);
        this.volatile = v;
      }
      this.volatile[this.volCount] = idx;
      t.volPos[idx] = this.volCount++;
    } else if (at === 0 && pos >= 0) this.dropVolatile(idx, pos);
  }

  private dropVolatile(idx: number, pos: number): void {
    const last = this.volatile[--this.volCount]!;
    this.volatile[pos] = last;
    this.table.volPos[last] = pos;
    this.table.volPos[idx] = -1;
  }

  /**
   * Told of every entry removed because its TTL ran out (not idle or LRU
   * eviction, which are local), with its key and version: the cluster layer
   * keeps a tombstone so an older copy without that TTL cannot come back.
   */
  onExpired: ((key: Uint8Array, version: number) => void) | null = null;

  private expired(idx: number): void {
    if (this.onExpired !== null) this.onExpired(this.table.key(idx), this.table.version[idx]!);
  }

  /** Removes a live entry and its side indexes. */
  removeEntry(idx: number): void {
    if (this.watcher !== null) this.watcher.before(idx);
    this.stats.changes++;
    const pos = this.table.volPos[idx]!;
    if (pos >= 0) this.dropVolatile(idx, pos);
    if (this.table.isBig(idx)) dropBig(this, idx);
    this.table.remove(idx);
  }

  /**
   * Told of every entry evicted to make room (LRU over max-keys/max-inuse),
   * with its key, before it goes: keyspace notifications.
   */
  onEvicted: ((key: Uint8Array) => void) | null = null;

  /** Evicts sampled least-recently-used entries while over a limit; `keep` (the entry just written, or -1) stays. */
  private evictIfNeeded(keep: number): void {
    const t = this.table;
    let guard = 0;
    while (
      ((this.limits.maxKeys > 0 && t.size > this.limits.maxKeys) ||
        (this.limits.maxInuse > 0 && this.inuseBytes() > this.limits.maxInuse)) &&
      t.size > (keep >= 0 ? 1 : 0) &&
      guard++ < 10000
    ) {
      let victim = -1;
      let oldest = Number.POSITIVE_INFINITY;
      let found = 0;
      const consider = (i: number): void => {
        if (!t.isLive(i) || i === keep) return;
        found++;
        if (t.access[i]! < oldest) {
          oldest = t.access[i]!;
          victim = i;
        }
      };
      for (let tries = 0; found < 5 && tries < 100; tries++) consider(this.rng.int(t.hiWater));
      if (found === 0) {
        // a sparse table (most indices freed): random probes miss, so walk on from a random start instead
        const start = this.rng.int(t.hiWater);
        for (let k = 0; k < t.hiWater && found < 5; k++) consider((start + k) % t.hiWater);
      }
      if (victim < 0) break;
      if (this.onEvicted !== null) this.onEvicted(t.key(victim));
      this.removeEntry(victim);
      this.stats.evictions++;
    }
  }

  /**
   * Active expiry: samples keys with a TTL (Redis' activeExpireCycle) and
   * removes expired ones, repeating while >25% of a sample was expired,
   * within `budgetMs` of monotonic time. Also samples for max-idle.
   */
  activeExpire(budgetMs: number): number {
    const start = this.clock.monotonic();
    const now = this.clock.now();
    let removed = 0;
    for (;;) {
      let expired = 0;
      const n = Math.min(20, this.volCount);
      for (let k = 0; k < n && this.volCount > 0; k++) {
        const idx = this.volatile[this.rng.int(this.volCount)]!;
        if (this.table.expireAt[idx]! <= now) {
          this.expired(idx);
          this.removeEntry(idx);
          expired++;
        }
      }
      if (this.limits.maxIdleMs > 0) {
        const t = this.table;
        for (let k = 0; k < 20 && t.size > 0; k++) {
          const i = this.rng.int(t.hiWater);
          if (t.isLive(i) && t.access[i]! + this.limits.maxIdleMs <= now) {
            this.removeEntry(i);
            expired++;
          }
        }
      }
      removed += expired;
      if (expired <= 5 || this.clock.monotonic() - start >= budgetMs) break;
    }
    this.stats.expirations += removed;
    return removed;
  }

  // ---- DMap API (bytes or strings) ----

  get(key: Bytes): Uint8Array | null {
    const kl = scratchKey.load(key);
    const idx = this.lookupString(scratchKey.out, 0, kl);
    return idx < 0 ? null : this.table.value(idx);
  }

  put(key: Bytes, value: Bytes, opts: PutOptions = {}): boolean {
    const kl = scratchKey.load(key);
    const k = scratchKey.out;
    const vl = scratchValue.load(value);
    const v = scratchValue.out;
    if (opts.nx || opts.xx) {
      const exists = this.lookup(k, 0, kl, false) >= 0;
      if ((opts.nx && exists) || (opts.xx && !exists)) return false;
    }
    let at = 0;
    if (opts.expireAtMs !== undefined) at = opts.expireAtMs;
    else if (opts.ttlMs !== undefined) at = this.clock.now() + opts.ttlMs;
    else if (opts.keepTtl) at = -1;
    this.setRange(k, 0, kl, v, 0, vl, at);
    return true;
  }

  getPut(key: Bytes, value: Bytes): Uint8Array | null {
    const old = this.get(key);
    this.put(key, value);
    return old;
  }

  delete(key: Bytes): boolean {
    const kl = scratchKey.load(key);
    const idx = this.lookup(scratchKey.out, 0, kl, false);
    if (idx < 0) return false;
    this.removeEntry(idx);
    return true;
  }

  ttl(key: Bytes): number {
    const k = toBytes(key);
    const idx = this.lookup(k, 0, k.length, false);
    if (idx < 0) return -2;
    const e = this.table.expireAt[idx]!;
    return e === 0 ? -1 : Math.max(0, e - this.clock.now());
  }

  expire(key: Bytes, ttlMs: number): boolean {
    return this.expireAt(key, this.clock.now() + ttlMs);
  }

  expireAt(key: Bytes, atMs: number): boolean {
    const k = toBytes(key);
    const idx = this.lookup(k, 0, k.length, false);
    if (idx < 0) return false;
    if (atMs <= this.clock.now()) this.removeEntry(idx);
    else this.setExpire(idx, atMs);
    return true;
  }

  persist(key: Bytes): boolean {
    const k = toBytes(key);
    const idx = this.lookup(k, 0, k.length, false);
    if (idx < 0 || this.table.expireAt[idx] === 0) return false;
    this.setExpire(idx, 0);
    return true;
  }

  incrBy(key: Bytes, by: number | bigint): bigint {
    const k = toBytes(key);
    const idx = this.lookupString(k, 0, k.length, false);
    let cur = 0n;
    if (idx >= 0) {
      const parsed = parseInt64(this.table.valueView(idx));
      if (parsed === null) throw notInteger();
      cur = parsed;
    }
    const next = cur + BigInt(by);
    if (next > INT64_MAX || next < INT64_MIN) throw overflow();
    const v = enc.encode(next.toString());
    this.setRange(k, 0, k.length, v, 0, v.length, -1);
    return next;
  }

  incrByFloat(key: Bytes, by: number): string {
    const k = toBytes(key);
    const idx = this.lookupString(k, 0, k.length, false);
    let cur = 0;
    if (idx >= 0) {
      const s = new TextDecoder().decode(this.table.valueView(idx));
      cur = parseFloatStrict(s);
      if (Number.isNaN(cur)) throw notFloat();
    }
    const next = cur + by;
    if (!Number.isFinite(next)) throw new ShoalError("ERR", "increment would produce NaN or Infinity");
    const out = formatFloat(next);
    const v = enc.encode(out);
    this.setRange(k, 0, k.length, v, 0, v.length, -1);
    return out;
  }

  /**
   * INCRBYFLOAT with Redis' text semantics: `by` and the stored value are
   * parsed as decimals (hex and inf as doubles), added, and formatted like
   * Redis' "%.17Lf" output. Throws Redis' errors.
   */
  incrByFloatText(key: Bytes, by: string): string {
    const k = toBytes(key);
    const incr = parseFloatStrict(by);
    if (Number.isNaN(incr)) throw notFloat();
    const idx = this.lookupString(k, 0, k.length, false);
    const curText = idx >= 0 ? new TextDecoder().decode(this.table.valueView(idx)) : "0";
    const cur = parseFloatStrict(curText);
    if (Number.isNaN(cur)) throw notFloat();
    const nanOrInf = (): ShoalError => new ShoalError("ERR", "increment would produce NaN or Infinity");
    if (!Number.isFinite(incr) || !Number.isFinite(cur)) throw nanOrInf();
    const out = addFloatText(curText, by);
    if (out === null) throw nanOrInf();
    const v = enc.encode(out);
    this.setRange(k, 0, k.length, v, 0, v.length, -1);
    return out;
  }

  scan(cursor: number, count: number, match?: string): ScanPage {
    const t = this.table;
    const pat = match !== undefined && match !== "*" ? enc.encode(match) : null;
    const keys: Uint8Array[] = [];
    const now = this.clock.now();
    let i = Math.max(0, cursor);
    let seen = 0;
    while (i < t.hiWater && seen < count) {
      if (t.isLive(i)) {
        const e = t.expireAt[i]!;
        if (e !== 0 && e <= now) {
          this.expired(i);
          this.removeEntry(i);
        }
        else {
          seen++;
          const kv = t.keyView(i);
          if (!pat || globMatch(pat, kv)) keys.push(kv.slice());
        }
      }
      i++;
    }
    return { cursor: i >= t.hiWater ? 0 : i, keys };
  }

  size(): number {
    return this.table.size;
  }

  /** Removes every entry and returns the memory (metadata arrays and arena pages), as FLUSHDB frees Redis' dict. */
  clear(): void {
    if (this.watcher !== null) {
      // a snapshot is being cut: each entry must be shown to it before it goes, so remove them one by one
      const t = this.table;
      for (let i = 0; i < t.hiWater; i++) if (t.isLive(i)) this.removeEntry(i);
      return;
    }
    this.stats.changes += this.table.size;
    for (const idx of [...this.big.keys()]) dropBig(this, idx);
    this.table.reset();
    this.volatile = new Int32Array(64);
    this.volCount = 0;
  }

  getOrLoad(key: Bytes, loader: Loader, opts?: LoadOptions): Promise<Uint8Array | null> {
    this.loads ??= new ReadThrough(this);
    return this.loads.getOrLoad(key, loader, opts);
  }

  lock(key: Bytes, leaseMs: number, waitMs: number): Promise<LockGrant | null> {
    return this.locks.acquire(toBytes(key), leaseMs, waitMs);
  }

  unlock(key: Bytes, token: string): boolean {
    return this.locks.release(toBytes(key), token);
  }

  lockLease(key: Bytes, token: string, leaseMs: number): boolean {
    return this.locks.lease(toBytes(key), token, leaseMs);
  }
}

/**
 * `cur + by` with INCRBYFLOAT's semantics: both parse as finite floats
 * (checked by the caller); decimals are added exactly and formatted like
 * Redis' "%.17Lf" output, hex through doubles. Null when the sum is not finite.
 */
export function addFloatText(cur: string, by: string): string | null {
  const a = parseDecimal(cur);
  const b = parseDecimal(by);
  if (a && b) return formatDecimal(addDecimal(a, b));
  const sum = parseFloatStrict(cur) + parseFloatStrict(by);
  return Number.isFinite(sum) ? formatFloat(sum) : null;
}

/** Parses a float the way Redis' string2ld accepts it (no spaces, no empty, finite or inf). */
export function parseFloatStrict(s: string): number {
  if (s.length === 0 || s.length > 5000 || /^\s|\s$/.test(s)) return Number.NaN;
  const lower = s.toLowerCase();
  if (lower === "inf" || lower === "+inf" || lower === "infinity" || lower === "+infinity") return Number.POSITIVE_INFINITY;
  if (lower === "-inf" || lower === "-infinity") return Number.NEGATIVE_INFINITY;
  const hex = /^([+-]?)0x([0-9a-f]+)$/i.exec(s);
  if (hex) return (hex[1] === "-" ? -1 : 1) * Number.parseInt(hex[2]!, 16);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number.NaN;
  return Number(s);
}
