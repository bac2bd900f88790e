/**
 * Content types of values written over HTTP, kept beside the store.
 *
 * The store holds raw bytes only (RESP GET must return exactly what was
 * written), so the Content-Type given on `PUT` lives here, keyed by map and
 * key, together with the hash of the value it was written with. A read uses
 * the remembered type only when the current value still has that hash; a
 * value overwritten through RESP (or evicted and rewritten) therefore falls
 * back to `application/octet-stream` instead of a stale type. The table is
 * bounded: past `maxEntries` the least recently written entry is dropped and
 * that key is served as `application/octet-stream`.
 */

/** Served when no type is remembered for a value. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

interface TypedValue {
  type: string;
  hash: string;
}

/** Bounded map of (map, key) → content type of the value written over HTTP. */
export class ContentTypeTable {
  private readonly entries = new Map<string, TypedValue>();

  /** @param maxEntries most entries kept (oldest write dropped first); 0 disables the table. */
  constructor(readonly maxEntries: number) {}

  /** Remembers `type` for the value with `hash`; the default type is not stored. */
  remember(map: string, key: string, type: string | undefined, hash: string): void {
    const id = slot(map, key);
    this.entries.delete(id);
    if (!type || type === DEFAULT_CONTENT_TYPE || this.maxEntries === 0) return;
    this.entries.set(id, { type, hash });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** The type to serve for the value with `hash`. */
  typeOf(map: string, key: string, hash: string): string {
    const e = this.entries.get(slot(map, key));
    return e !== undefined && e.hash === hash ? e.type : DEFAULT_CONTENT_TYPE;
  }

  /** Forgets one key. */
  forget(map: string, key: string): void {
    this.entries.delete(slot(map, key));
  }

  /** Forgets every key of a map (O(entries)). */
  forgetMap(map: string): void {
    const prefix = slot(map, "");
    for (const id of this.entries.keys()) if (id.startsWith(prefix)) this.entries.delete(id);
  }

  /** Number of remembered types. */
  get size(): number {
    return this.entries.size;
  }
}

function slot(map: string, key: string): string {
  return `${map.length}:${map}${key}`;
}
