/**
 * shoal's embedded API: run a node inside your process and use its maps
 * directly, like Olric's embedded member.
 *
 * ```ts
 * import { Shoal } from "./core/mod.ts";
 * const shoal = await Shoal.start({ config: { mapDefaults: { ttlMs: 0, maxIdleMs: 0, maxKeys: 10_000, maxInuse: 0 } } });
 * await shoal.started;
 * const users = shoal.map("users");
 * users.put("alice", "admin", { ttlMs: 60_000 });
 * console.log(new TextDecoder().decode(users.get("alice")!));
 * shoal.stop();
 * ```
 */
import type { DMap, PubSub } from "./api.ts";
import { type Clock, type Rng, systemClock, systemRng } from "./clock.ts";
import type { Logger } from "./discovery.ts";
import { type NodeSettings, ShoalNode } from "./node.ts";

export type { Bytes, DMap, LockGrant, MapLimits, PubSub, PutOptions, ScanPage } from "./api.ts";
export type { Clock, Rng } from "./clock.ts";
export { SeededRng, systemClock, systemRng } from "./clock.ts";
export { ShoalError } from "./errors.ts";
export { DEFAULT_SETTINGS, type NodeSettings, ShoalNode } from "./node.ts";
export { ClientSession, type SessionIO } from "./protocol/session.ts";

/** Options of {@link Shoal.start}. */
export interface ShoalOptions {
  config?: Partial<NodeSettings>;
  clock?: Clock;
  rng?: Rng;
  log?: Logger;
}

/** An embedded shoal node. */
export class Shoal {
  /** Resolves when the node owns synced data and serves reads (Olric's `Started`). */
  readonly started: Promise<void>;

  private constructor(readonly node: ShoalNode) {
    this.started = Promise.resolve();
  }

  /** Starts a node in this process. No sockets are opened; use cmd/serve.ts for listeners. */
  static async start(opts: ShoalOptions = {}): Promise<Shoal> {
    const node = new ShoalNode({
      config: opts.config,
      clock: opts.clock ?? systemClock,
      rng: opts.rng ?? systemRng(),
      log: opts.log,
    });
    node.start();
    return new Shoal(node);
  }

  /** The named map (created on first use with the configured limits). */
  map(name: string): DMap {
    return this.node.map(name);
  }

  /** Pub/sub hub shared with RESP and HTTP subscribers. */
  get pubsub(): PubSub {
    return this.node.pubsub;
  }

  /** Stops housekeeping timers and closes sessions. */
  stop(): void {
    this.node.stop();
  }
}
