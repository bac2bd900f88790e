/**
 * Entry states serialised as they are queued: the binary entry list of the
 * data protocol (see {@link packEntries} for the layout) built record by
 * record into one growing buffer. Replication appends each write's state
 * here straight from the store — no EntryState object, no copy of the value
 * into a fresh array — and a turn's batch for one replica becomes a single
 * payload.
 */
import type { MapStore } from "../store/map-store.ts";
import type { EntryState } from "./peer-protocol.ts";

/** Distinct maps one entry list may name (the map index has 14 bits; the kind takes the other 2). */
export const MAX_MAPS = 1 << 14;

const utf8 = new TextEncoder();

/** Bytes of a record besides its key and value: u16 map index and kind, u32 key length, i32 value length, f64 expireAt, f64 version. */
const RECORD_OVERHEAD = 2 + 4 + 4 + 16;

/** A growing binary entry list (the wire form of `EntryState[]`). */
export class EntryBatch {
  private buf: Uint8Array;
  private dv: DataView;
  private len = 0;
  /** Entries appended so far. */
  count = 0;
  private readonly mapIndex = new Map<string, number>();
  private readonly names: Uint8Array[] = [];

  constructor(initialBytes = 1024) {
    this.buf = new Uint8Array(initialBytes);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Bytes of the records so far (the header and map names excluded). */
  get byteLength(): number {
    return this.len;
  }

  /** Appends one entry state. Throws RangeError past 16,384 distinct maps. */
  add(e: EntryState): void {
    const value = e.value;
    const at = this.record(e.map, e.kind ?? 0, e.key.length, value === null ? -1 : value.length, e.expireAt, e.version);
    this.buf.set(e.key, at);
    if (value !== null) this.buf.set(value, at + e.key.length + 4);
  }

  /** Appends live entry `idx` of `store` (a plain string value) at `version`, copying key and value straight from the arena. */
  addStored(map: string, store: MapStore, idx: number, version: number): void {
    const t = store.table;
    const keyLen = t.keyLen[idx]!;
    const at = this.record(map, 0, keyLen, t.valLen[idx]!, t.expireAt[idx]!, version);
    t.copyKeyTo(idx, this.buf, at);
    t.copyValueTo(idx, this.buf, at + keyLen + 4);
  }

  /** Appends a deletion of `key` at `version`. */
  addDeletion(map: string, key: Uint8Array, version: number): void {
    const at = this.record(map, 0, key.length, -1, 0, version);
    this.buf.set(key, at);
  }

  /** The entry list as one buffer (header, map names, records); the batch is not reusable afterwards. */
  finish(): Uint8Array {
    let head = 6;
    for (const n of this.names) head += 2 + n.length;
    const out = new Uint8Array(head + this.len);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, this.count, true);
    dv.setUint16(4, this.names.length, true);
    let o = 6;
    for (const n of this.names) {
      dv.setUint16(o, n.length, true);
      out.set(n, o + 2);
      o += 2 + n.length;
    }
    out.set(this.buf.subarray(0, this.len), o);
    return out;
  }

  /**
   * Writes a record's fixed fields around a gap for the key (and value,
   * unless `valueLen` is −1); returns the key's offset in {@link buf}.
   */
  private record(map: string, kind: number, keyLen: number, valueLen: number, expireAt: number, version: number): number {
    let mi = this.mapIndex.get(map);
    if (mi === undefined) {
      mi = this.names.length;
      if (mi === MAX_MAPS) throw new RangeError(`peer protocol: more than ${MAX_MAPS} maps in one entry list`);
      this.mapIndex.set(map, mi);
      this.names.push(utf8.encode(map));
    }
    const need = RECORD_OVERHEAD + keyLen + Math.max(0, valueLen);
    if (this.len + need > this.buf.length) this.grow(this.len + need);
    const dv = this.dv;
    let o = this.len;
    dv.setUint16(o, mi | (kind << 14), true);
    dv.setUint32(o + 2, keyLen, true);
    const keyAt = o + 6;
    o = keyAt + keyLen;
    dv.setInt32(o, valueLen, true);
    o += 4 + Math.max(0, valueLen);
    dv.setFloat64(o, expireAt, true);
    dv.setFloat64(o + 8, version, true);
    this.len = o + 16;
    this.count++;
    return keyAt;
  }

  private grow(min: number): void {
    let size = this.buf.length * 2;
    while (size < min) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
}
