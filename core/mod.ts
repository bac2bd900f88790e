/**
 * shoal's embedded API: run a node inside your process and use its maps
 * directly, like Olric's embedded member — alone, or as a member of a
 * cluster (of other embedded members and `shoal serve` processes).
 *
 * ```ts
 * import { Shoal } from "./core/mod.ts";
 * const shoal = await Shoal.start({ config: { mapDefaults: { ttlMs: 0, maxIdleMs: 0, maxKeys: 10_000, maxInuse: 0 } } });
 * await shoal.started;
 * const users = shoal.map("users");            // alone: the local map, synchronous
 * users.put("alice", "admin", { ttlMs: 60_000 });
 * console.log(new TextDecoder().decode(users.get("alice")!));
 * await shoal.dmap("users").get("alice");      // the same map as promises: works in a cluster too
 * await shoal.stop();
 * ```
 *
 * In a cluster (`transport` given: on Bun, cmd/embedded.ts's `startShoal`
 * passes the TCP transport and discovery), `dmap(name)` routes every call
 * through the same router, quorums and ACL checks as a RESP client's
 * command; `map(name)` (the local copy) refuses, since writing it would
 * bypass replication.
 */
import type { AsyncDMap, Bytes, DMap, PubSub, PubSubListener } from "./api.ts";
import { type Clock, type Rng, systemClock, systemRng, type Timer } from "./clock.ts";
import type { Discovery, Logger } from "./discovery.ts";
import { ClusterMap } from "./embedded/cluster-map.ts";
import { LocalAsyncMap } from "./embedded/local-map.ts";
import { clusterSettings, type EmbeddedClusterSettings, type Member, startMember } from "./embedded/member.ts";
import { ShoalError } from "./errors.ts";
import { CommandGateway } from "./gateway/gateway.ts";
import { type NodeSettings, ShoalNode } from "./node.ts";
import type { AclUser } from "./protocol/acl.ts";
import { RefMap } from "./store/ref-map.ts";
import type { Transport } from "./transport.ts";

export type { AsyncDMap, Bytes, DMap, LoadOptions, LockGrant, MapLimits, PubSub, PutOptions, ScanPage } from "./api.ts";
export type { Clock, Rng } from "./clock.ts";
export { SeededRng, systemClock, systemRng } from "./clock.ts";
export type { EmbeddedClusterSettings } from "./embedded/member.ts";
export { ShoalError } from "./errors.ts";
export { CommandGateway } from "./gateway/gateway.ts";
export type { RespValue } from "./gateway/resp-value.ts";
export { DEFAULT_SETTINGS, type NodeSettings, ShoalNode } from "./node.ts";
export { ClientSession, type SessionIO } from "./protocol/session.ts";
export type { Loader } from "./read-through.ts";

/** Options of {@link Shoal.map}. */
export interface MapOptions {
  /**
   * How the map keeps its values: `arena` (default) copies them into the
   * node's compact store, the one RESP/HTTP commands, snapshots and INFO
   * see; `reference` keeps the caller's Uint8Array itself and `get` returns
   * it (no copies: as fast as an in-process LRU cache), for this process's
   * own use only — see core/store/ref-map.ts. Fixed at the map's first use.
   */
  storage?: "arena" | "reference";
}

/** Options of {@link Shoal.start}. */
export interface ShoalOptions {
  /** Node settings (limits, map defaults, ACL lines…). */
  config?: Partial<NodeSettings>;
  clock?: Clock;
  rng?: Rng;
  log?: Logger;
  /** Joins a cluster over this peer transport (core opens no sockets itself: on Bun use cmd/embedded.ts). */
  transport?: Transport;
  /** This member's peer address ("host:port"): where it listens and its name in the cluster. Required with `transport`. */
  self?: string;
  /** Seed peers ("host:port"). */
  peers?: readonly string[];
  /** A discovery plugin seeding the peers (as `shoal serve --discovery …`). */
  discovery?: Discovery;
  /** Replication, quorum and timing settings (the `shoal serve` flags of the same names, same defaults). */
  cluster?: EmbeddedClusterSettings;
  /** The ACL user this member's commands run as, on every node they reach (default `default`). */
  user?: string;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/** An embedded shoal node (see the module doc). */
export class Shoal {
  /** Resolves when the node owns synced data and serves reads (Olric's `Started`). */
  readonly started: Promise<void>;
  /** Runs commands through the node's command path (what `dmap()` uses in a cluster). */
  readonly gateway: CommandGateway;
  private readonly maps = new Map<string, AsyncDMap>();
  /** Maps opened with `storage: "reference"`, by name. */
  private readonly refMaps = new Map<string, RefMap>();
  private refExpiry: Timer | null = null;
  private stopped = false;

  private constructor(
    readonly node: ShoalNode,
    private readonly member: Member | null,
    private readonly userName: string,
  ) {
    this.started = Promise.resolve();
    this.gateway = new CommandGateway(node);
  }

  /**
   * Starts a node in this process; with `transport` it joins the cluster
   * (resolves once it has joined and synced its partitions).
   * @throws ShoalError on bad settings (naming the field) or an unknown `user`.
   */
  static async start(opts: ShoalOptions = {}): Promise<Shoal> {
    const clustered = opts.transport !== undefined;
    if (!clustered && (opts.peers?.length || opts.discovery)) {
      throw new ShoalError("ERR", "Shoal.start: `peers`/`discovery` need a `transport` to reach them (on Bun: startShoal from cmd/embedded.ts passes TCP)");
    }
    const settings = clustered ? clusterSettings(opts.cluster) : null;
    const log = opts.log ?? silent;
    const node = new ShoalNode({
      config: settings ? { ...opts.config, partitionCount: settings.partitionCount } : opts.config,
      clock: opts.clock ?? systemClock,
      rng: opts.rng ?? systemRng(),
      log,
    });
    const userName = opts.user ?? "default";
    if (!node.acl.users.has(userName)) throw new ShoalError("ERR", `Shoal.start: no ACL user "${userName}" (config.aclLines defines the users)`);
    node.start();
    let member: Member | null = null;
    if (opts.transport && settings) {
      try {
        member = await startMember(node, {
          transport: opts.transport,
          self: opts.self ?? "",
          peers: opts.peers,
          discovery: opts.discovery,
          settings,
          clock: opts.clock ?? systemClock,
          rng: opts.rng ?? systemRng(),
          log,
        });
      } catch (e) {
        node.stop();
        throw e;
      }
    }
    return new Shoal(node, member, userName);
  }

  /** True when this member is part of a cluster. */
  get clustered(): boolean {
    return this.member !== null;
  }

  /** The cluster layer (membership, partition table, router counters); null alone. */
  get cluster(): Member["cluster"] | null {
    return this.member?.cluster ?? null;
  }

  /**
   * The local map, synchronous (created on first use with the configured
   * limits; `opts.storage` picks how it keeps values, see {@link MapOptions}).
   * Alone only: in a cluster it would read and write this member's copy and
   * bypass replication.
   * @throws ShoalError in a cluster (use {@link dmap}), or when `storage` differs from the map's at its first use.
   */
  map(name: string, opts: MapOptions = {}): DMap {
    if (this.member) {
      throw new ShoalError("ERR", `Shoal.map("${name}"): this member is in a cluster, where the local copy is not the map; use await shoal.dmap("${name}").get(…)`);
    }
    const ref = this.refMaps.get(name);
    const wanted = opts.storage ?? (ref ? "reference" : "arena");
    if (ref) {
      if (wanted !== "reference") throw new ShoalError("ERR", `Shoal.map("${name}"): the map keeps values by reference (opened with storage "reference"), not in the arena`);
      return ref;
    }
    if (wanted === "arena") return this.node.map(name);
    if (this.node.hasMap(name)) throw new ShoalError("ERR", `Shoal.map("${name}"): the map already keeps its values in the arena; pick storage "reference" before its first use`);
    if (name.length === 0) throw new ShoalError("ERR", "map name must not be empty");
    const limits = { ...this.node.config.mapDefaults, ...this.node.config.maps[name] };
    const m = new RefMap(name, limits, this.node.clock, this.node.rng);
    this.refMaps.set(name, m);
    this.startRefExpiry();
    return m;
  }

  /** Active expiry of the reference maps at 10 Hz, like the node's for its arena maps. */
  private startRefExpiry(): void {
    if (this.refExpiry !== null) return;
    const tick = (): void => {
      if (this.stopped) return;
      for (const m of this.refMaps.values()) m.activeExpire(2);
      this.refExpiry = this.node.clock.setTimer(100, tick);
    };
    this.refExpiry = this.node.clock.setTimer(100, tick);
  }

  /** The named map as promises: routed through the cluster (or the local map, alone). */
  dmap(name: string): AsyncDMap {
    if (name.length === 0) throw new ShoalError("ERR", "map name must not be empty");
    let m = this.maps.get(name);
    if (!m) {
      const ref = this.refMaps.get(name);
      m = this.member ? new ClusterMap(name, this.gateway, () => this.user(), this.node.clock) : ref ? new LocalAsyncMap(ref, true) : new LocalAsyncMap(this.node.map(name));
      if (this.maps.size < 10_000) this.maps.set(name, m);
    }
    return m;
  }

  /**
   * Publishes to every subscriber (RESP, SSE and embedded) of every member;
   * resolves with the number that received it.
   */
  async publish(channel: Bytes, message: Bytes): Promise<number> {
    if (!this.member) return this.node.pubsub.publish(channel, message);
    const v = await this.gateway.run(this.user(), ["PUBLISH", channel, message]);
    if (v.kind === "error") throw new ShoalError(v.code, v.message);
    return v.kind === "int" ? v.value : 0;
  }

  /**
   * Pub/sub on this member: subscriptions hear publishes made anywhere in
   * the cluster. In a cluster `publish` here throws: use {@link Shoal.publish}.
   */
  get pubsub(): PubSub {
    const hub = this.node.pubsub;
    if (!this.member) return hub;
    return {
      publish(): number {
        throw new ShoalError("ERR", "in a cluster, publish with await shoal.publish(channel, message): it reaches every member");
      },
      subscribe: (channel: Bytes, listener: PubSubListener) => hub.subscribe(channel, listener),
      psubscribe: (pattern: Bytes, listener: PubSubListener) => hub.psubscribe(pattern, listener),
    };
  }

  /** Stops: in a cluster leaves gracefully first (partitions handed off), then stops timers and sessions. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.refExpiry?.cancel();
    try {
      await this.member?.leave();
    } finally {
      this.node.stop();
    }
  }

  private user(): AclUser {
    const u = this.node.acl.users.get(this.userName);
    if (!u) throw new ShoalError("NOPERM", `ACL user "${this.userName}" no longer exists`);
    return u;
  }
}
