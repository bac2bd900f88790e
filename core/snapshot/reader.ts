/**
 * Streaming snapshot reader: feed the file's bytes in chunks of any size
 * ({@link SnapshotReader.push}), then {@link SnapshotReader.end}. Each
 * block is checked (length guard, CRC, order, parse) before anything in it
 * reaches the {@link SnapshotTarget}; the first bad block throws a
 * {@link SnapshotCorrupt} naming it. Blocks before a bad one may already have
 * been delivered: a caller that must not serve a bad file discards what it
 * loaded (see load.ts).
 */
import {
  BadEntry,
  BlockType,
  blockCrc,
  blockName,
  EntryFlag,
  FORMAT_VERSION,
  FRAME_TAIL,
  MAGIC,
  MAX_BLOCK_PAYLOAD,
  MAX_VALUE_TYPE,
  PayloadCursor,
  SnapshotCorrupt,
} from "./format.ts";

/** What the HEADER block says. */
export interface SnapshotHeader {
  formatVersion: number;
  /** When the snapshot's cut was taken, Unix ms. */
  createdAtMs: number;
  writer: string;
  nodeName: string;
  partitionCount: number;
  /** The writer's hybrid logical clock at the cut (0 on a single node). */
  hlc: number;
}

/** A MAP block: the map's settings and its entry count when the cut was taken. */
export interface SnapshotMapMeta {
  name: string;
  ttlMs: number;
  maxIdleMs: number;
  maxKeys: number;
  maxInuse: number;
  entriesAtCut: number;
}

/** Totals from the END block (checked against what was read). */
export interface SnapshotTotals {
  entries: number;
  tombstones: number;
  maps: number;
  blocks: number;
  bytes: number;
}

/** Receives a snapshot's content block by block (only from blocks that checked out). */
export interface SnapshotTarget {
  header(h: SnapshotHeader): void;
  map(id: number, meta: SnapshotMapMeta): void;
  /**
   * One entry. `buf[keyAt, keyAt+keyLen)` is the key and `buf[valueAt, valueAt+valueLen)`
   * the value: views valid only during the call. `expireAt` 0 = none; `version` 0 = none.
   * Throws {@link BadEntry} for a value it cannot take.
   */
  entry(map: number, type: number, buf: Uint8Array, keyAt: number, keyLen: number, valueAt: number, valueLen: number, expireAt: number, version: number): void;
  tombstone(map: number, key: Uint8Array, version: number, recordedAtMs: number): void;
}

enum State {
  Magic,
  Head,
  Body,
  Done,
}

/** Incremental parser of one snapshot file. */
export class SnapshotReader {
  private state = State.Magic;
  /** Bytes of the current unit (magic, frame head, or frame body) collected so far. */
  private scratch = new Uint8Array(8);
  private fill = 0;
  private body: Uint8Array | null = null;
  private bodyLen = 0;
  private blockIndex = 0;
  private blockOffset = 0;
  /** Bytes consumed so far (the file offset of the next byte). */
  private offset = 0;
  private readonly maps = new Set<number>();
  private entries = 0;
  private tombstones = 0;
  private totals: SnapshotTotals | null = null;

  constructor(private readonly target: SnapshotTarget) {}

  /** Feeds the next bytes of the file. Throws {@link SnapshotCorrupt} at the first bad block. */
  push(chunk: Uint8Array): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === State.Done) {
        throw new SnapshotCorrupt(`${n - i} bytes follow the end block (the file was appended to or two files were joined)`, this.blockIndex, this.offset);
      }
      if (this.state === State.Body) {
        if (this.fill === 0 && n - i >= this.bodyLen) {
          // the whole block is in this chunk: parse it in place
          this.block(chunk, i);
          i += this.bodyLen;
          this.offset += this.bodyLen;
          continue;
        }
        if (this.body === null) this.body = new Uint8Array(this.bodyLen);
        const take = Math.min(this.bodyLen - this.fill, n - i);
        this.body.set(chunk.subarray(i, i + take), this.fill);
        this.fill += take;
        i += take;
        this.offset += take;
        if (this.fill === this.bodyLen) {
          const b = this.body;
          this.body = null;
          this.fill = 0;
          this.block(b, 0);
        }
        continue;
      }
      // magic or frame head: 8 bytes
      const take = Math.min(8 - this.fill, n - i);
      this.scratch.set(chunk.subarray(i, i + take), this.fill);
      this.fill += take;
      i += take;
      this.offset += take;
      if (this.fill < 8) continue;
      this.fill = 0;
      if (this.state === State.Magic) {
        for (let k = 0; k < 8; k++) {
          if (this.scratch[k] !== MAGIC[k]) throw new SnapshotCorrupt("not a shoal snapshot (bad magic bytes at the start of the file)", -1, 0);
        }
        this.state = State.Head;
        continue;
      }
      this.frameHead();
    }
  }

  /** Call after the last chunk: checks the file ended right after its END block. Returns the totals. */
  end(): SnapshotTotals {
    if (this.state === State.Done && this.totals) return { ...this.totals, bytes: this.offset };
    if (this.state === State.Magic) throw new SnapshotCorrupt(`not a shoal snapshot (${this.offset + this.fill} bytes, shorter than the magic)`, -1, 0);
    if (this.state === State.Body || this.fill > 0) {
      throw new SnapshotCorrupt(`the file ends inside this block (truncated at byte ${this.offset}: the write did not finish)`, this.blockIndex, this.blockOffset);
    }
    throw new SnapshotCorrupt(`the file ends after ${this.blockIndex} blocks without an end block (truncated at byte ${this.offset})`, this.blockIndex, this.offset);
  }

  private frameHead(): void {
    const v = new DataView(this.scratch.buffer);
    const len = v.getUint32(0, true);
    const guard = v.getUint32(4, true);
    this.blockOffset = this.offset - 8;
    if ((~len >>> 0) !== guard) throw new SnapshotCorrupt(`damaged length field (${len} does not match its check ${guard})`, this.blockIndex, this.blockOffset);
    if (len > MAX_BLOCK_PAYLOAD) throw new SnapshotCorrupt(`block length ${len} exceeds the limit ${MAX_BLOCK_PAYLOAD}`, this.blockIndex, this.blockOffset);
    this.bodyLen = 1 + len + FRAME_TAIL;
    this.state = State.Body;
  }

  /** Checks and delivers one framed block whose type byte is `buf[at]`. */
  private block(buf: Uint8Array, at: number): void {
    const index = this.blockIndex;
    const len = this.bodyLen - 1 - FRAME_TAIL;
    const type = buf[at]!;
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const stored = v.getUint32(at + 1 + len, true);
    const computed = blockCrc(index, buf, at, 1 + len);
    if (stored !== computed) {
      throw new SnapshotCorrupt(
        `checksum mismatch in the ${blockName(type)} block (stored ${hex(stored)}, computed ${hex(computed)})`,
        index,
        this.blockOffset,
      );
    }
    const c = new PayloadCursor(buf, at + 1, at + 1 + len, index, this.blockOffset);
    if (index === 0 && type !== BlockType.Header) c.fail(`the first block is a ${blockName(type)} block, not the header`);
    if (index > 0 && type === BlockType.Header) c.fail("a second header block");
    switch (type) {
      case BlockType.Header:
        this.header(c);
        break;
      case BlockType.Map:
        this.mapBlock(c);
        break;
      case BlockType.Entries:
        this.entriesBlock(c);
        break;
      case BlockType.Tombstones:
        this.tombstonesBlock(c);
        break;
      case BlockType.End:
        this.endBlock(c);
        break;
      default:
        c.fail(`unknown block type ${type} (written by a newer shoal?)`);
    }
    this.blockIndex++;
    if (this.state !== State.Done) this.state = State.Head;
  }

  private header(c: PayloadCursor): void {
    const formatVersion = c.u16("format version");
    if (formatVersion === 0 || formatVersion > FORMAT_VERSION) {
      c.fail(`format version ${formatVersion}; this shoal reads up to version ${FORMAT_VERSION} (written by a newer shoal?)`);
    }
    const h: SnapshotHeader = {
      formatVersion,
      createdAtMs: c.f64("creation time"),
      writer: c.str("writer"),
      nodeName: c.str("node name"),
      partitionCount: c.u32("partition count"),
      hlc: c.f64("clock"),
    };
    c.done("header");
    this.target.header(h);
  }

  private mapBlock(c: PayloadCursor): void {
    const id = c.u32("map id");
    if (this.maps.has(id)) c.fail(`map id ${id} declared twice`);
    const meta: SnapshotMapMeta = {
      name: c.str("map name"),
      ttlMs: c.f64("ttl"),
      maxIdleMs: c.f64("max idle"),
      maxKeys: c.f64("max keys"),
      maxInuse: c.f64("max inuse"),
      entriesAtCut: c.f64("entry count"),
    };
    c.done("map settings");
    this.maps.add(id);
    this.target.map(id, meta);
  }

  private mapId(c: PayloadCursor): number {
    const id = c.u32("map id");
    if (!this.maps.has(id)) c.fail(`map id ${id} was not declared by an earlier map block`);
    return id;
  }

  private entriesBlock(c: PayloadCursor): void {
    const map = this.mapId(c);
    const count = c.u32("entry count");
    // the CRC already vouched for the bytes; a parse failure here means a writer bug or a forged file, and the
    // loader discards everything it loaded on any error, so one pass that checks as it delivers is enough
    for (let k = 0; k < count; k++) this.entry(c, map, k);
    c.done("entries");
    this.entries += count;
  }

  private entry(c: PayloadCursor, map: number, k: number): void {
    const type = c.u8("value type");
    if (type > MAX_VALUE_TYPE) c.fail(`entry ${k} has value type ${type}, which this shoal cannot read (written by a newer shoal?)`);
    const flags = c.u8("entry flags");
    if (flags > 3) c.fail(`entry ${k} has unknown flags ${flags}`);
    const keyLen = c.varint("key length");
    const keyAt = c.span(keyLen, `key of entry ${k}`);
    const valueLen = c.varint("value length");
    const valueAt = c.span(valueLen, `value of entry ${k}`);
    const expireAt = flags & EntryFlag.Expiry ? c.f64("expiry") : 0;
    const version = flags & EntryFlag.Version ? c.f64("version") : 0;
    if (!(expireAt >= 0 && Number.isFinite(expireAt))) c.fail(`entry ${k} has a bad expiry ${expireAt}`);
    if (!(version >= 0 && Number.isSafeInteger(version))) c.fail(`entry ${k} has a bad version ${version}`);
    try {
      this.target.entry(map, type, c.buf, keyAt, keyLen, valueAt, valueLen, expireAt, version);
    } catch (e) {
      if (e instanceof BadEntry) c.fail(`entry ${k}: ${e.message}`);
      throw e;
    }
  }

  private tombstonesBlock(c: PayloadCursor): void {
    const map = this.mapId(c);
    const count = c.u32("tombstone count");
    for (let k = 0; k < count; k++) {
      const len = c.varint("key length");
      const at = c.span(len, `key of tombstone ${k}`);
      const version = c.f64("version");
      const recorded = c.f64("recorded time");
      if (!(version >= 0 && Number.isSafeInteger(version))) c.fail(`tombstone ${k} has a bad version ${version}`);
      this.target.tombstone(map, c.buf.slice(at, at + len), version, recorded);
    }
    c.done("tombstones");
    this.tombstones += count;
  }

  private endBlock(c: PayloadCursor): void {
    const entries = c.f64("entry total");
    const tombstones = c.f64("tombstone total");
    const maps = c.u32("map total");
    const blocks = c.u32("block total");
    c.done("end block");
    if (entries !== this.entries) c.fail(`the end block counts ${entries} entries, the file holds ${this.entries} (blocks missing)`);
    if (tombstones !== this.tombstones) c.fail(`the end block counts ${tombstones} tombstones, the file holds ${this.tombstones}`);
    if (maps !== this.maps.size) c.fail(`the end block counts ${maps} maps, the file holds ${this.maps.size}`);
    if (blocks !== this.blockIndex) c.fail(`the end block counts ${blocks} blocks before it, the file holds ${this.blockIndex}`);
    this.totals = { entries, tombstones, maps, blocks: this.blockIndex + 1, bytes: 0 };
    this.state = State.Done;
  }
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, "0")}`;
