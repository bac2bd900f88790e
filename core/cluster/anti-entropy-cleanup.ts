/**
 * The cleanup steps of an anti-entropy round: tombstones confirmed on every
 * holder are dropped everywhere (no count cap, no early drop otherwise), and
 * copies of partitions this node no longer holds go to their holders.
 */
import { hashBytes } from "../store/hash.ts";
import { BATCH, type RoundContext } from "./anti-entropy-repair.ts";
import { DIGEST_RANGES, entriesInRangesPaced, type PartitionDigests, type PartitionRange, rangeOfHash } from "./digest.ts";
import { partitionOf } from "./hash.ts";
import type { PartitionTable } from "./partition-table.ts";
import type { EntryState, } from "./peer-protocol.ts";

/**
 * Drops tombstones that every holder of their partition has (the ranges
 * matched on every replica) and no other member holds anything near
 * (its digest of the range is empty), once old enough, while every member
 * is alive: the replicas first (`forget`), then here.
 */
export async function confirmTombstones(c: RoundContext, t: PartitionTable, alike: PartitionRange[], local: PartitionDigests): Promise<void> {
  const o = c.o;
  if (alike.length === 0 || o.sync.tombstoneCount() === 0 || !o.allAlive()) return;
  const minAge = o.confirmMinAgeMs ?? Math.max(30_000, 3 * o.intervalMs);
  const limit = o.clock.now() - minAge;
  const ok = new Set(alike.filter((a) => local.count(a.partition, a.range) > 0).map((a) => a.partition * DIGEST_RANGES + a.range));
  const candidates: EntryState[] = [];
  for (const [map, k, tomb] of o.sync.tombs.entries()) {
    if (tomb.at > limit) continue;
    const key = Uint8Array.from(k, (c) => c.charCodeAt(0));
    const id = partitionOf(key, t.partitionCount) * DIGEST_RANGES + rangeOfHash(hashBytes(key, 0, key.length));
    if (ok.has(id)) candidates.push({ map, key, value: null, expireAt: 0, version: tomb.version });
    if (candidates.length >= o.maxKeys) break;
  }
  if (candidates.length === 0) return;
  // members that hold no copy of these partitions must hold nothing in those ranges (no stale copy to come back)
  const parts = [...new Set(candidates.map((x) => partitionOf(x.key, t.partitionCount)))];
  for (const m of t.members) {
    if (m === o.self) continue;
    const outside = parts.filter((p) => t.owner(p) !== m && !t.replicas(p).includes(m));
    if (outside.length === 0) continue;
    const d = await c.digestsOf(m, outside);
    if (!d) return;
    for (let i = candidates.length - 1; i >= 0; i--) {
      const cand = candidates[i]!;
      const p = partitionOf(cand.key, t.partitionCount);
      if (d.covers(p) && d.count(p, rangeOfHash(hashBytes(cand.key, 0, cand.key.length))) > 0) candidates.splice(i, 1);
    }
  }
  const byReplica = new Map<string, EntryState[]>();
  for (const cand of candidates) for (const h of t.replicas(partitionOf(cand.key, t.partitionCount))) (byReplica.get(h) ?? byReplica.set(h, []).get(h)!).push(cand);
  const failed = new Set<string>();
  await Promise.all(
    [...byReplica].map(async ([h, list]) => {
      try {
        const res = await o.request(h, { t: "forget", entries: list });
        if (res.t !== "applied") failed.add(h);
      } catch {
        failed.add(h);
      }
    }),
  );
  for (const cand of candidates) {
    if (t.replicas(partitionOf(cand.key, t.partitionCount)).some((h) => failed.has(h))) continue;
    if (o.sync.forget(cand.map, cand.key, cand.version)) c.stats.tombstonesConfirmed++;
  }
}

/**
 * Hands copies of partitions this node does not hold to their holders and
 * drops them once every holder took them (a value only if it is still at
 * the version pushed). Returns how many it moved (counted against the budget).
 */
export async function moveOrphans(c: RoundContext, t: PartitionTable, budget: number): Promise<number> {
  const o = c.o;
  const held = new Uint8Array(t.partitionCount);
  for (let p = 0; p < t.partitionCount; p++) if (t.owner(p) === o.self || t.replicas(p).includes(o.self)) held[p] = 1;
  const notHeld: number[] = [];
  for (let p = 0; p < t.partitionCount; p++) if (held[p] === 0) notHeld.push(p);
  if (notHeld.length === 0) return 0;
  const all: PartitionRange[] = notHeld.flatMap((p) => Array.from({ length: DIGEST_RANGES }, (_, r) => ({ partition: p, range: r })));
  const orphans = (await entriesInRangesPaced(o.node, o.sync, t.partitionCount, all, true, c.pause)).slice(0, budget);
  if (orphans.length === 0) return 0;
  const byHolder = new Map<string, EntryState[]>();
  for (const e of orphans) {
    const p = partitionOf(e.key, t.partitionCount);
    for (const h of [t.owner(p), ...t.replicas(p)]) (byHolder.get(h) ?? byHolder.set(h, []).get(h)!).push(e);
  }
  const failed = new Set<string>();
  await Promise.all(
    [...byHolder].map(async ([h, list]) => {
      for (let i = 0; i < list.length; i += BATCH) {
        try {
          const res = await o.request(h, { t: "apply", entries: list.slice(i, i + BATCH) });
          if (res.t !== "applied") throw new Error(res.t === "error" ? res.message : "unexpected answer");
        } catch {
          failed.add(h);
          return;
        }
      }
    }),
  );
  if (o.table() !== t) return orphans.length; // the table moved on meanwhile: keep the copies, look again next round
  let moved = 0;
  for (const e of orphans) {
    const p = partitionOf(e.key, t.partitionCount);
    if ([t.owner(p), ...t.replicas(p)].some((h) => failed.has(h))) continue;
    if (e.value === null) {
      if (o.sync.forget(e.map, e.key, e.version)) moved++;
      continue;
    }
    const m = o.node.findMap(e.map);
    const idx = m ? m.lookup(e.key, 0, e.key.length, false) : -1;
    if (m && idx >= 0 && m.table.version[idx] === e.version) {
      m.removeEntry(idx);
      moved++;
    }
  }
  c.stats.orphansMoved += moved;
  if (moved > 0) o.log.info("orphaned copies handed to their holders", { entries: moved });
  return orphans.length;
}
