/**
 * Snapshot persistence of one node: SAVE (blocking), BGSAVE (in slices of
 * about {@link PersistenceOptions.sliceMs}, resting between slices while
 * clients are active, so they keep most of the event loop), a save every
 * `intervalMs` when anything changed, a
 * final save at shutdown, and the figures INFO's `# Persistence` section
 * shows. Runtime-neutral: the bytes go to an injected
 * {@link SnapshotStorage} (files in cmd/snapshot-files.ts) and the event
 * loop is reached through the injected Clock and `yieldTurn`.
 */
import type { Clock, Timer } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import { ShoalError } from "../errors.ts";
import type { SnapshotControl } from "../protocol/host.ts";
import type { MapStore } from "../store/map-store.ts";
import type { LoadResult } from "./load.ts";
import { type ClusterCut, SnapshotWriter } from "./writer.ts";

/** One snapshot being written to storage. */
export interface SnapshotOutput {
  /** Queues bytes in file order (the caller does not reuse the array). Synchronous outputs write at once. */
  write(bytes: Uint8Array): void;
  /** Bytes queued and not yet written. */
  readonly pending: number;
  /** Resolves once fewer than `bytes` are pending (backpressure). Rejects when a write failed. */
  drain(bytes: number): Promise<void>;
  /** Writes what is pending, syncs it to disk, and atomically replaces the previous snapshot with it. */
  commit(): Promise<void>;
  /** Drops the unfinished snapshot; the previous one stays. */
  abort(): void;
}

/** Where snapshots live (cmd/snapshot-files.ts: a data directory). */
export interface SnapshotStorage {
  /** Where the current snapshot is, for logs and INFO. */
  readonly location: string;
  /** Starts a new snapshot beside the current one. `sync`: every call completes its I/O before returning (SAVE). */
  begin(sync: boolean): SnapshotOutput;
}

/** What persistence needs of a node ({@link ShoalNode} has it). */
export interface SnapshotNode {
  readonly config: { readonly nodeName: string; readonly partitionCount: number };
  readonly stats: { readonly changes: number; readonly netInputBytes: number };
  mapNames(): string[];
  map(name: string): MapStore;
}

/** Options of {@link Persistence}. */
export interface PersistenceOptions {
  node: SnapshotNode;
  storage: SnapshotStorage;
  clock: Clock;
  log: Logger;
  /** Save in the background this often when anything changed; 0 = never on a timer. */
  intervalMs: number;
  /** Resolves on a later event-loop turn, after pending I/O (setImmediate on Bun). */
  yieldTurn(): Promise<void>;
  /** Work per slice while a BGSAVE runs, ms of the monotonic clock (default 0.5). */
  sliceMs?: number;
  /**
   * While clients are sending, the BGSAVE rests this many times its slice
   * between slices (default 2: it takes at most about a third of the event
   * loop, so a CPU-bound node keeps about two thirds of its throughput). With
   * no client input since the last slice it runs again on the next turn.
   */
  restFactor?: number;
  /** Pending bytes before a BGSAVE waits for the disk (default 32 MiB). */
  maxPendingBytes?: number;
}

/** Outcome of one save. */
export interface SaveResult {
  entries: number;
  tombstones: number;
  fileBytes: number;
  /** Entries copied ahead of the walk because clients changed them (BGSAVE). */
  copied: number;
  ms: number;
}

interface Running {
  writer: SnapshotWriter;
  output: SnapshotOutput;
  startedMono: number;
  aborted: boolean;
  done: Promise<SaveResult | null>;
}

/** The node's snapshot persistence (SAVE, BGSAVE, LASTSAVE, INFO persistence). */
export class Persistence implements SnapshotControl {
  private running: Running | null = null;
  private timer: Timer | undefined;
  private stopped = false;
  private clusterCut: (() => ClusterCut) | null = null;
  private changesAtSave: number;
  private lastSaveMs: number;
  private lastStatus: "ok" | "err" = "ok";
  private lastBgsaveSec = -1;
  private saves = 0;
  private lastSave: SaveResult | null = null;
  private loaded: { keys: number; expired: number; ms: number } | null = null;
  private scheduled = false;

  constructor(private readonly o: PersistenceOptions) {
    this.changesAtSave = o.node.stats.changes;
    this.lastSaveMs = o.clock.now();
  }

  /** Where snapshots are written. */
  get location(): string {
    return this.o.storage.location;
  }

  /** Adds the cluster layer's clock and tombstones to every snapshot from now on. */
  attachCluster(cut: () => ClusterCut): void {
    this.clusterCut = cut;
  }

  /** Records what the start-up load brought back (INFO rdb_last_load_*); `savedAtMs` becomes LASTSAVE. */
  noteLoaded(r: LoadResult, ms: number): void {
    this.loaded = { keys: r.keys, expired: r.expired, ms };
    this.lastSaveMs = r.header.createdAtMs;
    this.changesAtSave = this.o.node.stats.changes;
  }

  /** Starts the interval timer. */
  start(): void {
    if (this.o.intervalMs <= 0) return;
    const tick = (): void => {
      if (this.stopped) return;
      if (this.running === null && this.changes > 0) {
        void this.bgsave().catch((e) => this.o.log.error("periodic snapshot failed", { error: errorText(e) }));
      }
      this.timer = this.o.clock.setTimer(this.o.intervalMs, tick);
    };
    this.timer = this.o.clock.setTimer(this.o.intervalMs, tick);
  }

  /** Changes since the last successful save. */
  get changes(): number {
    return this.o.node.stats.changes - this.changesAtSave;
  }

  /** True while a BGSAVE runs. */
  get inProgress(): boolean {
    return this.running !== null;
  }

  /** Unix seconds of the last successful save (start time before the first). */
  get lastSaveUnix(): number {
    return Math.floor(this.lastSaveMs / 1000);
  }

  /**
   * SAVE: writes a whole snapshot now, blocking the node (Redis' SAVE).
   * Throws a {@link ShoalError} when a BGSAVE runs or the write fails.
   */
  async save(): Promise<SaveResult> {
    if (this.running) throw new ShoalError("ERR", "Background save already in progress");
    const started = this.o.clock.monotonic();
    const cutChanges = this.o.node.stats.changes;
    let output: SnapshotOutput | null = null;
    let writer: SnapshotWriter | null = null;
    try {
      output = this.o.storage.begin(true);
      writer = this.newWriter(output);
      while (!writer.step(1 << 20));
      await output.commit();
    } catch (e) {
      writer?.abort();
      output?.abort();
      this.lastStatus = "err";
      this.o.log.error("snapshot failed", { file: this.location, error: errorText(e) });
      throw new ShoalError("ERR", `snapshot to ${this.location} failed: ${errorText(e)}`);
    }
    return this.finished(writer, started, cutChanges, false);
  }

  /**
   * BGSAVE: takes the cut now and writes the snapshot in slices; resolves
   * when it is on disk (null when abandoned for shutdown). Throws a
   * {@link ShoalError} at once when one already runs or the snapshot cannot
   * be started; rejects when writing it fails later.
   */
  bgsave(): Promise<SaveResult | null> {
    if (this.running) throw new ShoalError("ERR", "Background save already in progress");
    const started = this.o.clock.monotonic();
    const cutChanges = this.o.node.stats.changes;
    let output: SnapshotOutput | null = null;
    let writer: SnapshotWriter;
    try {
      output = this.o.storage.begin(false);
      writer = this.newWriter(output);
    } catch (e) {
      output?.abort();
      this.lastStatus = "err";
      this.o.log.error("background snapshot failed", { file: this.location, error: errorText(e) });
      throw new ShoalError("ERR", `background snapshot to ${this.location} failed: ${errorText(e)}`);
    }
    const run: Running = { writer, output, startedMono: started, aborted: false, done: Promise.resolve(null) };
    this.running = run;
    // drive() starts on a later microtask, so run.done is set before anything it runs can look at it
    run.done = Promise.resolve()
      .then(() => this.drive(run, cutChanges))
      .finally(() => {
      if (this.running === run) this.running = null;
    });
    return run.done;
  }

  /** BGSAVE SCHEDULE: a BGSAVE now, or right after the running one. */
  schedule(): "started" | "scheduled" {
    if (!this.running) {
      void this.bgsave().catch(() => undefined);
      return "started";
    }
    if (!this.scheduled) {
      this.scheduled = true;
      void this.running.done.finally(() => {
        this.scheduled = false;
        if (!this.stopped && !this.running) void this.bgsave().catch(() => undefined);
      });
    }
    return "scheduled";
  }

  /**
   * Shutdown: abandons a running BGSAVE (its temporary file is dropped),
   * stops the timer and writes a final snapshot with SAVE when anything
   * changed since the last one (or always, with `force`).
   */
  async shutdown(force = false): Promise<SaveResult | null> {
    this.stopped = true;
    this.timer?.cancel();
    const r = this.running;
    if (r) {
      r.aborted = true;
      r.writer.abort();
      await r.done.catch(() => undefined);
    }
    if (!force && this.changes === 0 && this.saves + (this.loaded ? 1 : 0) > 0) {
      this.o.log.info("snapshot up to date, not saving at shutdown", { file: this.location });
      return null;
    }
    const res = await this.save();
    return res;
  }

  /** Fields of INFO's `# Persistence` section (Redis' names, plus shoal's own snapshot_* ones). */
  info(): [string, string | number][] {
    const r = this.running;
    const now = this.o.clock.monotonic();
    const p = r?.writer.progress;
    return [
      ["loading", 0],
      ["async_loading", 0],
      ["current_cow_peak", 0],
      ["current_cow_size", p ? p.copied : 0],
      ["current_cow_size_age", 0],
      ["current_fork_perc", p && p.entriesAtCut > 0 ? ((100 * p.entries) / p.entriesAtCut).toFixed(2) : "0.00"],
      ["current_save_keys_processed", p ? p.entries : 0],
      ["current_save_keys_total", p ? p.entriesAtCut : 0],
      ["rdb_changes_since_last_save", this.changes],
      ["rdb_bgsave_in_progress", r ? 1 : 0],
      ["rdb_last_save_time", this.lastSaveUnix],
      ["rdb_last_bgsave_status", this.lastStatus],
      ["rdb_last_bgsave_time_sec", this.lastBgsaveSec],
      ["rdb_current_bgsave_time_sec", r ? Math.floor((now - r.startedMono) / 1000) : -1],
      ["rdb_saves", this.saves],
      ["rdb_last_cow_size", this.lastSave?.copied ?? 0],
      ["rdb_last_load_keys_expired", this.loaded?.expired ?? 0],
      ["rdb_last_load_keys_loaded", this.loaded?.keys ?? 0],
      ["aof_enabled", 0],
      ["aof_rewrite_in_progress", 0],
      ["aof_rewrite_scheduled", 0],
      ["aof_last_rewrite_time_sec", -1],
      ["aof_current_rewrite_time_sec", -1],
      ["aof_last_bgrewrite_status", "ok"],
      ["aof_rewrites", 0],
      ["aof_last_write_status", "ok"],
      ["snapshot_file", this.location],
      ["snapshot_last_keys", this.lastSave?.entries ?? 0],
      ["snapshot_last_bytes", this.lastSave?.fileBytes ?? 0],
      ["snapshot_last_ms", this.lastSave ? Math.round(this.lastSave.ms) : -1],
      ["snapshot_last_load_ms", this.loaded ? Math.round(this.loaded.ms) : -1],
    ];
  }

  private newWriter(output: SnapshotOutput): SnapshotWriter {
    const node = this.o.node;
    return new SnapshotWriter({
      maps: node.mapNames().map((n) => [n, node.map(n)] as const),
      nodeName: node.config.nodeName,
      partitionCount: node.config.partitionCount,
      now: this.o.clock.now(),
      cluster: this.clusterCut?.() ?? undefined,
      sink: (b) => output.write(b),
    });
  }

  private async drive(run: Running, cutChanges: number): Promise<SaveResult | null> {
    const { writer, output } = run;
    const sliceMs = this.o.sliceMs ?? 0.5;
    const rest = sliceMs * (this.o.restFactor ?? 2);
    const maxPending = this.o.maxPendingBytes ?? 32 << 20;
    const clock = this.o.clock;
    const stats = this.o.node.stats;
    let input = -1;
    try {
      for (let done = false; !done; ) {
        // clients sent something since the last slice: rest (timers fire after the I/O of the turns between);
        // an idle node goes on at the next turn
        if (stats.netInputBytes !== input && rest > 0) await new Promise<void>((resolve) => clock.setTimer(rest, resolve));
        else await this.o.yieldTurn();
        input = stats.netInputBytes;
        if (run.aborted) throw new Error("abandoned for shutdown");
        if (output.pending > maxPending) await output.drain(maxPending / 2);
        const t0 = clock.monotonic();
        // a slice: batches of 256 indices until the time budget is spent
        do done = writer.step(256);
        while (!done && clock.monotonic() - t0 < sliceMs);
      }
      await output.commit();
      if (run.aborted) throw new Error("abandoned for shutdown");
    } catch (e) {
      writer.abort();
      output.abort();
      if (run.aborted) return null;
      this.lastStatus = "err";
      this.o.log.error("background snapshot failed", { file: this.location, error: errorText(e) });
      throw new ShoalError("ERR", `background snapshot to ${this.location} failed: ${errorText(e)}`);
    }
    return this.finished(writer, run.startedMono, cutChanges, true);
  }

  private finished(writer: SnapshotWriter, startedMono: number, cutChanges: number, background: boolean): SaveResult {
    const p = writer.progress;
    const ms = this.o.clock.monotonic() - startedMono;
    const res: SaveResult = { entries: p.entries, tombstones: p.tombstones, fileBytes: p.fileBytes, copied: p.copied, ms };
    this.lastSave = res;
    this.lastStatus = "ok";
    this.saves++;
    this.changesAtSave = cutChanges;
    this.lastSaveMs = this.o.clock.now();
    if (background) this.lastBgsaveSec = Math.round(ms / 1000);
    this.o.log.info(background ? "background snapshot saved" : "snapshot saved", {
      file: this.location,
      keys: res.entries,
      tombstones: res.tombstones,
      bytes: res.fileBytes,
      ms: Math.round(ms),
      ...(background ? { copiedOnWrite: res.copied } : {}),
    });
    return res;
  }
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
