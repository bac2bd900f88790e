/**
 * Per-key ordering on a partition owner. Two tables, keyed by map NUL key:
 * - `unsettled`: a replicated write whose quorum is not known yet. It is
 *   already in the local store but may still be rolled back, so what reads
 *   the key waits for it (no dirty read, no read-repair of it);
 * - `queued`: a command waiting on the key; whatever comes for the key next
 *   waits behind it, so a key's commands keep their order.
 */

/** Which of the two tables a command waits on. */
export type WaitTable = "queued" | "unsettled";

/** The owner's per-key wait tables. */
export class KeyWaits {
  private readonly tables: Record<WaitTable, Map<string, Promise<unknown>>> = { queued: new Map(), unsettled: new Map() };

  /** True when no key has anything pending (the common case: no lookup needed). */
  get idle(): boolean {
    return this.tables.queued.size === 0 && this.tables.unsettled.size === 0;
  }

  /** True when some write is unsettled. */
  get anyUnsettled(): boolean {
    return this.tables.unsettled.size > 0;
  }

  /** Settles when every promise `tables` hold for one of `keys` has; null when none does. */
  pendingOn(map: string, keys: readonly Uint8Array[], tables: readonly WaitTable[]): Promise<unknown> | null {
    const waits: Promise<unknown>[] = [];
    for (const k of keys) {
      const id = keyId(map, k);
      for (const t of tables) {
        const w = this.tables[t].get(id);
        if (w) waits.push(w);
      }
    }
    if (waits.length === 0) return null;
    return waits.length === 1 ? waits[0]! : Promise.all(waits);
  }

  /** Holds `p` (settled either way) under each of `keys` in `table` until it settles, unless replaced meanwhile. */
  holdUntil(table: WaitTable, map: string, keys: readonly Uint8Array[], p: Promise<unknown>): void {
    const t = this.tables[table];
    const ids = keys.map((k) => keyId(map, k));
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    for (const id of ids) t.set(id, settled);
    void settled.then(() => {
      for (const id of ids) if (t.get(id) === settled) t.delete(id);
    });
  }
}

function keyId(map: string, key: Uint8Array): string {
  let s = `${map}\0`;
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}
