/**
 * Persistence of a served node (`--data-dir`): opens the data directory,
 * loads its snapshot before any port opens (a corrupt one stops the start
 * with exit 2, or with `--snapshot-on-error start-empty` is set aside), and
 * builds the {@link Persistence} that SAVE/BGSAVE, the interval and SIGTERM
 * use. The file I/O is cmd/snapshot-files.ts; the format and the slicing are
 * in core/snapshot/.
 */

import type { ShoalConfig } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import type { ShoalNode } from "../core/node.ts";
import { SnapshotCorrupt } from "../core/snapshot/format.ts";
import { type LoadResult, loadSnapshot } from "../core/snapshot/load.ts";
import { Persistence } from "../core/snapshot/persistence.ts";
import type { ClusterCut } from "../core/snapshot/writer.ts";
import { systemClock } from "./runtime.ts";
import { DataDir, DataDirError } from "./snapshot-files.ts";

/** A start refused because of the data directory or its snapshot (exit status 2). */
export class StartRefused extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "StartRefused";
  }
}

/** Persistence of a node that was just loaded. */
export interface NodePersistence {
  persistence: Persistence;
  dataDir: DataDir;
  /** The loaded snapshot's clock and tombstones for the cluster layer; null when nothing was loaded. */
  restored: ClusterCut | null;
  /** Final snapshot and lock release (SIGTERM). */
  close(): Promise<void>;
  /** Lock release only (a start that failed). */
  release(): void;
}

const mib = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MiB`;

/** The file's chunks, logging progress every second on a long load. */
function* withProgress(chunks: Iterable<Uint8Array>, total: number, log: Logger): Generator<Uint8Array> {
  let read = 0;
  let lastLog = performance.now();
  for (const c of chunks) {
    yield c;
    read += c.length;
    const now = performance.now();
    if (now - lastLog >= 1000) {
      lastLog = now;
      log.info("loading snapshot", { done: `${Math.round((100 * read) / Math.max(1, total))}%`, read: mib(read), of: mib(total) });
    }
  }
}

/**
 * Opens `cfg.dataDir` and loads its snapshot into `node` (call before any
 * listener opens). Throws {@link StartRefused} when the directory cannot be
 * used or the snapshot is bad and `--snapshot-on-error` is `exit`.
 */
export function openPersistence(node: ShoalNode, cfg: ShoalConfig & { dataDir: string }, log: Logger, clustered: boolean): NodePersistence {
  let dataDir: DataDir;
  try {
    dataDir = DataDir.open(cfg.dataDir, log);
  } catch (e) {
    if (e instanceof DataDirError) throw new StartRefused(e.message);
    throw e;
  }
  let restored: ClusterCut | null = null;
  let loaded: { result: LoadResult; ms: number } | null = null;
  try {
    const size = dataDir.snapshotSize();
    if (size === null) log.info("no snapshot yet: starting empty", { file: dataDir.location });
    else {
      const t0 = performance.now();
      const result = loadSnapshot(node, withProgress(dataDir.read(), size, log), Date.now());
      const ms = performance.now() - t0;
      const ageMs = Date.now() - result.header.createdAtMs;
      if (clustered && ageMs > cfg.tombstoneGraceMs) {
        // the others forget a delete's tombstone after the grace period at the latest: the catch-up drops what no
        // member holds any more, but a copy that old is mostly stale anyway: rejoin empty and pull everything
        for (const name of node.mapNames()) node.destroyMap(name);
        log.warn("snapshot older than --tombstone-grace: not used in a cluster, starting empty", {
          file: dataDir.location,
          ageSeconds: Math.round(ageMs / 1000),
          graceSeconds: Math.round(cfg.tombstoneGraceMs / 1000),
        });
      } else {
        restored = result.cluster;
        loaded = { result, ms };
        log.info("snapshot loaded", {
          file: dataDir.location,
          keys: result.keys,
          expiredWhileDown: result.expired,
          tombstones: result.totals.tombstones,
          maps: result.totals.maps,
          bytes: result.totals.bytes,
          ms: Math.round(ms),
          savedSecondsAgo: Math.round(ageMs / 1000),
        });
      }
    }
  } catch (e) {
    const why = e instanceof SnapshotCorrupt ? `is corrupt: ${e.message}` : `cannot be read: ${(e as Error).message}`;
    const message = `snapshot ${dataDir.location} ${why}`;
    if (cfg.snapshotOnError !== "start-empty") {
      dataDir.close();
      throw new StartRefused(
        `${message}; not starting, so that no part of it is served: restore a good copy, or start with --snapshot-on-error start-empty to set the file aside and start empty`,
      );
    }
    let aside: string;
    try {
      aside = dataDir.setAside();
    } catch (err) {
      dataDir.close();
      throw new StartRefused(`${message}, and it could not be set aside (${(err as Error).message}); not starting`);
    }
    log.error(`${message}; starting empty (--snapshot-on-error start-empty)`, { keptAs: aside });
  }
  const persistence = new Persistence({
    node,
    storage: dataDir,
    clock: systemClock,
    log,
    intervalMs: cfg.snapshotIntervalMs,
    yieldTurn: () => new Promise<void>((resolve) => setImmediate(resolve)),
  });
  if (loaded) persistence.noteLoaded(loaded.result, loaded.ms);
  node.persistence = persistence;
  return {
    persistence,
    dataDir,
    restored,
    async close() {
      try {
        await persistence.shutdown();
      } catch (e) {
        log.error("final snapshot failed", { file: dataDir.location, error: (e as Error).message });
      } finally {
        dataDir.close();
      }
    },
    release() {
      dataDir.close();
    },
  };
}
