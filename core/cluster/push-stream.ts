/**
 * Entries streamed to one peer as `apply` batches, with bounded memory: a
 * batch is filled (serialised straight from the store, {@link EntryBatch})
 * while the previous one is in flight; once it is full, the producer waits
 * for that one before sending it. So a rebalance holds at most two batches
 * per target, whatever the number of keys it moves.
 */
import type { MapStore } from "../store/map-store.ts";
import { EntryBatch } from "./entry-batch.ts";
import type { EntryState, PeerRequest, PeerResponse } from "./peer-protocol.ts";

/** Limits of one batch. */
export interface PushLimits {
  /** Most entries per batch. */
  entries: number;
  /** A batch is sent once its records pass this many bytes. */
  bytes: number;
}

/** A stream of `apply` batches to one peer (see the module doc). */
export class PushStream {
  private batch = new EntryBatch(4096);
  private inflight: Promise<void> | null = null;
  /** The first failure (later entries are dropped, not sent). */
  error: unknown = null;
  /** Entries the peer acknowledged. */
  sent = 0;

  constructor(
    readonly peer: string,
    private readonly request: (peer: string, msg: PeerRequest) => Promise<PeerResponse>,
    private readonly limits: PushLimits,
  ) {}

  /** True once a batch failed. */
  get failed(): boolean {
    return this.error !== null;
  }

  /** True when the batch being filled should go out ({@link cut}). */
  get full(): boolean {
    return this.batch.count >= this.limits.entries || this.batch.byteLength >= this.limits.bytes;
  }

  /** Adds an entry state. */
  add(e: EntryState): void {
    if (this.error === null) this.batch.add(e);
  }

  /** Adds live entry `idx` of `store` (a plain string value), copied straight from the arena. */
  addStored(map: string, store: MapStore, idx: number): void {
    if (this.error === null) this.batch.addStored(map, store, idx, store.table.version[idx]!);
  }

  /** Waits for the batch in flight, then sends the one being filled and starts a new one. */
  async cut(): Promise<void> {
    if (this.inflight) await this.inflight;
    if (this.error !== null || this.batch.count === 0) return;
    const full = this.batch;
    this.batch = new EntryBatch(4096);
    const count = full.count;
    this.inflight = this.request(this.peer, { t: "apply", entries: [], packed: full.finish() }).then(
      () => {
        this.sent += count;
      },
      (e: unknown) => {
        this.error ??= e;
      },
    );
  }

  /** Sends what is left and waits for it; resolves true when every batch was taken. */
  async finish(): Promise<boolean> {
    await this.cut();
    if (this.inflight) await this.inflight;
    this.inflight = null;
    return this.error === null;
  }
}
