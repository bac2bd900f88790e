/**
 * One connection's MULTI/EXEC state: the commands queued since MULTI, and
 * the keys it WATCHes.
 *
 * WATCH remembers each key's version (or that it was missing); every write
 * gives a key a new, strictly larger version (MapStore.stampVersion), and a
 * deletion or expiry makes it missing, so EXEC aborts when any watched key
 * no longer matches — modified, deleted, expired, flushed or created —
 * without the write paths having to know about watchers.
 */
import type { MapStore } from "../store/map-store.ts";
import type { Args } from "./args.ts";
import { type Command, keyIndices } from "./command.ts";

/** A command queued between MULTI and EXEC (its arguments copied out of the read buffer). */
export interface Queued {
  command: Command;
  args: Args;
}

interface Watch {
  map: MapStore;
  key: Uint8Array;
  /** Version when watched; -1 when the key was missing. */
  version: number;
}

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

/** Most commands one transaction may queue (each holds a copy of its arguments). */
export const MAX_QUEUED = 100_000;

/** MULTI/EXEC and WATCH state of one connection. */
export class Transaction {
  /** Commands queued since MULTI; null outside MULTI. */
  queue: Queued[] | null = null;
  /** A command was refused while queueing: EXEC answers EXECABORT. */
  aborted = false;
  private readonly watches = new Map<string, Watch>();

  get inMulti(): boolean {
    return this.queue !== null;
  }

  /** Starts queueing (MULTI). */
  begin(): void {
    this.queue = [];
    this.aborted = false;
  }

  /** Leaves MULTI and forgets every watch (EXEC, DISCARD, RESET). */
  end(): void {
    this.queue = null;
    this.aborted = false;
    this.watches.clear();
  }

  /** WATCHes a key of `map` at its current version. */
  watch(map: MapStore, key: Uint8Array): void {
    const id = `${map.name}\0${latin1(key)}`;
    if (this.watches.has(id)) return;
    this.watches.set(id, { map, key: key.slice(), version: versionOf(map, key) });
  }

  /** WATCHes a key of `map` at a version read elsewhere (its owner in a cluster); -1 = missing. */
  watchAt(map: MapStore, key: Uint8Array, version: number): void {
    const id = `${map.name}\0${latin1(key)}`;
    if (!this.watches.has(id)) this.watches.set(id, { map, key: key.slice(), version });
  }

  /** The watched keys of the default map with their versions (EXEC sends them to the owner in a cluster). */
  watched(): { key: Uint8Array; version: number }[] {
    return [...this.watches.values()].filter((w) => w.map.name === "default").map((w) => ({ key: w.key, version: w.version }));
  }

  /** Forgets every watched key (UNWATCH). */
  unwatch(): void {
    this.watches.clear();
  }

  /** Keys watched (CLIENT LIST `watch=`). */
  get watchCount(): number {
    return this.watches.size;
  }

  /** True when a watched key changed since it was watched (EXEC must then do nothing). */
  touched(): boolean {
    for (const w of this.watches.values()) if (versionOf(w.map, w.key) !== w.version) return true;
    return false;
  }
}

/** A key's current version in `map`, -1 when missing (an expired key is missing). */
function versionOf(map: MapStore, key: Uint8Array): number {
  const idx = map.lookup(key, 0, key.length, false);
  return idx < 0 ? -1 : map.table.version[idx]!;
}

const enc = new TextEncoder();
const num = (n: number): Uint8Array => enc.encode(String(n));

/** The __txexec argument list for a queued transaction and its watches. */
export function txArgv(queue: readonly Queued[], watches: readonly { key: Uint8Array; version: number }[]): Uint8Array[] {
  const out: Uint8Array[] = [enc.encode("__txexec"), num(watches.length)];
  for (const w of watches) out.push(w.key, enc.encode(String(w.version)));
  out.push(num(queue.length));
  for (const { command, args } of queue) {
    const keys = keyIndices(command, args);
    out.push(num(args.n), num(command.flags.includes("write") ? 1 : 0), num(keys.length), ...keys.map(num));
    for (let i = 0; i < args.n; i++) out.push(args.bytes(i).slice());
  }
  return out;
}

