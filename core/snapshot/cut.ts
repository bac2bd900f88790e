/**
 * The point-in-time cut of one map while a snapshot is written in slices.
 *
 * Consistency guarantee: the snapshot holds exactly the entries that were
 * live (and not expired) in the map at the moment the cut was taken, each
 * with the value, expiry and version it had at that moment — the same
 * guarantee a Redis fork gives — although clients keep writing while the
 * map is walked.
 *
 * How: entry indices are stable for an entry's life (entry-table.ts), so
 * the cut keeps one bit per index that existed at the cut ("done"). The walk
 * visits indices in order and writes every live entry whose bit is clear.
 * The map calls {@link MapCut.before} ahead of any change to an entry
 * (value, expiry, version, removal): if the bit is clear, the entry is
 * written right then, as it still is (copy-on-write of the touched entry
 * only), and the bit set. An insert during the cut sets the bit of its
 * index ({@link MapCut.inserted}), so an entry born after the cut is never
 * written, even when it reuses a freed index the walk has not reached.
 * Indices past the cut's high-water mark were all born after it.
 */

import { exportBlob } from "../store/collection.ts";
import type { EntryTable } from "../store/entry-table.ts";
import type { ChangeWatcher, MapStore } from "../store/map-store.ts";
import { BlockBuilder, BlockType, EntryFlag, ValueType } from "./format.ts";

/** Hands a finished block builder to the writer, which numbers and frames it. */
export type EmitBlock = (b: BlockBuilder) => void;

/** Collects the entries of one map into ENTRIES blocks of about `target` payload bytes. */
export class EntryBlocks {
  private b: BlockBuilder | null = null;
  private count = 0;
  /** Entries and key+value bytes written so far. */
  entries = 0;
  bytes = 0;

  constructor(
    readonly mapId: number,
    private readonly target: number,
    private readonly emit: EmitBlock,
    /** Entries the map held at the cut (sizes the first buffer). */
    private readonly entriesHint = 0,
  ) {}

  /** Appends entry `idx` of map `m` as it is now. */
  add(m: MapStore, idx: number): void {
    const t = m.table;
    if (!t.isString(idx)) {
      this.addBlob(t, idx, t.kind(idx), exportBlob(m, idx));
      return;
    }
    const b = this.open();
    const arena = t.arena;
    const r = t.ref[idx]!;
    const page = arena.bufferOf(r);
    const o = arena.offsetOf(r);
    const kl = t.keyLen[idx]!;
    const vl = t.valLen[idx]!;
    const exp = t.expireAt[idx]!;
    const ver = t.version[idx]!;
    b.ensure(2 + 16 + kl + vl + 16);
    b.u8(ValueType.String);
    b.u8((exp !== 0 ? EntryFlag.Expiry : 0) | (ver !== 0 ? EntryFlag.Version : 0));
    b.varint(kl);
    b.bytes(page, o, kl);
    b.varint(vl);
    b.bytes(page, o + kl + t.hdrLen[idx]!, vl);
    if (exp !== 0) b.f64(exp);
    if (ver !== 0) b.f64(ver);
    this.added(b, kl + vl);
  }

  /** Appends a hash or set entry: its canonical blob as the value. */
  private addBlob(t: EntryTable, idx: number, kind: number, blob: Uint8Array): void {
    const b = this.open();
    const kl = t.keyLen[idx]!;
    const exp = t.expireAt[idx]!;
    const ver = t.version[idx]!;
    const r = t.ref[idx]!;
    b.ensure(2 + 16 + kl + blob.length + 16);
    b.u8(kind);
    b.u8((exp !== 0 ? EntryFlag.Expiry : 0) | (ver !== 0 ? EntryFlag.Version : 0));
    b.varint(kl);
    b.bytes(t.arena.bufferOf(r), t.arena.offsetOf(r), kl);
    b.varint(blob.length);
    b.bytes(blob, 0, blob.length);
    if (exp !== 0) b.f64(exp);
    if (ver !== 0) b.f64(ver);
    this.added(b, kl + blob.length);
  }

  private open(): BlockBuilder {
    let b = this.b;
    if (b === null) {
      // a big map gets room for a whole block up front (no regrowth copies), a small one what it needs
      b = this.b = new BlockBuilder(BlockType.Entries, Math.min(this.target + 4096, 256 + this.entriesHint * 160));
      b.u32(this.mapId);
      b.u32(0); // count, patched by flush
    }
    return b;
  }

  private added(b: BlockBuilder, bytes: number): void {
    this.count++;
    this.entries++;
    this.bytes += bytes;
    if (b.payloadBytes >= this.target) this.flush();
  }

  /** Emits the open block, if it holds any entry. */
  flush(): void {
    const b = this.b;
    if (b === null || this.count === 0) return;
    new DataView(b.buf.buffer).setUint32(9 + 4, this.count, true);
    this.b = null;
    this.count = 0;
    this.emit(b);
  }
}

/** The cut of one map: watches its changes and walks its indices. */
export class MapCut implements ChangeWatcher {
  private readonly done: Uint8Array;
  /** Indices at or past this were born after the cut. */
  readonly limit: number;
  private cursor = 0;
  /** Entries written ahead of the walk because a client changed them (copy-on-write). */
  copied = 0;

  constructor(
    readonly store: MapStore,
    readonly out: EntryBlocks,
    /** Wall time of the cut: entries that had expired by then are left out. */
    private readonly cutAt: number,
  ) {
    this.limit = store.table.hiWater;
    this.done = new Uint8Array((this.limit >>> 3) + 1);
  }

  before(idx: number): void {
    if (idx >= this.limit) return;
    const bit = 1 << (idx & 7);
    const at = idx >>> 3;
    if ((this.done[at]! & bit) !== 0) return;
    this.done[at]! |= bit;
    if (this.write(idx)) this.copied++;
  }

  inserted(idx: number): void {
    if (idx < this.limit) this.done[idx >>> 3]! |= 1 << (idx & 7);
  }

  /** Walks up to `max` indices; true once every index below the limit has been visited. */
  walk(max: number): boolean {
    const t = this.store.table;
    const done = this.done;
    const end = Math.min(this.limit, this.cursor + max);
    for (let idx = this.cursor; idx < end; idx++) {
      const bit = 1 << (idx & 7);
      const at = idx >>> 3;
      if ((done[at]! & bit) !== 0) continue;
      done[at]! |= bit;
      if (t.isLive(idx)) this.write(idx);
    }
    this.cursor = end;
    return end >= this.limit;
  }

  /** Indices the walk has still to visit. */
  get remaining(): number {
    return this.limit - this.cursor;
  }

  private write(idx: number): boolean {
    const t = this.store.table;
    const exp = t.expireAt[idx]!;
    if (exp !== 0 && exp <= this.cutAt) return false;
    this.out.add(this.store, idx);
    return true;
  }
}
