/**
 * The node's data API, shared by the RESP commands, the HTTP API and the
 * embedded client. Keys and values are bytes; strings are UTF-8 encoded.
 */

/** Key or value input: bytes, or a string encoded as UTF-8. */
export type Bytes = Uint8Array | string;

/** Options of a put (DM.PUT / SET). Times are milliseconds. */
export interface PutOptions {
  /** Relative time to live in ms (EX/PX). */
  ttlMs?: number;
  /** Absolute expiry, Unix ms (EXAT/PXAT). */
  expireAtMs?: number;
  /** Only set when the key does not exist. */
  nx?: boolean;
  /** Only set when the key exists. */
  xx?: boolean;
  /** Keep the existing TTL (Redis KEEPTTL). */
  keepTtl?: boolean;
}

/** Options of `getOrLoad`. */
export interface LoadOptions {
  /** TTL of the loaded value: milliseconds or a duration such as "30s" (default: the map's TTL). */
  ttl?: number | string;
  /** The same in milliseconds. */
  ttlMs?: number;
  /** In a cluster: how long the loading member may hold the key's lock (and others wait for it), ms. Default 30,000. */
  lockLeaseMs?: number;
}

/** One page of a cursor scan. Cursor 0 means the scan is complete. */
export interface ScanPage {
  cursor: number;
  keys: Uint8Array[];
}

/** Eviction settings of a map (Olric's DMap config). 0 means unlimited. */
export interface MapLimits {
  /** Default TTL in ms applied when a put has none. */
  ttlMs: number;
  /** Entries idle (not read or written) longer than this expire. */
  maxIdleMs: number;
  /** Maximum number of keys; LRU-evicts past it. */
  maxKeys: number;
  /** Maximum bytes in use (keys + values + per-entry overhead); LRU-evicts past it. */
  maxInuse: number;
}

/** A lock grant: release with the token; the fencing token increases per key. */
export interface LockGrant {
  token: string;
  fencing: number;
  expiresAtMs: number;
}

/** A named map (Olric DMap). */
export interface DMap {
  readonly name: string;
  /** The value, or null when missing/expired. */
  get(key: Bytes): Uint8Array | null;
  /** Stores a value; returns false when NX/XX prevented it. */
  put(key: Bytes, value: Bytes, opts?: PutOptions): boolean;
  /** Stores and returns the previous value (DM.GETPUT / GETSET). */
  getPut(key: Bytes, value: Bytes): Uint8Array | null;
  /** Deletes; returns true when a live key was removed. */
  delete(key: Bytes): boolean;
  /** Remaining TTL in ms: -2 when missing, -1 when it has none. */
  ttl(key: Bytes): number;
  /** Sets a relative TTL (ms); <= 0 deletes. False when missing. */
  expire(key: Bytes, ttlMs: number): boolean;
  /** Sets an absolute expiry (Unix ms). False when missing. */
  expireAt(key: Bytes, atMs: number): boolean;
  /** Removes the TTL; true when there was one. */
  persist(key: Bytes): boolean;
  /** Adds `by` to an integer value (missing = 0); throws ProtocolError-like errors on non-integers/overflow. */
  incrBy(key: Bytes, by: number | bigint): bigint;
  /** Adds `by` to a float value; returns the new value as Redis formats it. */
  incrByFloat(key: Bytes, by: number): string;
  /** Cursor scan; `match` is a Redis glob. */
  scan(cursor: number, count: number, match?: string): ScanPage;
  /** Live key count. */
  size(): number;
  /** Removes every key. */
  clear(): void;
  /**
   * The value of `key`; when missing, `loader(key)` is called once (calls for
   * the same key meanwhile wait for it) and its value stored with `opts.ttl`.
   * A loader answering null stores nothing and resolves null. See core/read-through.ts.
   */
  getOrLoad(key: Bytes, loader: (key: Bytes) => Bytes | null | Promise<Bytes | null>, opts?: LoadOptions): Promise<Uint8Array | null>;
  /** Acquires a lock on key, waiting up to `waitMs`; null when not acquired. */
  lock(key: Bytes, leaseMs: number, waitMs: number): Promise<LockGrant | null>;
  /** Releases a lock; false when the token does not hold it. */
  unlock(key: Bytes, token: string): boolean;
  /** Extends a held lock's lease; false when the token does not hold it. */
  lockLease(key: Bytes, token: string, leaseMs: number): boolean;
}

/** Pub/sub fan-out. Listeners get (channel, message, pattern?). */
export type PubSubListener = (channel: Uint8Array, message: Uint8Array, pattern?: Uint8Array) => void;

export interface PubSub {
  /** Publishes; returns the number of receivers. */
  publish(channel: Bytes, message: Bytes): number;
  /** Subscribes to a channel; returns an unsubscribe function. */
  subscribe(channel: Bytes, listener: PubSubListener): () => void;
  /** Subscribes to a glob pattern; returns an unsubscribe function. */
  psubscribe(pattern: Bytes, listener: PubSubListener): () => void;
}

/**
 * A named map whose every call returns a promise: the embedded API's map in
 * a cluster (each call is routed to the key's owner, replicated with the
 * write quorum, like a RESP command) and, alone, a thin wrapper of the
 * local {@link DMap}. Cluster errors reject with a ShoalError carrying their
 * code (`WRITEQUORUM`, `CLUSTERDOWN`, `TRYAGAIN`, …).
 */
export interface AsyncDMap {
  readonly name: string;
  /** The value, or null when missing/expired. */
  get(key: Bytes): Promise<Uint8Array | null>;
  /** Stores a value; false when NX/XX prevented it. */
  put(key: Bytes, value: Bytes, opts?: PutOptions): Promise<boolean>;
  /** Stores and returns the previous value. */
  getPut(key: Bytes, value: Bytes): Promise<Uint8Array | null>;
  /** Deletes; true when a live key was removed. */
  delete(key: Bytes): Promise<boolean>;
  /** Remaining TTL in ms: -2 when missing, -1 when it has none. */
  ttl(key: Bytes): Promise<number>;
  /** Sets a relative TTL (ms); <= 0 deletes. False when missing. */
  expire(key: Bytes, ttlMs: number): Promise<boolean>;
  /** Sets an absolute expiry (Unix ms). False when missing. */
  expireAt(key: Bytes, atMs: number): Promise<boolean>;
  /** Removes the TTL; true when there was one. */
  persist(key: Bytes): Promise<boolean>;
  /** Adds `by` to an integer value (missing = 0). */
  incrBy(key: Bytes, by: number | bigint): Promise<bigint>;
  /** Adds `by` to a float value; the new value as Redis formats it. */
  incrByFloat(key: Bytes, by: number): Promise<string>;
  /** Cursor scan over the whole map (every member in a cluster); `match` is a Redis glob. */
  scan(cursor: number, count: number, match?: string): Promise<ScanPage>;
  /** Live keys (cluster-wide, each key once). */
  size(): Promise<number>;
  /** Removes every key (on every member). */
  clear(): Promise<void>;
  /**
   * The value of `key`; when missing, `loader(key)` is called once (calls for
   * the same key meanwhile wait for it) and its value stored with `opts.ttl`.
   * A loader answering null stores nothing and resolves null. See core/read-through.ts.
   */
  getOrLoad(key: Bytes, loader: (key: Bytes) => Bytes | null | Promise<Bytes | null>, opts?: LoadOptions): Promise<Uint8Array | null>;
  /** Acquires a lock on key, waiting up to `waitMs`; null when not acquired. */
  lock(key: Bytes, leaseMs: number, waitMs: number): Promise<LockGrant | null>;
  /** Releases a lock; false when the token does not hold it. */
  unlock(key: Bytes, token: string): Promise<boolean>;
  /** Extends a held lock's lease; false when the token does not hold it. */
  lockLease(key: Bytes, token: string, leaseMs: number): Promise<boolean>;
}
