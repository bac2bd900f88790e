/** Shared pieces of the snapshot unit tests: a manual clock, nodes, and writing a snapshot to memory. */
import type { Clock, Timer } from "../../../core/clock.ts";
import { SeededRng } from "../../../core/clock.ts";
import { ShoalNode } from "../../../core/node.ts";
import { type ClusterCut, SnapshotWriter } from "../../../core/snapshot/writer.ts";
import { NodeStats } from "../../../core/stats.ts";
import * as coll from "../../../core/store/collection.ts";
import { MapStore } from "../../../core/store/map-store.ts";

/** A clock the test moves by hand; timers run when {@link advance} passes them. */
export class ManualClock implements Clock {
  t = 1_800_000_000_000;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): Timer {
    const t = { at: this.t + ms, fn, live: true };
    this.timers.push(t);
    return {
      cancel() {
        t.live = false;
      },
    };
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      due.live = false;
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.timers = this.timers.filter((t) => t.live);
    this.t = end;
  }
}

/** A node on a manual clock. */
export function makeNode(clock: Clock = new ManualClock()): ShoalNode {
  return new ShoalNode({ clock, rng: new SeededRng(7) });
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Writes a whole snapshot of `node` (slices of `slice` indices) and returns the file's bytes. */
export function snapshotBytes(node: ShoalNode, opts: { cluster?: ClusterCut; slice?: number; blockBytes?: number } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const w = new SnapshotWriter({
    maps: node.mapNames().map((n) => [n, node.map(n)] as const),
    nodeName: "test",
    partitionCount: 271,
    now: node.clock.now(),
    cluster: opts.cluster,
    blockBytes: opts.blockBytes,
    sink: (b) => parts.push(b.slice()),
  });
  while (!w.step(opts.slice ?? 1000));
  return concat(parts);
}

/** Splits `bytes` into chunks at the given cut points (any sizes, as a file read would). */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

const dec = new TextDecoder();

/**
 * Every live entry of every map as "map/key" → [value, expireAt, version]
 * (latin1, for comparison); a hash or set's value is "hash:" / "set:" and its
 * sorted fields, whatever its encoding in memory.
 */
export function contents(node: ShoalNode): Map<string, [string, number, number]> {
  const out = new Map<string, [string, number, number]>();
  for (const name of node.mapNames()) {
    const t = node.map(name).table;
    for (let i = 0; i < t.hiWater; i++) {
      if (!t.isLive(i)) continue;
      const exp = t.expireAt[i]!;
      if (exp !== 0 && exp <= node.clock.now()) continue;
      const m = node.map(name);
      const value = t.isString(i)
        ? latin1(t.value(i))
        : `${t.kind(i) === 1 ? "hash" : "set"}:${coll
            .entries(m, i)
            .map(([f, v]) => `${latin1(f)}=${v === null ? "" : latin1(v)}`)
            .sort()
            .join(",")}`;
      out.set(`${name}/${latin1(t.key(i))}`, [value, exp, t.version[i]!]);
    }
  }
  return out;
}

/** Bytes as a latin1 string (exact, for comparing binary keys). */
export function latin1(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

export { dec };

const utf8 = new TextEncoder();

/** HSET / SADD on a map through the store's collection API (what the commands do). */
export function addToCollection(node: ShoalNode, map: string, kind: 1 | 2, key: string, field: string, value = ""): void {
  const m = node.map(map);
  const k = utf8.encode(key);
  let idx = m.lookup(k, 0, k.length, false);
  if (idx >= 0 && m.table.kind(idx) !== kind) return; // WRONGTYPE: nothing changes
  if (idx < 0) idx = m.createCollection(k, 0, k.length, kind);
  coll.put(m, idx, utf8.encode(field), utf8.encode(kind === 1 ? value : field));
  m.touchWrite(idx);
}

/** HDEL / SREM; the key goes when it is empty. */
export function removeFromCollection(node: ShoalNode, map: string, key: string, field: string): void {
  const m = node.map(map);
  const k = utf8.encode(key);
  const idx = m.lookup(k, 0, k.length, false);
  if (idx < 0 || m.table.isString(idx)) return;
  coll.remove(m, idx, utf8.encode(field));
  if (coll.size(m, idx) === 0) m.removeEntry(idx);
  else m.touchWrite(idx);
}

/** A bare set of maps to load into (what loadSnapshot needs of a node), cheaper to make than a ShoalNode. */
export class BareMaps {
  private readonly maps = new Map<string, MapStore>();
  constructor(private readonly clock: Clock = new ManualClock()) {}
  map(name: string): MapStore {
    let m = this.maps.get(name);
    if (!m) this.maps.set(name, (m = new MapStore(name, { ttlMs: 0, maxIdleMs: 0, maxKeys: 0, maxInuse: 0 }, this.clock, new SeededRng(1), new NodeStats(0))));
    return m;
  }
  mapNames(): string[] {
    return [...this.maps.keys()];
  }
  destroyMap(name: string): boolean {
    return this.maps.delete(name);
  }
  keyCount(): number {
    let n = 0;
    for (const m of this.maps.values()) n += m.size();
    return n;
  }
}
