/**
 * Deletion tombstones: map → key → version of the delete (or of the expiry
 * that ended the key), so a stale copy of the key cannot come back.
 *
 * There is no count cap: a tombstone goes only when
 * - anti-entropy confirmed that every holder of its partition has it and no
 *   other member holds anything in its key range ({@link forget}), or
 * - it is older than the grace period (`graceMs`, Cassandra's gc_grace):
 *   a copy cut off for longer than that can bring the key back.
 * Memory: each tombstone's bytes count towards its map's memory use (the
 * map's `max_inuse` evicts live keys to make room, as for any write), so
 * tombstones are bounded by the cache's own limits, not by dropping them early.
 */
import type { ShoalNode } from "../node.ts";

/** One remembered deletion. */
export interface Tombstone {
  version: number;
  /** Wall ms when recorded. */
  at: number;
}

/** Bytes a tombstone costs beyond its key (map entry, record, string header), estimated. */
const OVERHEAD = 72;

/** The tombstones of one node, by map. */
export class Tombstones {
  private readonly maps = new Map<string, Map<string, Tombstone>>();
  private count = 0;

  constructor(private readonly node: ShoalNode) {}

  /** Tombstones held (all maps). */
  get size(): number {
    return this.count;
  }

  /** The tombstone of `key` (latin1) in `map`. */
  get(map: string, key: string): Tombstone | undefined {
    return this.maps.get(map)?.get(key);
  }

  /** Records (or moves to the newest position) the tombstone of `key` at `version`, recorded at wall time `at`. */
  set(map: string, key: string, version: number, at: number): void {
    let t = this.maps.get(map);
    if (!t) {
      t = new Map();
      this.maps.set(map, t);
    }
    if (t.delete(key)) this.count--;
    else this.account(map, key.length + OVERHEAD);
    t.set(key, { version, at });
    this.count++;
  }

  /** Drops the tombstone of `key` (a newer value replaced it); whether there was one. */
  delete(map: string, key: string): boolean {
    const t = this.maps.get(map);
    if (!t?.delete(key)) return false;
    this.count--;
    this.account(map, -(key.length + OVERHEAD));
    return true;
  }

  /** Drops the tombstone of `key` if it is still at `version` (confirmed everywhere); whether it did. */
  forget(map: string, key: string, version: number): boolean {
    const tomb = this.get(map, key);
    return tomb !== undefined && tomb.version === version && this.delete(map, key);
  }

  /** Every tombstone, as [map, key, tombstone]. */
  *entries(): Generator<[string, string, Tombstone]> {
    for (const [map, t] of this.maps) for (const [k, v] of t) yield [map, k, v];
  }

  /** Drops tombstones recorded at or before `limit` (wall ms); returns how many. */
  collectBefore(limit: number): number {
    let n = 0;
    for (const [map, t] of this.maps) {
      // insertion order is age order (re-recording deletes and re-inserts)
      for (const [k, v] of t) {
        if (v.at > limit) break;
        this.delete(map, k);
        n++;
      }
    }
    return n;
  }

  private account(map: string, bytes: number): void {
    const m = this.node.findMap(map);
    if (m) m.extraBytes = Math.max(0, m.extraBytes + bytes);
  }
}
