/**
 * Writes a snapshot of a node's maps as a stream of framed blocks, in
 * bounded slices: {@link SnapshotWriter.step} walks a given number of entry
 * indices and returns, so a caller can yield to the event loop between
 * slices while clients keep writing. The content is the point-in-time cut
 * taken by the constructor (see cut.ts for the guarantee and how).
 */
import type { MapStore } from "../store/map-store.ts";
import { SHOAL_VERSION } from "../version.ts";
import { EntryBlocks, MapCut } from "./cut.ts";
import { BlockBuilder, BlockType, FORMAT_VERSION, MAGIC } from "./format.ts";

/** A tombstone (a deletion remembered by the cluster layer) as the snapshot keeps it. */
export interface TombstoneRecord {
  map: string;
  key: Uint8Array;
  version: number;
  /** Wall ms when it was recorded (its age counts towards the GC horizon after a restart too). */
  at: number;
}

/** The cluster layer's part of a snapshot, taken at the cut. */
export interface ClusterCut {
  /** The hybrid logical clock: versions issued after a restart stay above it. */
  hlc: number;
  tombstones: TombstoneRecord[];
}

/** Options of {@link SnapshotWriter}. */
export interface SnapshotWriterOptions {
  /** The maps to save, by name (the node's maps at the cut). */
  maps: ReadonlyArray<readonly [string, MapStore]>;
  nodeName: string;
  partitionCount: number;
  /** Wall time of the cut, Unix ms. */
  now: number;
  cluster?: ClusterCut;
  /** Target payload bytes per ENTRIES block (default 256 KiB). */
  blockBytes?: number;
  /** Receives the file's bytes in order: the magic, then each framed block (the array may be kept). */
  sink(bytes: Uint8Array): void;
}

/** Progress and size of a snapshot being written. */
export interface SnapshotProgress {
  /** Live entries at the cut (an upper bound: expired ones are left out). */
  entriesAtCut: number;
  /** Entries written so far. */
  entries: number;
  /** Entries written ahead of the walk because a client changed them (copy-on-write). */
  copied: number;
  /** Key and value bytes written so far. */
  dataBytes: number;
  tombstones: number;
  /** Bytes handed to the sink so far. */
  fileBytes: number;
  blocks: number;
}

/** One snapshot being written. Construct to take the cut; call {@link step} until it returns true. */
export class SnapshotWriter {
  private readonly cuts: MapCut[] = [];
  private readonly outs: EntryBlocks[] = [];
  private current = 0;
  private blocks = 0;
  private fileBytes = 0;
  private tombstones = 0;
  private finished = false;
  private detached = false;

  constructor(private readonly o: SnapshotWriterOptions) {
    const target = o.blockBytes ?? 256 * 1024;
    for (const [, store] of o.maps) {
      if (store.watcher !== null) throw new Error(`map ${store.name}: a snapshot is already being written`);
    }
    this.out(MAGIC);
    const h = new BlockBuilder(BlockType.Header, 256);
    h.u16(FORMAT_VERSION);
    h.f64(o.now);
    h.str(`shoal ${SHOAL_VERSION}`);
    h.str(o.nodeName);
    h.u32(o.partitionCount);
    h.f64(o.cluster?.hlc ?? 0);
    this.emit(h);
    const ids = new Map<string, number>();
    o.maps.forEach(([name, store], id) => {
      ids.set(name, id);
      const m = new BlockBuilder(BlockType.Map, 128);
      m.u32(id);
      m.str(name);
      m.f64(store.limits.ttlMs);
      m.f64(store.limits.maxIdleMs);
      m.f64(store.limits.maxKeys);
      m.f64(store.limits.maxInuse);
      m.f64(store.table.size);
      this.emit(m);
      const out = new EntryBlocks(id, target, (b) => this.emit(b), store.table.size);
      const cut = new MapCut(store, out, o.now);
      store.watcher = cut;
      this.outs.push(out);
      this.cuts.push(cut);
    });
    if (o.cluster) this.writeTombstones(o.cluster.tombstones, ids, target);
  }

  /** Visits up to `maxIndices` entry indices; true once the snapshot is complete (END written, watchers removed). */
  step(maxIndices: number): boolean {
    if (this.finished) return true;
    let left = maxIndices;
    while (this.current < this.cuts.length && left > 0) {
      const cut = this.cuts[this.current]!;
      const before = cut.remaining;
      const done = cut.walk(left);
      left -= before - cut.remaining;
      if (done) this.current++;
    }
    if (this.current < this.cuts.length) return false;
    this.detach();
    for (const out of this.outs) out.flush();
    const end = new BlockBuilder(BlockType.End, 64);
    const p = this.progress;
    end.f64(p.entries);
    end.f64(this.tombstones);
    end.u32(this.cuts.length);
    end.u32(this.blocks);
    this.emit(end);
    this.finished = true;
    return true;
  }

  /** Stops watching the maps (the snapshot is abandoned; nothing more is written). */
  abort(): void {
    this.detach();
    this.finished = true;
  }

  get progress(): SnapshotProgress {
    let entries = 0;
    let copied = 0;
    let dataBytes = 0;
    let entriesAtCut = 0;
    for (const out of this.outs) {
      entries += out.entries;
      dataBytes += out.bytes;
    }
    for (const cut of this.cuts) {
      copied += cut.copied;
      entriesAtCut += cut.store.table.size;
    }
    return { entriesAtCut, entries, copied, dataBytes, tombstones: this.tombstones, fileBytes: this.fileBytes, blocks: this.blocks };
  }

  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    for (const cut of this.cuts) if (cut.store.watcher === cut) cut.store.watcher = null;
  }

  private writeTombstones(list: readonly TombstoneRecord[], ids: Map<string, number>, target: number): void {
    const byMap = new Map<number, TombstoneRecord[]>();
    for (const t of list) {
      const id = ids.get(t.map);
      if (id === undefined) continue; // a map destroyed since: its tombstones protect nothing here
      let l = byMap.get(id);
      if (!l) byMap.set(id, (l = []));
      l.push(t);
    }
    for (const [id, l] of byMap) {
      for (let i = 0; i < l.length; ) {
        const b = new BlockBuilder(BlockType.Tombstones, 4096);
        b.u32(id);
        b.u32(0);
        let n = 0;
        for (; i < l.length && b.payloadBytes < target; i++, n++) {
          const t = l[i]!;
          b.varint(t.key.length);
          b.bytes(t.key, 0, t.key.length);
          b.f64(t.version);
          b.f64(t.at);
        }
        new DataView(b.buf.buffer).setUint32(9 + 4, n, true);
        this.tombstones += n;
        this.emit(b);
      }
    }
  }

  private emit(b: BlockBuilder): void {
    this.out(b.finish(this.blocks++));
  }

  private out(bytes: Uint8Array): void {
    this.fileBytes += bytes.length;
    this.o.sink(bytes);
  }
}
