/**
 * Hinted handoff: when a replica cannot be reached for a write that still
 * met its quorum, the owner keeps the written state as a hint for that
 * replica and hands it over once the replica answers again, so a replica
 * back from a short outage catches up in seconds instead of waiting for
 * anti-entropy to find the difference.
 *
 * Bounded: at most `maxEntries` hints and `maxBytes` of keys and values in
 * all (the oldest go first, counted as dropped: anti-entropy repairs those
 * keys instead); one hint per key and replica (a newer write replaces it).
 * Delivery: every `retryMs` (and at once when membership sees the replica
 * alive again), one batch at a time per replica, as plain last-writer-wins
 * `apply` — a newer state the replica got meanwhile wins.
 */
import type { Clock, Timer } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import type { EntryState, PeerRequest, PeerResponse } from "./peer-protocol.ts";

/** Counters and gauges for /metrics, GET /v1/cluster and tests. */
export interface HintStats {
  /** Hints recorded (a newer write to the same key for the same replica replaces one). */
  stored: number;
  /** Hints handed over to their replica. */
  delivered: number;
  /** Hints dropped to stay within the bounds (anti-entropy repairs those keys). */
  dropped: number;
  /** Delivery attempts that failed (the replica was still unreachable). */
  failures: number;
  /** Hints held now. */
  pending: number;
  /** Key and value bytes held now. */
  pendingBytes: number;
}

/** Options for {@link HintedHandoff}. */
export interface HintedHandoffOptions {
  clock: Clock;
  log: Logger;
  /** Most hints held (0 disables hinted handoff). */
  maxEntries: number;
  /** Most key and value bytes held. */
  maxBytes: number;
  /** Time between delivery attempts, ms. */
  retryMs: number;
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  /** Whether membership holds `member` alive (deliveries are tried only then). */
  isAlive(member: string): boolean;
}

const BATCH = 512;

const sizeOf = (e: EntryState): number => e.key.length + (e.value?.length ?? 0) + 48;

function idOf(e: EntryState): string {
  let s = `${e.map}\0`;
  for (let i = 0; i < e.key.length; i++) s += String.fromCharCode(e.key[i]!);
  return s;
}

/** The hints one node keeps for the replicas it could not reach. */
export class HintedHandoff {
  readonly stats: HintStats = { stored: 0, delivered: 0, dropped: 0, failures: 0, pending: 0, pendingBytes: 0 };
  /** Replica → key id → newest state it missed (insertion order is age order). */
  private readonly hints = new Map<string, Map<string, EntryState>>();
  private readonly delivering = new Set<string>();
  private timer: Timer | undefined;
  private stopped = false;

  constructor(private readonly o: HintedHandoffOptions) {}

  /** Starts the delivery timer. */
  start(): void {
    if (this.o.maxEntries <= 0) return;
    const tick = (): void => {
      if (this.stopped) return;
      this.deliverAll();
      this.timer = this.o.clock.setTimer(this.o.retryMs, tick);
    };
    this.timer = this.o.clock.setTimer(this.o.retryMs, tick);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** Keeps `entries` for each of `replicas` (they missed a write that met its quorum). */
  add(replicas: readonly string[], entries: readonly EntryState[]): void {
    if (this.o.maxEntries <= 0 || this.stopped) return;
    for (const r of replicas) {
      let m = this.hints.get(r);
      if (!m) this.hints.set(r, (m = new Map()));
      for (const e of entries) {
        const id = idOf(e);
        const old = m.get(id);
        if (old) {
          if (old.version >= e.version) continue;
          m.delete(id);
          this.stats.pending--;
          this.stats.pendingBytes -= sizeOf(old);
        }
        m.set(id, e);
        this.stats.stored++;
        this.stats.pending++;
        this.stats.pendingBytes += sizeOf(e);
      }
    }
    this.trim();
  }

  /** Tries every replica with hints that membership holds alive (a replica back from an outage gets its hints now). */
  deliverAll(): void {
    for (const r of this.hints.keys()) if (this.o.isAlive(r)) void this.deliver(r);
  }

  /** Hands `replica` its hints, a batch at a time, until none is left or a batch fails. */
  private async deliver(replica: string): Promise<void> {
    if (this.delivering.has(replica) || this.stopped) return;
    this.delivering.add(replica);
    try {
      for (let round = 0; round < 100_000 && !this.stopped; round++) {
        const m = this.hints.get(replica);
        if (!m || m.size === 0) {
          this.hints.delete(replica);
          return;
        }
        const batch: [string, EntryState][] = [];
        for (const kv of m) {
          batch.push(kv);
          if (batch.length >= BATCH) break;
        }
        let ok = false;
        try {
          ok = (await this.o.request(replica, { t: "apply", entries: batch.map(([, e]) => e) })).t === "applied";
        } catch {
          ok = false;
        }
        if (!ok) {
          this.stats.failures++;
          return;
        }
        for (const [id, e] of batch) {
          if (m.get(id) !== e) continue; // replaced by a newer hint meanwhile: that one goes next
          m.delete(id);
          this.stats.delivered++;
          this.stats.pending--;
          this.stats.pendingBytes -= sizeOf(e);
        }
        if (round === 0) this.o.log.info("delivering hints", { replica, pending: m.size + batch.length });
      }
    } finally {
      this.delivering.delete(replica);
    }
  }

  /** Drops the oldest hints (of the replica with the most) until within the bounds. */
  private trim(): void {
    while (this.stats.pending > this.o.maxEntries || this.stats.pendingBytes > this.o.maxBytes) {
      let most: Map<string, EntryState> | undefined;
      for (const m of this.hints.values()) if (!most || m.size > most.size) most = m;
      const oldest = most?.entries().next().value;
      if (!most || !oldest) return;
      most.delete(oldest[0]);
      this.stats.dropped++;
      this.stats.pending--;
      this.stats.pendingBytes -= sizeOf(oldest[1]);
    }
  }
}
