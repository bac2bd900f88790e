/**
 * The data directory (`--data-dir`): where the snapshot file lives, and the
 * file I/O behind core/snapshot/persistence.ts. A snapshot is written to
 * `snapshot.shoal.tmp`, synced (fsync), renamed over `snapshot.shoal` and the
 * directory synced, so a crash or kill -9 at any moment leaves either the
 * previous snapshot or the new one, whole. `shoal.lock` holds the pid of the
 * node using the directory (a second node on the same directory is refused).
 */
import {
  close as closeCb,
  closeSync,
  fsync as fsyncCb,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rename as renameCb,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  write as writeCb,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Logger } from "../core/discovery.ts";
import type { SnapshotOutput, SnapshotStorage } from "../core/snapshot/persistence.ts";

/** File name of the snapshot inside the data directory. */
export const SNAPSHOT_FILE = "snapshot.shoal";
const TEMP_FILE = `${SNAPSHOT_FILE}.tmp`;
const LOCK_FILE = "shoal.lock";
/** Bytes read per chunk when loading. */
const READ_CHUNK = 8 << 20;
/** Writes smaller than this are gathered into one buffer first (fewer system calls). */
const GATHER = 1 << 20;

/** A data directory that cannot be used: the message names it and the fix. */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataDirError";
  }
}

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

const p = <T>(fn: (cb: (err: NodeJS.ErrnoException | null, v?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));

/** Syncs a directory's entries (a rename is durable only once its directory is). */
function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return code(e) === "EPERM";
  }
}

/** The data directory of one node. */
export class DataDir implements SnapshotStorage {
  private locked = false;

  private constructor(
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Path of the snapshot file. */
  get location(): string {
    return join(this.dir, SNAPSHOT_FILE);
  }

  /**
   * Opens `dir` for this process: creates it if needed, checks it is
   * writable, takes its lock, and removes a temporary file a crash left.
   * Throws {@link DataDirError}.
   */
  static open(dir: string, log: Logger): DataDir {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new DataDirError(`--data-dir ${dir}: cannot create it (${code(e)}); give a directory this user can write`);
    }
    const d = new DataDir(dir, log);
    d.lock();
    const temp = join(dir, TEMP_FILE);
    try {
      statSync(temp);
      rmSync(temp, { force: true });
      log.warn("removed an unfinished snapshot left by a crash or kill", { file: temp });
    } catch {
      // none left
    }
    return d;
  }

  private lock(): void {
    const path = join(this.dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx");
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.locked = true;
        return;
      } catch (e) {
        if (code(e) !== "EEXIST") throw new DataDirError(`--data-dir ${this.dir}: cannot write in it (${code(e)}); give a directory this user can write`);
      }
      const pid = Number.parseInt(readFileSafe(path), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DataDirError(`--data-dir ${this.dir}: in use by process ${pid} (${path}); give each node its own directory`);
      }
      rmSync(path, { force: true }); // left by a process that is gone
    }
    throw new DataDirError(`--data-dir ${this.dir}: could not take ${path}`);
  }

  /** Releases the directory's lock. */
  close(): void {
    if (!this.locked) return;
    this.locked = false;
    try {
      unlinkSync(join(this.dir, LOCK_FILE));
    } catch {
      // already gone
    }
  }

  /** Size of the snapshot file in bytes, or null when there is none. */
  snapshotSize(): number | null {
    try {
      return statSync(this.location).size;
    } catch (e) {
      if (code(e) === "ENOENT") return null;
      throw new DataDirError(`${this.location}: cannot read it (${code(e)})`);
    }
  }

  /** The snapshot's bytes in chunks (one buffer, reused: each chunk is valid until the next is taken). */
  *read(): Generator<Uint8Array> {
    const fd = openSync(this.location, "r");
    try {
      const buf = new Uint8Array(READ_CHUNK);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) return;
        yield buf.subarray(0, n);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Renames a bad snapshot aside (kept for inspection, never overwritten); returns its new path. */
  setAside(): string {
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    let to = join(this.dir, `${SNAPSHOT_FILE}.bad-${stamp}`);
    for (let i = 1; exists(to); i++) to = join(this.dir, `${SNAPSHOT_FILE}.bad-${stamp}-${i}`);
    renameSync(this.location, to);
    syncDir(this.dir);
    return to;
  }

  begin(sync: boolean): SnapshotOutput {
    const temp = join(this.dir, TEMP_FILE);
    const fd = openSync(temp, "w");
    return sync ? new SyncOutput(fd, temp, this.location, this.dir) : new AsyncOutput(fd, temp, this.location, this.dir, this.log);
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Collects small writes into one buffer. */
class Gatherer {
  private buf = new Uint8Array(GATHER);
  private fill = 0;

  /** Adds `bytes`; returns the buffers ready to write (in order). */
  add(bytes: Uint8Array): Uint8Array[] {
    if (bytes.length >= GATHER / 4) return this.fill > 0 ? [this.take(), bytes] : [bytes];
    const out: Uint8Array[] = [];
    if (this.fill + bytes.length > GATHER) out.push(this.take());
    this.buf.set(bytes, this.fill);
    this.fill += bytes.length;
    return out;
  }

  /** What is gathered and not handed out yet. */
  take(): Uint8Array {
    const b = this.buf.subarray(0, this.fill);
    this.buf = new Uint8Array(GATHER);
    this.fill = 0;
    return b;
  }

  get size(): number {
    return this.fill;
  }
}

function writeAllSync(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
}

/** SAVE and shutdown: every write goes to the file before the call returns. */
class SyncOutput implements SnapshotOutput {
  private readonly gather = new Gatherer();
  private open = true;
  readonly pending = 0;

  constructor(
    private readonly fd: number,
    private readonly temp: string,
    private readonly target: string,
    private readonly dir: string,
  ) {}

  write(bytes: Uint8Array): void {
    for (const b of this.gather.add(bytes)) writeAllSync(this.fd, b);
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  commit(): Promise<void> {
    if (this.gather.size > 0) writeAllSync(this.fd, this.gather.take());
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.open = false;
    renameSync(this.temp, this.target);
    syncDir(this.dir);
    return Promise.resolve();
  }

  abort(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
    rmSync(this.temp, { force: true });
  }
}

/** BGSAVE: writes run off the event loop (one in flight), in file order. */
class AsyncOutput implements SnapshotOutput {
  private readonly gather = new Gatherer();
  private readonly queue: Uint8Array[] = [];
  pending = 0;
  private writing = false;
  private failed: Error | null = null;
  private waiters: { below: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private state: "open" | "committing" | "done" = "open";
  private abandoned = false;
  private fdOpen = true;

  constructor(
    private readonly fd: number,
    private readonly temp: string,
    private readonly target: string,
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  write(bytes: Uint8Array): void {
    if (this.state !== "open") return;
    for (const b of this.gather.add(bytes)) this.enqueue(b);
  }

  private enqueue(b: Uint8Array): void {
    this.queue.push(b);
    this.pending += b.length;
    if (!this.writing) void this.pump();
  }

  private async pump(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && this.failed === null) {
        const b = this.queue[0]!;
        let off = 0;
        while (off < b.length) off += await p<number>((cb) => writeCb(this.fd, b, off, b.length - off, null, cb));
        this.queue.shift();
        this.pending -= b.length;
        this.wake();
      }
    } catch (e) {
      this.failed = e instanceof Error ? e : new Error(String(e));
      this.wake();
    } finally {
      this.writing = false;
      if (this.abandoned) this.removeTemp();
    }
  }

  private wake(): void {
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (this.failed) w.reject(this.failed);
      else if (this.pending < w.below || this.queue.length === 0) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  drain(below: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending < below) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ below, resolve, reject }));
  }

  async commit(): Promise<void> {
    if (this.gather.size > 0) this.enqueue(this.gather.take());
    this.state = "committing";
    await this.drain(1);
    await p<void>((cb) => fsyncCb(this.fd, cb));
    this.fdOpen = false;
    await p<void>((cb) => closeCb(this.fd, cb));
    this.state = "done";
    await p<void>((cb) => renameCb(this.temp, this.target, cb));
    syncDir(this.dir);
  }

  abort(): void {
    if (this.state === "done") return;
    this.state = "done";
    this.queue.length = 0;
    this.pending = 0;
    this.failed ??= new Error("snapshot abandoned");
    this.wake();
    this.abandoned = true;
    // a write in flight finishes first (pump removes the file after it)
    if (!this.writing) this.removeTemp();
    this.log.info("unfinished snapshot dropped", { file: this.temp });
  }

  private removeTemp(): void {
    if (this.fdOpen) {
      this.fdOpen = false;
      closeSync(this.fd);
    }
    rmSync(this.temp, { force: true });
  }
}
