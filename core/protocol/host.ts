/**
 * What the protocol layer needs from the node it runs on: sessions and
 * command handlers see the node only through {@link CommandHost}, and a
 * cluster layer reaches the command path only through {@link CommandRouter}
 * and {@link ClusterInfo}. Types only, so `core/protocol` never imports
 * `core/node.ts` (the node imports the protocol, the cluster imports the
 * node: one direction).
 */
import type { Clock, Rng } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import type { KeyspaceEvents } from "../keyspace-events.ts";
import type { NodeSettings } from "../node-settings.ts";
import type { ProcessProbe } from "../process-probe.ts";
import type { PubSubHub } from "../pubsub.ts";
import type { NodeStats } from "../stats.ts";
import type { EncodingLimits } from "../store/collection.ts";
import type { MapStore } from "../store/map-store.ts";
import type { Acl } from "./acl.ts";
import type { Args } from "./args.ts";
import type { Command } from "./command.ts";
import type { ClientSession } from "./session.ts";

/**
 * What a router decided for one command:
 * - `local`: run it here as usual;
 * - `answered`: its reply is already in `session.reply` (or registered with
 *   {@link ClientSession.defer});
 * - `running`: it runs asynchronously and writes its reply when `done`
 *   settles (the session parks later input until then);
 * - `forwarded`: another node runs it; `reply` resolves to its RESP reply
 *   bytes (the session defers them or waits for them).
 */
export type Routed =
  | { kind: "local" }
  | { kind: "answered" }
  | { kind: "running"; done: Promise<void> }
  | { kind: "forwarded"; reply: Promise<Uint8Array> };

/** Cluster hook on the command path: decides, before a command runs here, where and how it runs. */
export interface CommandRouter {
  route(session: ClientSession, command: Command, args: Args): Routed;
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

/** The Redis Cluster face of the cluster layer (CLUSTER commands answer from it). */
export interface ClusterInfo {
  myId(): string;
  /** Every known member (left ones omitted), with client addresses resolved where reachable. */
  topology(): Promise<ClusterNodeView[]>;
  /** CLUSTER INFO fields. */
  info(): Record<string, string | number>;
}

/** Snapshots as SAVE/BGSAVE/LASTSAVE/INFO see them (core/snapshot/persistence.ts implements it). */
export interface SnapshotControl {
  /** SAVE: a whole snapshot now; rejects with a ShoalError (one running already, or the write failed). */
  save(): Promise<unknown>;
  /** BGSAVE: starts one; throws a ShoalError when one runs or it cannot start; the promise reports the outcome. */
  bgsave(): Promise<unknown>;
  /** BGSAVE SCHEDULE. */
  schedule(): "started" | "scheduled";
  /** Unix seconds of the last successful save. */
  readonly lastSaveUnix: number;
  /** INFO's `# Persistence` fields. */
  info(): [string, string | number][];
}

/** The commands a node serves. */
export interface CommandCatalog {
  readonly byName: Map<string, Command>;
  /** The command named by args[0], or undefined. */
  lookup(a: Args): Command | undefined;
}

/** Redis' memory settings as a node applies them. */
export interface MemoryLimits {
  /** Bytes (0 = none). */
  maxmemory: number;
  /** allkeys-lru evicts (every map's max-inuse); noeviction refuses writes with -OOM. */
  policy: "noeviction" | "allkeys-lru";
  /** Limit on all connections' buffers: "0" (off), bytes, or "N%" of maxmemory. */
  maxmemoryClients: string;
}

/** The node as sessions and command handlers see it ({@link ShoalNode} implements it). */
export interface CommandHost {
  readonly config: NodeSettings;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly log: Logger;
  readonly stats: NodeStats;
  readonly pubsub: PubSubHub;
  readonly commands: CommandCatalog;
  readonly acl: Acl;
  readonly sessions: Set<ClientSession>;
  /** The serving process's facts for INFO (pid, CPU, RSS); null when embedded. */
  readonly process: ProcessProbe | null;
  /** Connections in MONITOR mode. */
  readonly monitors: Set<ClientSession>;
  /** The default map plain Redis commands use. */
  readonly db: MapStore;
  /** Keyspace notifications (notify-keyspace-events). */
  readonly events: KeyspaceEvents;
  /** When hashes and sets leave the compact encoding (CONFIG SET changes it for every map). */
  readonly encoding: EncodingLimits;
  /** maxmemory, maxmemory-policy and maxmemory-clients as CONFIG GET shows them. */
  readonly memoryLimits: Readonly<MemoryLimits>;
  /** Changes them; evicts what no longer fits. */
  setMemoryLimits(change: Partial<MemoryLimits>): void;
  /** True when writes that add data must be refused with -OOM (noeviction past maxmemory). */
  overMemory(): boolean;
  /** Wall time cached for the current batch of commands; 0 outside a batch. */
  cachedNow: number;
  /** Snapshots; null without --data-dir. */
  readonly persistence: SnapshotControl | null;
  /** The cluster routing hook; null on a single node. */
  readonly router: CommandRouter | null;
  /** The Redis Cluster face; null on a single node (CLUSTER commands then answer as a cluster-disabled Redis). */
  readonly cluster: ClusterInfo | null;
  /** In a cluster, whether this node owns a key's partition (SCAN/KEYS/DBSIZE count keys on their owner); null on a single node. */
  readonly ownsKey: ((key: Uint8Array) => boolean) | null;
  /** The cluster as this node sees it (STATS), or undefined on a single node. */
  clusterView(): object | undefined;
  map(name: string): MapStore;
  findMap(name: string): MapStore | undefined;
  destroyMap(name: string): boolean;
  mapNames(): string[];
  keyCount(): number;
  memoryBytes(): number;
  reservedBytes(): number;
  requiresAuth(): boolean;
  nextClientId(): number;
  attach(s: ClientSession): void;
  detach(s: ClientSession): void;
}
