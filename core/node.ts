import type { MapLimits } from "./api.ts";
import type { Clock, Rng, Timer } from "./clock.ts";
import type { ClusterSnapshot } from "./cluster/view.ts";
import type { Logger } from "./discovery.ts";
import { Acl } from "./protocol/acl.ts";
import type { Args } from "./protocol/args.ts";
import type { Command } from "./protocol/command.ts";
import { CommandTable } from "./protocol/command-table.ts";
import { infoSections } from "./protocol/commands/info.ts";
import type { ClientSession } from "./protocol/session.ts";
import { PubSubHub } from "./pubsub.ts";
import { NodeStats } from "./stats.ts";
import { MapStore } from "./store/map-store.ts";

/** The settings a node reads (a subset of ShoalConfig, so embedded users can pass less). */
export interface NodeSettings {
  nodeName: string;
  port: number;
  httpPort: number;
  bind: string;
  requirepass?: string;
  maxClients: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  maxMultibulkLen: number;
  maxInlineBytes: number;
  maxQueryBufferBytes: number;
  frameTimeoutMs: number;
  idleTimeoutMs: number;
  /** Commands one client may run per second; 0 = unlimited. */
  maxCommandsPerSecond: number;
  /** ACL file lines (Redis syntax) and the file name for errors; see protocol/acl.ts. */
  aclLines?: readonly string[];
  aclSource?: string;
  /** proto-max-bulk-len: the largest bulk the parser accepts (>= maxValueBytes). */
  maxBulkBytes: number;
  mapDefaults: MapLimits;
  maps: Record<string, Partial<MapLimits>>;
  partitionCount: number;
}

/** Defaults for every setting (Redis-like limits). */
export const DEFAULT_SETTINGS: NodeSettings = {
  nodeName: "shoal",
  port: 3320,
  httpPort: 3380,
  bind: "127.0.0.1",
  maxClients: 10000,
  maxKeyBytes: 64 * 1024,
  maxValueBytes: 512 * 1024 * 1024,
  maxMultibulkLen: 1024 * 1024,
  maxInlineBytes: 64 * 1024,
  maxQueryBufferBytes: 1024 * 1024 * 1024,
  frameTimeoutMs: 30_000,
  idleTimeoutMs: 0,
  maxCommandsPerSecond: 0,
  maxBulkBytes: 512 * 1024 * 1024,
  mapDefaults: { ttlMs: 0, maxIdleMs: 0, maxKeys: 0, maxInuse: 0 },
  maps: {},
  partitionCount: 271,
};

/**
 * Cluster hook on the command path. `route` runs before a command executes
 * locally: return a promise to take the command over (forward it, or run it
 * with replication) — it must write exactly one reply to session.reply —
 * or undefined to run it locally as usual. Set on {@link ShoalNode.router}
 * only when the node is part of a cluster.
 */
export interface CommandRouter {
  /**
   * Handles a command: undefined = run it locally as usual; a promise = it
   * runs asynchronously (the session parks later input until it settles);
   * null = handled, its reply deferred with {@link ClientSession.defer}.
   */
  route(session: ClientSession, command: Command, args: Args): Promise<void> | undefined | null;
}

/** One node as Redis Cluster clients see it (CLUSTER NODES / SLOTS / SHARDS). */
export interface ClusterNodeView {
  /** 40 hex characters, derived from the member name (the same on every node). */
  id: string;
  /** The member name (peer address). */
  name: string;
  /** Client (RESP) address; port 0 when not known yet. */
  host: string;
  port: number;
  /** Cluster bus port (the peer port). */
  cport: number;
  /** Redis flags: myself, master, fail?, fail. */
  flags: string[];
  configEpoch: number;
  connected: boolean;
  /** Owned slot ranges [first, last]. */
  slots: [number, number][];
}

/** The Redis Cluster face of the cluster layer (set on {@link ShoalNode.cluster} when clustered). */
export interface ClusterInfo {
  myId(): string;
  /** Every known member (left ones omitted), with client addresses resolved where reachable. */
  topology(): Promise<ClusterNodeView[]>;
  /** CLUSTER INFO fields. */
  info(): Record<string, string | number>;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/**
 * One shoal node: its maps, pub/sub hub, client sessions, stats and
 * housekeeping timers. Runtime-neutral; listeners are attached by adapters.
 */
export class ShoalNode {
  readonly config: NodeSettings;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  readonly stats: NodeStats;
  readonly pubsub = new PubSubHub();
  readonly commands = new CommandTable();
  /** ACL users (the `default` user carries --requirepass). */
  readonly acl: Acl;
  readonly sessions = new Set<ClientSession>();
  private readonly maps = new Map<string, MapStore>();
  private clientIds = 0;
  private timers: Timer[] = [];
  private stopped = false;
  /** Cluster routing hook; null on a single node. */
  router: CommandRouter | null = null;
  /** Redis Cluster view; null on a single node (CLUSTER commands then answer as a cluster-disabled Redis). */
  cluster: ClusterInfo | null = null;
  /** Wall time cached for the current batch of commands; 0 outside a batch. */
  cachedNow = 0;
  /** The clock maps use: reads the batch-cached time when one is set. */
  readonly storeClock: Clock;
  /**
   * Whether this node is the partition owner of a key (set by the cluster
   * layer): the cluster-wide SCAN/KEYS/DBSIZE count each key once, on its
   * owner, and skip the replica copies.
   */
  ownsKey: ((key: Uint8Array) => boolean) | null = null;
  /** Told when a TTL removes an entry of any map (set by the cluster layer to keep a tombstone). */
  onExpired: ((map: string, key: Uint8Array, version: number) => void) | null = null;
  /** Lowest fencing number for new lock grants; the cluster layer sets its hybrid logical clock here. */
  fencingFloor: (() => number) | undefined = undefined;
  /** The cluster layer's view (members, partitions, quorums, counters) for STATS; unset on a single node. */
  clusterView: (() => ClusterSnapshot) | undefined = undefined;
  /** True once the node serves its data (single node: right after start). */
  ready = false;
  /** The default map plain Redis commands use. */
  readonly db: MapStore;

  constructor(opts: { config?: Partial<NodeSettings>; clock: Clock; rng: Rng; log?: Logger }) {
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
    this.db = this.map("default");
    const { requirepass, aclLines: lines, aclSource: source } = this.config;
    this.acl = Acl.fromConfig({ requirepass, lines, source }, (name) => this.commands.byName.has(name));
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
      m = new MapStore(name, limits, this.storeClock, this.rng, this.stats, undefined, () => this.fencingFloor?.() ?? 0);
      m.onExpired = (key, version) => this.onExpired?.(name, key, version);
      this.maps.set(name, m);
    }
    return m;
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
