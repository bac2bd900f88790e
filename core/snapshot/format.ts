/**
 * The snapshot file format (version 1). Runtime-neutral: bytes in, bytes out.
 *
 * ```
 * file   = magic "SHOALSNP" (8 bytes), then blocks, the first a HEADER, the last an END
 * block  = u32 len | u32 ~len | u8 type | payload[len] | u32 crc32c(u32 index | type | payload)
 * ```
 *
 * All integers are little-endian. The length is stored twice (plain and
 * inverted) so a flipped length byte is caught before the length is used;
 * the CRC covers the block's position in the file (its index), its type
 * and its payload, so every flipped byte, a swapped or repeated block and
 * (with the END block's counts) a truncated file are detected.
 *
 * Payloads:
 * - HEADER: u16 format version | f64 created (Unix ms) | str writer | str node name |
 *   u32 partition count | f64 HLC (0 on a single node)
 * - MAP: u32 map id | str name | f64 ttl ms | f64 max idle ms | f64 max keys | f64 max inuse | f64 entries at the cut
 * - ENTRIES: u32 map id | u32 count | count × entry
 *   entry = u8 value type | u8 flags (1 expiry, 2 version) | varint key length | key |
 *           varint value length | value | [f64 expire at, Unix ms] | [f64 version]
 * - TOMBSTONES: u32 map id | u32 count | count × (varint key length | key | f64 version | f64 recorded at)
 * - END: f64 entries | f64 tombstones | u32 maps | u32 blocks before this one
 *
 * Value types: 0 = string (the value bytes), 1 = hash, 2 = set (the value is
 * the collection's canonical blob, core/store/compact.ts, whatever its
 * encoding in memory). The framing treats value bytes as opaque; a reader
 * that meets a tag it does not know refuses the file rather than guess.
 */
import { crc32c } from "./crc32c.ts";

/** The 8 bytes every snapshot starts with. */
export const MAGIC = new Uint8Array([0x53, 0x48, 0x4f, 0x41, 0x4c, 0x53, 0x4e, 0x50]); // "SHOALSNP"
/** Format version written; readers accept this one and older ones they know. */
export const FORMAT_VERSION = 1;
/** Bytes before a block's payload: length, inverted length, type. */
export const FRAME_HEAD = 9;
/** Bytes after a block's payload: the CRC. */
export const FRAME_TAIL = 4;
/** Largest block payload a reader accepts (a value up to 512 MiB plus framing fits). */
export const MAX_BLOCK_PAYLOAD = 1 << 30;

/** Block types. */
export const BlockType = { Header: 1, Map: 2, Entries: 3, Tombstones: 4, End: 0x7f } as const;
export type BlockType = (typeof BlockType)[keyof typeof BlockType];

/** Value type tags of entries: the store's kinds (core/store/collection.ts Kind). */
export const ValueType = { String: 0, Hash: 1, Set: 2 } as const;
/** The highest value type this version reads. */
export const MAX_VALUE_TYPE = 2;

/** Entry flag bits. */
export const EntryFlag = { Expiry: 1, Version: 2 } as const;

/** Name of a block type for messages. */
export function blockName(type: number): string {
  switch (type) {
    case BlockType.Header:
      return "header";
    case BlockType.Map:
      return "map";
    case BlockType.Entries:
      return "entries";
    case BlockType.Tombstones:
      return "tombstones";
    case BlockType.End:
      return "end";
    default:
      return `unknown type ${type}`;
  }
}

/**
 * A snapshot that must not be served: names the block (its index in the
 * file, counting the header as block 0) and the byte offset where it starts.
 */
export class SnapshotCorrupt extends Error {
  constructor(
    readonly reason: string,
    /** Index of the bad block; -1 for the file's magic. */
    readonly block: number,
    /** Byte offset of the bad block in the file. */
    readonly offset: number,
  ) {
    super(block < 0 ? reason : `block ${block} (at byte ${offset}): ${reason}`);
    this.name = "SnapshotCorrupt";
  }
}

/** Thrown by a {@link SnapshotTarget} that cannot take an entry (a malformed value): the reader names the block. */
export class BadEntry extends Error {}

const enc = new TextEncoder();

/**
 * Builds one block in a growable buffer: payload writers, then
 * {@link BlockBuilder.finish} frames it (length, inverted length, CRC).
 */
export class BlockBuilder {
  buf: Uint8Array;
  private view: DataView;
  /** Write position (payload starts at FRAME_HEAD). */
  pos = FRAME_HEAD;

  constructor(
    type: BlockType,
    initial = 4096,
  ) {
    this.buf = new Uint8Array(Math.max(initial, 64));
    this.view = new DataView(this.buf.buffer);
    this.buf[8] = type;
  }

  /** Payload bytes so far. */
  get payloadBytes(): number {
    return this.pos - FRAME_HEAD;
  }

  /** Makes room for `n` more bytes (and the CRC). */
  ensure(n: number): void {
    const need = this.pos + n + FRAME_TAIL;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Unsigned LEB128 (up to 2^53). */
  varint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Copies `len` bytes of `src` from `off`. */
  bytes(src: Uint8Array, off: number, len: number): void {
    this.ensure(len);
    const b = this.buf;
    let p = this.pos;
    if (len <= 32) for (let i = 0; i < len; i++) b[p++] = src[off + i]!;
    else {
      b.set(src.subarray(off, off + len), p);
      p += len;
    }
    this.pos = p;
  }

  /** A UTF-8 string with a varint length. */
  str(s: string): void {
    const b = enc.encode(s);
    this.varint(b.length);
    this.bytes(b, 0, b.length);
  }

  /** Frames the block as block number `index` of its file; returns the framed bytes (a view of this builder's buffer). */
  finish(index: number): Uint8Array {
    const len = this.pos - FRAME_HEAD;
    this.view.setUint32(0, len, true);
    this.view.setUint32(4, ~len >>> 0, true);
    this.view.setUint32(this.pos, blockCrc(index, this.buf, 8, len + 1), true);
    return this.buf.subarray(0, this.pos + FRAME_TAIL);
  }
}

const indexBytes = new Uint8Array(4);
const indexView = new DataView(indexBytes.buffer);

/** CRC of block number `index` over its type byte and payload (`buf[off, off+len)`). */
export function blockCrc(index: number, buf: Uint8Array, off: number, len: number): number {
  indexView.setUint32(0, index >>> 0, true);
  return crc32c(buf, off, len, crc32c(indexBytes));
}

const dec = new TextDecoder("utf-8", { fatal: true });

/**
 * Bounds-checked reads over one block's payload; every overrun throws a
 * {@link SnapshotCorrupt} naming the block (a valid CRC over a payload that
 * does not parse means a writer bug or a forged file: still never served).
 */
export class PayloadCursor {
  private readonly view: DataView;
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    private readonly block: number,
    private readonly offset: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  fail(reason: string): never {
    throw new SnapshotCorrupt(reason, this.block, this.offset);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) this.fail(`${what} runs past the end of the block`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  varint(what: string): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what);
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    return this.fail(`${what}: length field too long`);
  }

  /** Skips `len` bytes and returns where they start (the bytes stay in {@link buf}). */
  span(len: number, what: string): number {
    this.need(len, what);
    const at = this.pos;
    this.pos += len;
    return at;
  }

  str(what: string): string {
    const len = this.varint(what);
    const at = this.span(len, what);
    try {
      return dec.decode(this.buf.subarray(at, at + len));
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }

  /** Throws unless the whole payload was read. */
  done(what: string): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected bytes after the ${what}`);
  }
}
