import type { Clock, Rng, Timer } from "./clock.ts";
import type { ClusterSnapshot } from "./cluster/snapshot.ts";
import type { Logger } from "./discovery.ts";
import { EventClass, KeyspaceEvents, parseEventFlags } from "./keyspace-events.ts";
import { DEFAULT_SETTINGS, type NodeSettings } from "./node-settings.ts";
import type { ProcessProbe } from "./process-probe.ts";
import { Acl } from "./protocol/acl.ts";
import { CommandTable } from "./protocol/command-table.ts";
import { infoSections } from "./protocol/commands/info.ts";
import type { ClusterInfo, CommandHost, CommandRouter, MemoryLimits } from "./protocol/host.ts";
import type { ClientSession } from "./protocol/session.ts";
import { PubSubHub } from "./pubsub.ts";
import type { Persistence } from "./snapshot/persistence.ts";
import { NodeStats } from "./stats.ts";
import { DEFAULT_ENCODING, type EncodingLimits } from "./store/collection.ts";
import { MapStore } from "./store/map-store.ts";

export { DEFAULT_SETTINGS, type NodeSettings } from "./node-settings.ts";
export type { ClusterInfo, ClusterNodeView, CommandRouter, Routed } from "./protocol/host.ts";

/**
 * What a cluster layer plugs into a node ({@link ShoalNode.attachCluster}):
 * the node calls these and never knows the cluster's types.
 */
export interface ClusterHooks {
  /** Decides where each client command runs (forwarded, replicated, or here). */
  router: CommandRouter;
  /** The Redis Cluster face (CLUSTER SLOTS/NODES/SHARDS/INFO). */
  face?: ClusterInfo;
  /** Whether this node owns a key's partition (cluster-wide SCAN/KEYS/DBSIZE count each key on its owner). */
  ownsKey?(key: Uint8Array): boolean;
  /** A TTL removed an entry of `map` here (the cluster keeps a tombstone). */
  onExpired?(map: string, key: Uint8Array, version: number): void;
  /** Lowest fencing number for new lock grants (the cluster's hybrid logical clock). */
  fencingFloor?(): number;
  /** The cluster as this node sees it (STATS, GET /v1/cluster, /metrics). */
  view?(): ClusterSnapshot;
  /** Delivers a message to the other members' subscribers too (keyspace notifications are cluster-wide). */
  publishToPeers?(channel: Uint8Array, message: Uint8Array): void;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/**
 * One shoal node: its maps, pub/sub hub, client sessions, stats and
 * housekeeping timers. Runtime-neutral; listeners are attached by adapters.
 */
export class ShoalNode implements CommandHost {
  readonly config: NodeSettings;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  readonly stats: NodeStats;
  readonly pubsub = new PubSubHub();
  /** Keyspace notifications (notify-keyspace-events), published through the hub (cluster-wide when clustered). */
  readonly events = new KeyspaceEvents((channel, message) => {
    this.pubsub.publish(channel, message);
    this.hooks?.publishToPeers?.(channel, message);
  });
  /** When hashes and sets leave the compact encoding; shared by every map, changed by CONFIG SET. */
  readonly encoding: EncodingLimits = { ...DEFAULT_ENCODING };
  readonly commands = new CommandTable();
  /** ACL users (the `default` user carries --requirepass). */
  readonly acl: Acl;
  readonly sessions = new Set<ClientSession>();
  readonly monitors = new Set<ClientSession>();
  private readonly maps = new Map<string, MapStore>();
  private clientIds = 0;
  private timers: Timer[] = [];
  private stopped = false;
  /** The cluster layer plugged in with {@link attachCluster}; null on a single node. */
  private hooks: ClusterHooks | null = null;
  /** Wall time cached for the current batch of commands; 0 outside a batch. */
  cachedNow = 0;
  /** The clock maps use: reads the batch-cached time when one is set. */
  readonly storeClock: Clock;
  /** Snapshots (SAVE, BGSAVE, INFO persistence); null without --data-dir. */
  persistence: Persistence | null = null;
  /** True once the node serves its data (single node: right after start). */
  ready = false;
  /** The default map plain Redis commands use. */
  readonly db: MapStore;
  /**
   * Redis' maxmemory and maxmemory-policy (CONFIG SET): with allkeys-lru
   * it is every map's max-inuse (maps with their own max_inuse keep it);
   * with noeviction maps keep everything and writes that add data are
   * refused with -OOM once the node holds more than maxmemory.
   */
  readonly memoryLimits: MemoryLimits;

  /** The serving process's facts (pid, CPU, RSS) for INFO; null when embedded without one. */
  readonly process: ProcessProbe | null;

  constructor(opts: { config?: Partial<NodeSettings>; clock: Clock; rng: Rng; log?: Logger; process?: ProcessProbe }) {
    this.process = opts.process ?? null;
    this.config = { ...DEFAULT_SETTINGS, ...opts.config };
    this.config.maxBulkBytes = Math.max(this.config.maxBulkBytes, this.config.maxValueBytes, this.config.maxKeyBytes);
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.log = opts.log ?? silent;
    this.stats = new NodeStats(this.clock.now());
    this.stats.countFrom(() => this.commands.counts());
    const base = opts.clock;
    // Redis-style cached time: one clock read per read event instead of one per command.
    this.storeClock = {
      now: () => (this.cachedNow !== 0 ? this.cachedNow : base.now()),
      monotonic: () => base.monotonic(),
      setTimer: (ms, fn) => base.setTimer(ms, fn),
    };
    Object.assign(this.encoding, this.config.encoding);
    this.events.flags = parseEventFlags(this.config.notifyKeyspaceEvents ?? "") ?? 0;
    const d = this.config.mapDefaults;
    this.memoryLimits = {
      maxmemory: d.maxInuse,
      policy: d.maxInuse > 0 || d.maxKeys > 0 ? "allkeys-lru" : "noeviction",
      maxmemoryClients: "0",
    };
    this.db = this.map("default");
    const { requirepass, aclLines: lines, aclSource: source } = this.config;
    this.acl = Acl.fromConfig({ requirepass, lines, source }, (name) => this.commands.byName.has(name));
  }

  /**
   * Plugs a cluster layer into this node (once, before it serves clients):
   * from then on commands go through `hooks.router`, CLUSTER commands answer
   * from `hooks.face`, and expiries and lock grants consult the cluster.
   */
  attachCluster(hooks: ClusterHooks): void {
    if (this.hooks !== null && this.hooks !== hooks) throw new Error("a cluster layer is already attached to this node");
    this.hooks = hooks;
  }

  /** The cluster routing hook; null on a single node. */
  get router(): CommandRouter | null {
    return this.hooks?.router ?? null;
  }

  /** The Redis Cluster face; null on a single node (CLUSTER commands then answer as a cluster-disabled Redis). */
  get cluster(): ClusterInfo | null {
    return this.hooks?.face ?? null;
  }

  /** In a cluster, whether this node owns a key's partition; null on a single node. */
  get ownsKey(): ((key: Uint8Array) => boolean) | null {
    const h = this.hooks;
    return h?.ownsKey ? (key) => h.ownsKey!(key) : null;
  }

  /** The cluster layer's view (members, partitions, quorums, counters); undefined on a single node. */
  clusterView(): ClusterSnapshot | undefined {
    return this.hooks?.view?.();
  }

  /** Starts housekeeping (active expiry at 10 Hz, frame/idle timeouts at 1 Hz) and marks the node ready. */
  start(): void {
    const expire = (): void => {
      if (this.stopped) return;
      for (const m of this.maps.values()) m.activeExpire(2);
      this.timers[0] = this.clock.setTimer(100, expire);
    };
    const sweep = (): void => {
      if (this.stopped) return;
      this.sweepClients();
      this.timers[1] = this.clock.setTimer(1000, sweep);
    };
    this.timers = [this.clock.setTimer(100, expire), this.clock.setTimer(1000, sweep)];
    this.ready = true;
  }

  /** Stops timers and closes every client. */
  stop(): void {
    this.stopped = true;
    this.ready = false;
    for (const t of this.timers) t.cancel();
    for (const s of [...this.sessions]) s.close();
  }

  /** The named map, created with its configured limits on first use. */
  map(name: string): MapStore {
    let m = this.maps.get(name);
    if (!m) {
      const limits = { ...this.config.mapDefaults, ...this.config.maps[name] };
      m = new MapStore(name, limits, this.storeClock, this.rng, this.stats, undefined, () => this.hooks?.fencingFloor?.() ?? 0, this.encoding);
      m.onExpired = (key, version) => {
        // in a cluster every copy expires on its own: only the owner's expiry is an event
        if (name === "default" && (this.hooks?.ownsKey?.(key) ?? true)) this.events.notify(EventClass.expired, "expired", key);
        this.hooks?.onExpired?.(name, key, version);
      };
      if (name === "default")
        m.onEvicted = (key) => {
          if (this.hooks?.ownsKey?.(key) ?? true) this.events.notify(EventClass.evicted, "evicted", key);
        };
      this.maps.set(name, m);
    }
    return m;
  }

  /** Changes maxmemory and/or the policy, and evicts right away what no longer fits. */
  setMemoryLimits(change: Partial<MemoryLimits>): void {
    Object.assign(this.memoryLimits, change);
    const { maxmemory, policy } = this.memoryLimits;
    const inuse = policy === "allkeys-lru" ? maxmemory : 0;
    this.config.mapDefaults = { ...this.config.mapDefaults, maxInuse: inuse };
    for (const [name, m] of this.maps) {
      if (this.config.maps[name]?.maxInuse !== undefined) continue;
      m.limits = { ...m.limits, maxInuse: inuse };
      m.enforceLimits();
    }
  }

  /**
   * maxmemory-clients: while the connections' buffers (unparsed input and
   * unsent replies) hold more than the limit, closes the one holding most.
   */
  evictClients(): void {
    const spec = this.memoryLimits.maxmemoryClients;
    const limit = spec.endsWith("%") ? (this.memoryLimits.maxmemory * Number(spec.slice(0, -1))) / 100 : Number(spec);
    if (!(limit > 0)) return;
    const held = (s: ClientSession): number => s.inputStats().capacity + s.reply.buf.length;
    let total = 0;
    for (const s of this.sessions) total += held(s);
    while (total > limit && this.sessions.size > 0) {
      let biggest: ClientSession | null = null;
      for (const s of this.sessions) if (!biggest || held(s) > held(biggest)) biggest = s;
      total -= held(biggest!);
      this.log.info("client closed: maxmemory-clients", { client: biggest!.id, remote: biggest!.io.remote });
      biggest!.close();
    }
  }

  /** True when writes that add data must be refused: noeviction and more than maxmemory in use. */
  overMemory(): boolean {
    const { maxmemory, policy } = this.memoryLimits;
    return policy === "noeviction" && maxmemory > 0 && this.memoryBytes() > maxmemory;
  }

  /** Existing map or undefined (does not create). */
  findMap(name: string): MapStore | undefined {
    return this.maps.get(name);
  }

  /** Drops a map and all its entries. */
  destroyMap(name: string): boolean {
    const m = this.maps.get(name);
    if (!m) return false;
    if (name === "default") m.clear();
    else this.maps.delete(name);
    return true;
  }

  /** Whether map `name` exists (was used) on this node. */
  hasMap(name: string): boolean {
    return this.maps.has(name);
  }

  /** Names of maps that exist. */
  mapNames(): string[] {
    return [...this.maps.keys()];
  }

  /** Live keys across all maps. */
  keyCount(): number {
    let n = 0;
    for (const m of this.maps.values()) n += m.size();
    return n;
  }

  /** Bytes in use by stored data (keys, values, entry metadata). */
  memoryBytes(): number {
    let n = 0;
    for (const m of this.maps.values()) n += m.inuseBytes();
    return n;
  }

  /** Bytes reserved by the store from the runtime. */
  reservedBytes(): number {
    let n = 0;
    for (const m of this.maps.values()) n += m.reservedBytes();
    return n;
  }

  /** INFO sections as field → value records (HTTP /v1/stats). */
  info(): Record<string, Record<string, string | number>> {
    const out: Record<string, Record<string, string | number>> = {};
    for (const [name, fields] of Object.entries(infoSections(this))) out[name] = Object.fromEntries(fields);
    return out;
  }

  /** True when new connections must AUTH first (the default user is off or has passwords). */
  requiresAuth(): boolean {
    return !this.acl.defaultIsOpen();
  }

  nextClientId(): number {
    return ++this.clientIds;
  }

  /** Whether a new client may connect (max clients). */
  acceptsClient(): boolean {
    return this.sessions.size < this.config.maxClients;
  }

  attach(s: ClientSession): void {
    this.sessions.add(s);
    this.stats.connectionsTotal++;
    this.stats.connectionsCurrent = this.sessions.size;
  }

  detach(s: ClientSession): void {
    this.sessions.delete(s);
    this.stats.connectionsCurrent = this.sessions.size;
  }

  /** Closes clients stalled mid-frame past frameTimeout, and idle ones past idleTimeout. */
  sweepClients(): void {
    this.evictClients();
    const mono = this.clock.monotonic();
    const now = this.clock.now();
    const { frameTimeoutMs, idleTimeoutMs } = this.config;
    for (const s of [...this.sessions]) {
      if (frameTimeoutMs > 0 && s.partialSince > 0 && mono - s.partialSince > frameTimeoutMs) {
        this.log.info("client closed: incomplete frame timeout", { client: s.id, remote: s.io.remote });
        s.close();
      } else if (idleTimeoutMs > 0 && !s.subscribed && now - s.lastActive > idleTimeoutMs) s.close();
    }
  }
}
