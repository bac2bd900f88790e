import type { LockGrant } from "../api.ts";
import type { Clock, Rng, Timer } from "../clock.ts";

interface Held {
  token: string;
  fencing: number;
  expiresAt: number;
}

interface Waiter {
  leaseMs: number;
  resolve: (g: LockGrant | null) => void;
  timer: Timer;
}

const hex = (rng: Rng): string => {
  let s = "";
  for (let i = 0; i < 4; i++) s += Math.floor(rng.next() * 0x100000000).toString(16).padStart(8, "0");
  return s;
};

const keyOf = (key: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
};

/**
 * Per-map lock table (DM.LOCK / DM.UNLOCK / DM.LOCKLEASE). A lock has a lease
 * (it expires by itself) and a fencing token that strictly increases per map,
 * so a storage layer can reject writes from an older holder.
 */
export class LockTable {
  private readonly held = new Map<string, Held>();
  private readonly waiting = new Map<string, Waiter[]>();
  private fencing = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    /**
     * Lowest fencing number the next grant may take (the cluster passes its
     * hybrid logical clock, so a new owner after a failover keeps issuing
     * larger tokens than the old one did). Default: none.
     */
    private readonly fencingFloor: () => number = () => 0,
  ) {}

  /** Acquires, waiting up to `waitMs` (0 = try once). Resolves null when not acquired in time. */
  acquire(key: Uint8Array, leaseMs: number, waitMs: number): Promise<LockGrant | null> {
    const k = keyOf(key);
    const now = this.clock.now();
    const cur = this.held.get(k);
    if (!cur || cur.expiresAt <= now) return Promise.resolve(this.grant(k, leaseMs));
    if (waitMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const list = this.waiting.get(k) ?? [];
      const w: Waiter = {
        leaseMs,
        resolve,
        timer: this.clock.setTimer(waitMs, () => {
          const l = this.waiting.get(k);
          if (l) {
            const i = l.indexOf(w);
            if (i >= 0) l.splice(i, 1);
            if (l.length === 0) this.waiting.delete(k);
          }
          resolve(null);
        }),
      };
      list.push(w);
      this.waiting.set(k, list);
      // a lease may run out while we wait: re-check when it does
      this.clock.setTimer(Math.max(1, cur.expiresAt - now + 1), () => this.handOff(k));
    });
  }

  private grant(k: string, leaseMs: number): LockGrant {
    const fencing = (this.fencing = Math.max(this.fencing + 1, this.fencingFloor()));
    const g = { token: `${fencing}:${hex(this.rng)}`, fencing, expiresAtMs: this.clock.now() + leaseMs };
    this.held.set(k, { token: g.token, fencing: g.fencing, expiresAt: g.expiresAtMs });
    return g;
  }

  private handOff(k: string): void {
    const cur = this.held.get(k);
    if (cur && cur.expiresAt > this.clock.now()) {
      this.clock.setTimer(Math.max(1, cur.expiresAt - this.clock.now() + 1), () => this.handOff(k));
      return;
    }
    this.held.delete(k);
    const list = this.waiting.get(k);
    const w = list?.shift();
    if (list && list.length === 0) this.waiting.delete(k);
    if (w) {
      w.timer.cancel();
      w.resolve(this.grant(k, w.leaseMs));
    }
  }

  /** Releases when `token` holds the lock. */
  release(key: Uint8Array, token: string): boolean {
    const k = keyOf(key);
    const cur = this.held.get(k);
    if (!cur || cur.token !== token || cur.expiresAt <= this.clock.now()) return false;
    this.held.delete(k);
    this.handOff(k);
    return true;
  }

  /** Extends the lease to now + leaseMs when `token` holds the lock. */
  lease(key: Uint8Array, token: string, leaseMs: number): boolean {
    const cur = this.held.get(keyOf(key));
    if (!cur || cur.token !== token || cur.expiresAt <= this.clock.now()) return false;
    cur.expiresAt = this.clock.now() + leaseMs;
    return true;
  }
}
