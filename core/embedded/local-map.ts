/**
 * The embedded API's async map on a node that is not in a cluster: the
 * local {@link DMap}'s own calls, answered as promises (no command
 * encoding, no session), so code written against {@link AsyncDMap} runs
 * alone and in a cluster unchanged.
 */
import type { AsyncDMap, Bytes, DMap, LoadOptions, LockGrant, PutOptions, ScanPage } from "../api.ts";
import type { Loader } from "../read-through.ts";

/** {@link AsyncDMap} over a local map (see the module doc). */
export class LocalAsyncMap implements AsyncDMap {
  /** `byReference`: the map keeps and returns the caller's arrays (a `storage: "reference"` map): no copy on the way out either. */
  constructor(
    private readonly map: DMap,
    private readonly byReference = false,
  ) {}

  get name(): string {
    return this.map.name;
  }
  async get(key: Bytes): Promise<Uint8Array | null> {
    const v = this.map.get(key);
    return v === null || this.byReference ? v : v.slice();
  }
  async put(key: Bytes, value: Bytes, opts?: PutOptions): Promise<boolean> {
    return this.map.put(key, value, opts);
  }
  async getPut(key: Bytes, value: Bytes): Promise<Uint8Array | null> {
    return this.map.getPut(key, value);
  }
  async delete(key: Bytes): Promise<boolean> {
    return this.map.delete(key);
  }
  async ttl(key: Bytes): Promise<number> {
    return this.map.ttl(key);
  }
  async expire(key: Bytes, ttlMs: number): Promise<boolean> {
    return ttlMs <= 0 ? this.map.delete(key) : this.map.expire(key, ttlMs);
  }
  async expireAt(key: Bytes, atMs: number): Promise<boolean> {
    return this.map.expireAt(key, atMs);
  }
  async persist(key: Bytes): Promise<boolean> {
    return this.map.persist(key);
  }
  async incrBy(key: Bytes, by: number | bigint): Promise<bigint> {
    return this.map.incrBy(key, by);
  }
  async incrByFloat(key: Bytes, by: number): Promise<string> {
    return this.map.incrByFloat(key, by);
  }
  async scan(cursor: number, count: number, match?: string): Promise<ScanPage> {
    return this.map.scan(cursor, count, match);
  }
  async size(): Promise<number> {
    return this.map.size();
  }
  async clear(): Promise<void> {
    this.map.clear();
  }
  async getOrLoad(key: Bytes, loader: Loader, opts?: LoadOptions): Promise<Uint8Array | null> {
    const v = await this.map.getOrLoad(key, loader, opts);
    return v === null || this.byReference ? v : v.slice();
  }
  lock(key: Bytes, leaseMs: number, waitMs: number): Promise<LockGrant | null> {
    return this.map.lock(key, leaseMs, waitMs);
  }
  async unlock(key: Bytes, token: string): Promise<boolean> {
    return this.map.unlock(key, token);
  }
  async lockLease(key: Bytes, token: string, leaseMs: number): Promise<boolean> {
    return this.map.lockLease(key, token, leaseMs);
  }
}
