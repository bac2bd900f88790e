/**
 * Last-writer-wins application of replicated entry states, with tombstones.
 *
 * Every write carries a hybrid-logical-clock version; a replica keeps the
 * entry with the highest version. A deletion is remembered as a tombstone
 * (key → version) so a late or stale copy of the key (a replica that missed
 * the delete, a rebalance push that raced it) cannot bring it back.
 *
 * Tombstones (tombstones.ts) have no count cap: they go once anti-entropy
 * confirmed every holder has them, or after the grace period `horizonMs`
 * (default 10 minutes, `--tombstone-grace`). A copy that stays cut off for
 * longer than that and then pushes an older version of a deleted key can
 * resurrect it; the grace must exceed the longest partition the operator
 * expects (a restarted process comes back empty unless it has a snapshot,
 * whose tombstones come back with their original age).
 */
import type { Clock } from "../clock.ts";
import type { ShoalNode } from "../node.ts";
import type { TombstoneRecord } from "../snapshot/writer.ts";
import type { ClusterBugs } from "./bugs.ts";
import type { EntryBatch } from "./entry-batch.ts";
import type { HybridClock } from "./hlc.ts";
import type { EntryState } from "./peer-protocol.ts";
import { Tombstones } from "./tombstones.ts";

/** Default tombstone GC horizon, ms: a snapshot older than this cannot rejoin a cluster as it is (see cmd/persistence.ts). */
export const DEFAULT_TOMBSTONE_HORIZON_MS = 600_000;

/** Options for {@link EntrySync}. */
export interface EntrySyncOptions {
  /** How long a tombstone is kept at most, ms (default 600 000; the grace period). */
  horizonMs?: number;
  /** Planted bugs (chaos simulator only). */
  bugs?: ClusterBugs;
}

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

const bytesOf = (s: string): Uint8Array => {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
};

/** Reads and applies entry states on one node. */
export class EntrySync {
  readonly horizonMs: number;
  /** Entry states refused because their version was too far ahead of this node's clock. */
  driftRefused = 0;
  private readonly skipTombstone: boolean;
  private readonly noExpiryTombstone: boolean;
  /** Every deletion this node remembers. */
  readonly tombs: Tombstones;

  constructor(
    private readonly node: ShoalNode,
    private readonly hlc: HybridClock,
    private readonly clock: Clock,
    options: EntrySyncOptions = {},
  ) {
    this.horizonMs = options.horizonMs ?? DEFAULT_TOMBSTONE_HORIZON_MS;
    this.tombs = new Tombstones(node);
    this.skipTombstone = options.bugs?.skipTombstone === true;
    this.noExpiryTombstone = options.bugs?.noExpiryTombstone === true;
  }

  /**
   * Stamps the current local state of `key` with a fresh version and returns
   * it (after a local write): the value with its expiry, or a deletion that
   * is also recorded as a tombstone here. Returns null only under the
   * planted `skip-tombstone` bug (the deletion is then neither remembered
   * nor replicated).
   */
  stamp(map: string, key: Uint8Array): EntryState | null {
    const version = this.hlc.now();
    const m = this.node.map(map);
    const idx = m.lookup(key, 0, key.length, false);
    if (idx < 0) {
      if (this.skipTombstone) return null;
      this.remember(map, key, version);
      return { map, key, value: null, expireAt: 0, version };
    }
    m.setVersion(idx, version);
    this.tombs.delete(map, latin1(key));
    return { map, key, ...m.exportValue(idx), expireAt: m.table.expireAt[idx]!, version };
  }

  /**
   * {@link stamp} for replication: the stamped state goes straight into
   * each of `outs` (copied from the store, no EntryState built). Returns the
   * new version, or 0 (nothing to replicate) only under the planted
   * `skip-tombstone` bug.
   */
  stampInto(map: string, key: Uint8Array, outs: readonly EntryBatch[]): number {
    const version = this.hlc.now();
    const m = this.node.map(map);
    const idx = m.lookup(key, 0, key.length, false);
    if (idx < 0) {
      if (this.skipTombstone) return 0;
      this.remember(map, key, version);
      for (const o of outs) o.addDeletion(map, key, version);
      return version;
    }
    m.setVersion(idx, version);
    if (this.tombs.size > 0) this.tombs.delete(map, latin1(key)); // no key string built while there are no tombstones
    if (m.table.kind(idx) === 0) {
      for (const o of outs) o.addStored(map, m, idx, version);
    } else {
      const e: EntryState = { map, key, ...m.exportValue(idx), expireAt: m.table.expireAt[idx]!, version };
      for (const o of outs) o.add(e);
    }
    return version;
  }

  /** The current state of a live entry index of `map` (for rebalancing); versions are kept. */
  read(map: string, idx: number): EntryState {
    const m = this.node.map(map);
    const t = m.table;
    return { map, key: t.key(idx), ...m.exportValue(idx), expireAt: t.expireAt[idx]!, version: t.version[idx]! };
  }

  /**
   * What this node holds for `key`: the live value, a deletion at the
   * tombstone's version, or a deletion at version 0 when it knows nothing.
   */
  current(map: string, key: Uint8Array): EntryState {
    const m = this.node.map(map);
    const idx = m.lookup(key, 0, key.length, false);
    if (idx >= 0) {
      const exp = m.table.expireAt[idx]!;
      if (exp === 0 || exp > this.clock.now()) {
        return { map, key, ...m.exportValue(idx), expireAt: exp, version: m.table.version[idx]! };
      }
    }
    const tomb = this.tombs.get(map, latin1(key));
    return { map, key, value: null, expireAt: 0, version: tomb?.version ?? 0 };
  }

  /**
   * Puts `prev` back (value or deletion, with its own version) if the key is
   * still at version `ifVersion` — undoing a local write whose quorum failed.
   * Returns whether it did.
   */
  restore(prev: EntryState, ifVersion: number): boolean {
    const m = this.node.map(prev.map);
    const idx = m.lookup(prev.key, 0, prev.key.length, false);
    const k = latin1(prev.key);
    const current = idx >= 0 ? m.table.version[idx]! : (this.tombs.get(prev.map, k)?.version ?? 0);
    if (current !== ifVersion) return false;
    if (prev.value === null) {
      if (idx >= 0) m.removeEntry(idx);
      this.tombs.delete(prev.map, k);
      if (prev.version > 0) this.remember(prev.map, prev.key, prev.version);
      return true;
    }
    const at = m.importValue(prev.key, prev.kind ?? 0, prev.value, prev.expireAt);
    m.table.version[at] = prev.version;
    this.tombs.delete(prev.map, k);
    return true;
  }

  /** Every tombstone held, as deletion entry states (for rebalancing and joins). */
  *tombstones(): Generator<EntryState> {
    for (const [map, k, v] of this.tombs.entries()) yield { map, key: bytesOf(k), value: null, expireAt: 0, version: v.version };
  }

  /** Every tombstone with the time it was recorded, oldest first per map (for snapshots). */
  exportTombstones(): TombstoneRecord[] {
    const out: TombstoneRecord[] = [];
    for (const [map, k, v] of this.tombs.entries()) out.push({ map, key: bytesOf(k), version: v.version, at: v.at });
    return out;
  }

  /**
   * Puts back tombstones read from a snapshot, keeping the time each was
   * first recorded (so the grace period counts the time the node was down).
   * One this node holds at a higher version already wins.
   */
  importTombstones(list: readonly TombstoneRecord[]): void {
    const sorted = [...list].sort((a, b) => a.at - b.at);
    for (const r of sorted) {
      const k = latin1(r.key);
      const had = this.tombs.get(r.map, k);
      if (had && had.version >= r.version) continue;
      this.tombs.set(r.map, k, r.version, r.at);
    }
  }

  /** The newest version this node issued or took (its clock, not ticked): anti-entropy's "now" in version terms. */
  latestVersion(): number {
    return this.hlc.peek();
  }

  /**
   * Why `e` must not be applied here (its version is further ahead of this
   * node's wall clock than the HLC allows: the sender's clock drifted), or
   * null.
   */
  refusal(e: EntryState): string | null {
    return this.hlc.refusal(e.version);
  }

  /**
   * Applies `e` if it is newer than what this node holds; returns whether it
   * was taken. A version too far ahead of this node's clock (see
   * {@link refusal}) is not taken (counted in `driftRefused`): a copy from a
   * node whose clock ran ahead would otherwise win over every later write.
   */
  apply(e: EntryState): boolean {
    if (this.hlc.refusal(e.version) !== null) {
      this.driftRefused++;
      return false;
    }
    this.hlc.update(e.version);
    const m = this.node.map(e.map);
    const idx = m.lookup(e.key, 0, e.key.length, false);
    if (idx >= 0 && m.table.version[idx]! >= e.version) return false;
    // most applies meet no tombstone at all: skip building the key's string then
    const tomb = this.tombs.size === 0 ? undefined : this.tombs.get(e.map, latin1(e.key));
    if (tomb && tomb.version >= e.version) return false;
    if (e.value === null) {
      if (idx >= 0) m.removeEntry(idx);
      this.remember(e.map, e.key, e.version);
      return true;
    }
    if (e.expireAt !== 0 && e.expireAt <= this.clock.now()) {
      // already expired: it still ends every older copy, as the owner's expiry did
      if (idx >= 0) m.removeEntry(idx);
      this.remember(e.map, e.key, e.version);
      return true;
    }
    let at: number;
    try {
      at = m.importValue(e.key, e.kind ?? 0, e.value, e.expireAt);
    } catch {
      return false; // an unknown kind or malformed hash/set bytes: refuse it rather than store garbage
    }
    m.table.version[at] = e.version;
    if (tomb) this.tombs.delete(e.map, latin1(e.key));
    return true;
  }

  /**
   * {@link apply} for every entry of a batch, under one clock read (the store
   * reads the time per lookup otherwise, as a RESP read event avoids too);
   * returns how many were taken.
   */
  applyAll(entries: readonly EntryState[]): number {
    const node = this.node;
    const outer = node.cachedNow;
    if (outer === 0) node.cachedNow = this.clock.now();
    try {
      let taken = 0;
      for (const e of entries) if (this.apply(e)) taken++;
      return taken;
    } finally {
      if (outer === 0) node.cachedNow = 0;
    }
  }

  /** An entry's TTL ran out here: remember it as a deletion at its version (older copies without the TTL must not return). */
  expired(map: string, key: Uint8Array, version: number): void {
    if (version <= 0 || this.noExpiryTombstone) return;
    const tomb = this.tombs.get(map, latin1(key));
    if (!tomb || tomb.version < version) this.remember(map, key, version);
  }

  /** Tombstones currently held (all maps). */
  tombstoneCount(): number {
    return this.tombs.size;
  }

  /** Drops tombstones past the grace period; returns how many. */
  collect(): number {
    return this.tombs.collectBefore(this.clock.now() - this.horizonMs);
  }

  /** Drops the tombstone of `key` if it is still at `version` (anti-entropy confirmed it everywhere); whether it did. */
  forget(map: string, key: Uint8Array, version: number): boolean {
    return this.tombs.forget(map, latin1(key), version);
  }

  private remember(map: string, key: Uint8Array, version: number): void {
    if (this.skipTombstone) return;
    this.tombs.set(map, latin1(key), version, this.clock.now());
  }
}
