/**
 * In-memory HttpNode test double (tests only): maps with TTL on a manual
 * clock, Redis-glob scan, and a pub/sub with channels and patterns.
 */
import type { Bytes, DMap, LockGrant, PubSub, PubSubListener, PutOptions, ScanPage } from "../../../core/api.ts";
import type { Clock, Timer } from "../../../core/clock.ts";
import type { HttpNode, InfoSections } from "../../../core/http/node.ts";
import { NodeStats } from "../../../core/stats.ts";
import { globMatch } from "../../../core/store/glob.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (b: Bytes): Uint8Array => (typeof b === "string" ? enc.encode(b) : b);
const str = (b: Bytes): string => (typeof b === "string" ? b : dec.decode(b));

/** Clock whose time only moves with advance(); timers fire on advance(). */
export class ManualClock implements Clock {
  private t = 1_700_000_000_000;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): Timer {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }
  /** Live timers not yet fired. */
  pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((t) => t.live && t.at <= this.t);
    this.timers = this.timers.filter((t) => t.live && t.at > this.t);
    for (const t of due) t.fn();
  }
}

class FakeMap implements DMap {
  private readonly data = new Map<string, { value: Uint8Array; expireAt?: number }>();
  constructor(
    readonly name: string,
    private readonly node: FakeNode,
  ) {}
  private live(key: Bytes) {
    const e = this.data.get(str(key));
    if (e?.expireAt !== undefined && e.expireAt <= this.node.clock.now()) {
      this.data.delete(str(key));
      return undefined;
    }
    return e;
  }
  get(key: Bytes): Uint8Array | null {
    const e = this.live(key);
    if (e) this.node.stats.hits++;
    else this.node.stats.misses++;
    return e?.value ?? null;
  }
  put(key: Bytes, value: Bytes, opts: PutOptions = {}): boolean {
    const exists = this.live(key) !== undefined;
    if ((opts.nx && exists) || (opts.xx && !exists)) return false;
    const expireAt = opts.ttlMs !== undefined ? this.node.clock.now() + opts.ttlMs : opts.expireAtMs;
    this.data.set(str(key), { value: bytes(value).slice(), expireAt });
    return true;
  }
  getPut(key: Bytes, value: Bytes): Uint8Array | null {
    const old = this.live(key)?.value ?? null;
    this.put(key, value);
    return old;
  }
  delete(key: Bytes): boolean {
    const had = this.live(key) !== undefined;
    this.data.delete(str(key));
    return had;
  }
  ttl(key: Bytes): number {
    const e = this.live(key);
    if (!e) return -2;
    return e.expireAt === undefined ? -1 : e.expireAt - this.node.clock.now();
  }
  expire(key: Bytes, ttlMs: number): boolean {
    const e = this.live(key);
    if (e) e.expireAt = this.node.clock.now() + ttlMs;
    return e !== undefined;
  }
  expireAt(key: Bytes, atMs: number): boolean {
    const e = this.live(key);
    if (e) e.expireAt = atMs;
    return e !== undefined;
  }
  persist(key: Bytes): boolean {
    const e = this.live(key);
    if (!e || e.expireAt === undefined) return false;
    e.expireAt = undefined;
    return true;
  }
  incrBy(): bigint {
    throw new Error("not used by the HTTP API");
  }
  incrByFloat(): string {
    throw new Error("not used by the HTTP API");
  }
  scan(cursor: number, count: number, match?: string): ScanPage {
    const all = [...this.data.keys()].sort();
    const page = all.slice(cursor, cursor + count);
    const next = cursor + count >= all.length ? 0 : cursor + count;
    const keys = page.map((k) => enc.encode(k)).filter((k) => !match || globMatch(enc.encode(match), k));
    return { cursor: next, keys };
  }
  size(): number {
    return [...this.data.keys()].filter((k) => this.live(k)).length;
  }
  clear(): void {
    this.data.clear();
  }
  lock(): Promise<LockGrant | null> {
    throw new Error("not used by the HTTP API");
  }
  unlock(): boolean {
    return false;
  }
  lockLease(): boolean {
    return false;
  }
}

class FakePubSub implements PubSub {
  readonly channels = new Map<string, Set<PubSubListener>>();
  readonly patterns = new Map<string, Set<PubSubListener>>();
  publish(channel: Bytes, message: Bytes): number {
    let n = 0;
    const ch = bytes(channel);
    for (const l of this.channels.get(str(channel)) ?? []) {
      l(ch, bytes(message));
      n++;
    }
    for (const [p, ls] of this.patterns) {
      if (!globMatch(enc.encode(p), ch)) continue;
      for (const l of ls) {
        l(ch, bytes(message), enc.encode(p));
        n++;
      }
    }
    return n;
  }
  subscribe(channel: Bytes, listener: PubSubListener): () => void {
    return add(this.channels, str(channel), listener);
  }
  psubscribe(pattern: Bytes, listener: PubSubListener): () => void {
    return add(this.patterns, str(pattern), listener);
  }
  /** Listeners across channels and patterns. */
  listenerCount(): number {
    let n = 0;
    for (const s of [...this.channels.values(), ...this.patterns.values()]) n += s.size;
    return n;
  }
}

function add(table: Map<string, Set<PubSubListener>>, name: string, l: PubSubListener): () => void {
  const set = table.get(name) ?? new Set();
  table.set(name, set);
  set.add(l);
  return () => {
    set.delete(l);
    if (set.size === 0) table.delete(name);
  };
}

/** The HttpNode double. */
export class FakeNode implements HttpNode {
  readonly clock = new ManualClock();
  readonly stats = new NodeStats(this.clock.now());
  readonly pubsub = new FakePubSub();
  ready = true;
  private readonly maps = new Map<string, FakeMap>();
  map(name: string): DMap {
    let m = this.maps.get(name);
    if (!m) this.maps.set(name, (m = new FakeMap(name, this)));
    return m;
  }
  mapNames(): string[] {
    return [...this.maps.keys()];
  }
  info(): InfoSections {
    return { server: { run_id: "fake-node", version: "test" } };
  }
  memoryBytes(): number {
    return 4096;
  }
  keyCount(): number {
    let n = 0;
    for (const m of this.maps.values()) n += m.size();
    return n;
  }
}
