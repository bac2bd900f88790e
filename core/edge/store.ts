/**
 * The edge map as the edge stages use it. Reads are of this node's copy (the
 * owner's, on a lookup); writes and deletes go through the cluster like any
 * client's (owner, replicas, quorum), so cached objects are spread, replicated
 * and rebalanced like every other key. Implemented over the node's map and
 * command path by the wiring (edge-node.ts); tests use a plain in-memory one.
 */

/** The edge map. Keys are strings (UTF-8 on the wire), values the encodings of object.ts. */
export interface EdgeStore {
  /** This node's copy of `key`, or null. */
  read(key: string): Uint8Array | null;
  /**
   * Writes `key` through the cluster, expiring at `expireAtMs` (Unix ms).
   * @throws Error when the cluster refused the write (quorum, size, no owner).
   */
  write(key: string, value: Uint8Array, expireAtMs: number): Promise<void>;
  /** Deletes keys through the cluster; resolves with how many existed. */
  remove(keys: readonly string[]): Promise<number>;
  /** This node's keys, one page at a time (`cursor` 0 starts; the answer's 0 ends), for tag purges. */
  scanLocal(cursor: number, count: number): { cursor: number; keys: string[] };
  /**
   * A token of this node's copy of `key` that changes whenever the entry is
   * written, or null when there is none; cheaper than {@link read} (no copy).
   * Lets the lookup keep decoded copies of hot objects.
   */
  stamp?(key: string): string | null;
}

/** An {@link EdgeStore} in one process's memory with expiry by an injected clock (tests, embedded single node). */
export class MemoryEdgeStore implements EdgeStore {
  readonly entries = new Map<string, { value: Uint8Array; expireAtMs: number; seq: number }>();
  private seq = 0;
  /** Writes seen, in order (tests look at them). */
  readonly writes: string[] = [];

  constructor(private readonly now: () => number) {}

  read(key: string): Uint8Array | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (e.expireAtMs !== 0 && e.expireAtMs <= this.now()) {
      this.entries.delete(key);
      return null;
    }
    return e.value;
  }

  async write(key: string, value: Uint8Array, expireAtMs: number): Promise<void> {
    this.writes.push(key);
    this.entries.set(key, { value: value.slice(), expireAtMs, seq: ++this.seq });
  }

  async remove(keys: readonly string[]): Promise<number> {
    let n = 0;
    for (const k of keys) if (this.entries.delete(k)) n++;
    return n;
  }

  stamp(key: string): string | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (e.expireAtMs !== 0 && e.expireAtMs <= this.now()) return null;
    return String(e.seq);
  }

  scanLocal(cursor: number, count: number): { cursor: number; keys: string[] } {
    const all = [...this.entries.keys()];
    const keys = all.slice(cursor, cursor + count);
    const next = cursor + count;
    return { cursor: next >= all.length ? 0 : next, keys };
  }
}
