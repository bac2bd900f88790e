/**
 * The repair step of an anti-entropy round: for the partition ranges whose
 * digests differ, the versions each side holds (keys only), then a pull of
 * what the owner lacks and a push of the newest state to every replica
 * that has less. Only differing entries travel; at most `budget` keys.
 */
import { hashBytes } from "../store/hash.ts";
import type { AntiEntropyOptions, AntiEntropyStats } from "./anti-entropy.ts";
import { DIGEST_RANGES, entriesInRangesPaced, type PartitionDigests, rangeOfHash } from "./digest.ts";
import { partitionOf } from "./hash.ts";
import type { PartitionTable } from "./partition-table.ts";
import type { EntryState, PeerResponse } from "./peer-protocol.ts";

/** What the steps of a round share (anti-entropy.ts builds it). */
export interface RoundContext {
  o: AntiEntropyOptions;
  stats: AntiEntropyStats;
  /** Yields to the event loop on the injected clock. */
  pause(): Promise<void>;
  /** A member's digests of `partitions` (only versions up to `before`, if given), or null when it did not answer. */
  digestsOf(peer: string, partitions: number[], before?: number): Promise<PartitionDigests | null>;
}

/** Entries per apply or fetch request. */
export const BATCH = 1024;

export const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

/**
 * Brings the differing ranges up to date on this node and on every replica of their partitions, as far as versions
 * up to `before` go (the round's cutoff: younger writes are left to replication and the next round).
 */
export async function repairRanges(c: RoundContext, t: PartitionTable, differ: Map<number, string[]>, budget: number, before = Number.POSITIVE_INFINITY): Promise<void> {
  const o = c.o;
  const ranges = [...differ.keys()].map((id) => ({ partition: Math.floor(id / DIGEST_RANGES), range: id % DIGEST_RANGES }));
  // what this node holds in those ranges, and what each differing replica holds there
  const mine = new Map<string, number>();
  const keys = new Map<string, { map: string; key: Uint8Array }>();
  for (const e of await entriesInRangesPaced(o.node, o.sync, t.partitionCount, ranges, false, c.pause, before)) {
    const k = `${e.map}\0${latin1(e.key)}`;
    mine.set(k, e.version);
    keys.set(k, { map: e.map, key: e.key });
  }
  const askEach = new Map<string, number[]>();
  for (const [id, hs] of differ) for (const h of hs) (askEach.get(h) ?? askEach.set(h, []).get(h)!).push(id);
  const theirs = new Map<string, Map<string, number>>();
  await Promise.all(
    [...askEach].map(async ([h, ids]) => {
      const flat = ids.flatMap((id) => [Math.floor(id / DIGEST_RANGES), id % DIGEST_RANGES]);
      let res: PeerResponse;
      try {
        res = await o.request(h, Number.isFinite(before) ? { t: "range", ranges: flat, values: false, before } : { t: "range", ranges: flat, values: false });
      } catch {
        c.stats.failures++;
        return;
      }
      if (res.t !== "entries") return;
      const versions = new Map<string, number>();
      for (const e of res.entries) {
        const k = `${e.map}\0${latin1(e.key)}`;
        versions.set(k, e.version);
        if (!keys.has(k)) keys.set(k, { map: e.map, key: e.key });
      }
      theirs.set(h, versions);
    }),
  );
  // newest version of each key, and who has it
  const pulls = new Map<string, { map: string; key: Uint8Array }[]>();
  const plan: { k: string; p: number; r: number; newest: number }[] = [];
  for (const [k, mk] of keys) {
    if (plan.length >= budget) break;
    const p = partitionOf(mk.key, t.partitionCount);
    const r = rangeOfHash(hashBytes(mk.key, 0, mk.key.length));
    let own = mine.get(k);
    // not listed here: absent, or written after the cutoff (then this round leaves the key alone)
    if (own === undefined && Number.isFinite(before) && o.sync.current(mk.map, mk.key).version > before) continue;
    own ??= 0;
    let newest = own;
    let from: string | null = null;
    for (const h of differ.get(p * DIGEST_RANGES + r) ?? []) {
      const v = theirs.get(h)?.get(k) ?? 0;
      if (v > newest) {
        newest = v;
        from = h;
      }
    }
    const stale = (differ.get(p * DIGEST_RANGES + r) ?? []).some((h) => theirs.has(h) && (theirs.get(h)!.get(k) ?? 0) < newest);
    if (from === null && !stale) continue;
    plan.push({ k, p, r, newest });
    if (from !== null) (pulls.get(from) ?? pulls.set(from, []).get(from)!).push(mk);
  }
  // pull what this node lacks
  await Promise.all(
    [...pulls].map(async ([h, wanted]) => {
      for (let i = 0; i < wanted.length; i += BATCH) {
        let res: PeerResponse;
        try {
          res = await o.request(h, { t: "fetch", keys: wanted.slice(i, i + BATCH) });
        } catch {
          c.stats.failures++;
          return;
        }
        if (res.t !== "entries") return;
        for (const e of res.entries) if (e.version > 0 && o.sync.apply(e)) c.stats.entriesPulled++;
      }
    }),
  );
  // push the newest (now local) state to every replica of the partition that has less; replicas whose digest
  // matched this node's hold what this node held before the pull
  const pushes = new Map<string, EntryState[]>();
  for (const step of plan) {
    const mk = keys.get(step.k)!;
    const now = o.sync.current(mk.map, mk.key);
    if (now.version < step.newest) continue; // the pull failed: next round
    // written again after the cutoff (the replicas' listings leave such keys out): replication carries that write,
    // and a later round compares it
    if (now.version > before) continue;
    const differing = differ.get(step.p * DIGEST_RANGES + step.r) ?? [];
    for (const h of t.replicas(step.p)) {
      const has = differing.includes(h) ? (theirs.get(h)?.get(step.k) ?? (theirs.has(h) ? 0 : Number.POSITIVE_INFINITY)) : (mine.get(step.k) ?? 0);
      if (has < now.version) (pushes.get(h) ?? pushes.set(h, []).get(h)!).push(now);
    }
    c.stats.keysRepaired++;
  }
  await Promise.all(
    [...pushes].map(async ([h, list]) => {
      for (let i = 0; i < list.length; i += BATCH) {
        try {
          const res = await o.request(h, { t: "apply", entries: list.slice(i, i + BATCH) });
          if (res.t === "applied") c.stats.entriesPushed += Math.min(BATCH, list.length - i);
        } catch {
          c.stats.failures++;
          return;
        }
      }
    }),
  );
  if (plan.length > 0) o.log.info("anti-entropy repaired", { ranges: differ.size, keys: plan.length });
}
