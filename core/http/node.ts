/**
 * What the HTTP API needs from a node. `ShoalNode` (core/node.ts) satisfies
 * this structurally; tests pass any object with the same shape.
 */
import type { DMap, PubSub } from "../api.ts";
import type { Clock } from "../clock.ts";
import type { ClusterSnapshot } from "../cluster/view.ts";
import type { CommandGateway } from "../gateway/gateway.ts";
import type { AclUser } from "../protocol/acl.ts";
import type { NodeStats } from "../stats.ts";
import type { HttpAuthNode } from "./auth.ts";
import type { EdgeHttpHooks } from "./edge-routes.ts";
import type { FaultControl } from "./faults.ts";
import type { UiHooks } from "./ui-routes.ts";

/** Hono environment of the API: the request's ACL user (set by the auth middleware, else `default`). */
export type HttpEnv = { Variables: { user: AclUser } };

/** INFO-style sections: section name → field → value (like Redis INFO). */
export type InfoSections = Record<string, Record<string, string | number>>;

/** The node surface used by {@link createHttpApp}. */
export interface HttpNode {
  /** The named map (created on first use). */
  map(name: string): DMap;
  /** Names of the maps that exist. */
  mapNames(): string[];
  /** Pub/sub fan-out shared with RESP SUBSCRIBE. */
  readonly pubsub: PubSub;
  /** Counters rendered by /metrics and /v1/stats. */
  readonly stats: NodeStats;
  /** True once the node serves synced data (/readyz). */
  readonly ready: boolean;
  /** Time source (uptime, SSE keep-alives). */
  readonly clock: Clock;
  /** INFO sections, served by /v1/stats. */
  info(): InfoSections;
  /** Bytes in use by the store (keys + values + per-entry overhead). */
  memoryBytes(): number;
  /** Live keys across all maps. */
  keyCount(): number;
  /** The map if it exists, without creating it (GET /v1/debug/local-keys). */
  findMap(name: string): DMap | undefined;
  /** ACL users: requests without {@link HttpOptions.auth} run as the `default` user. */
  readonly acl: { readonly defaultUser: AclUser };
  /** Node limits, used when {@link HttpOptions} does not set them. */
  readonly config?: { readonly maxKeyBytes?: number; readonly maxValueBytes?: number };
}

/** A cluster member as shown by GET /v1/cluster. */
export interface ClusterMemberView {
  id: string;
  self: boolean;
  [field: string]: unknown;
}

/** The JSON body of GET /v1/cluster. */
export interface ClusterView {
  members: ClusterMemberView[];
  [field: string]: unknown;
}

/** Options of {@link createHttpApp}. Sizes are bytes, times milliseconds. */
export interface HttpOptions {
  /**
   * Bearer tokens accepted in `Authorization: Bearer <token>`. When set and
   * non-empty, every route except /healthz and /readyz requires one.
   */
  authTokens?: readonly string[];
  /**
   * ACL users (the node itself): requests authenticate as one of them and
   * each route is checked like its RESP command (see auth.ts). Replaces authTokens.
   */
  auth?: HttpAuthNode;
  /** Resident set size of the process, for process_resident_memory_bytes (core cannot read it). */
  rssBytes?: () => number;
  /** Cluster view for GET /v1/cluster; default: {@link HttpOptions.cluster}, else this node alone. */
  clusterView?: () => ClusterView;
  /**
   * The cluster layer's snapshot (core/cluster/view.ts) while the node is
   * clustered, else undefined: GET /v1/cluster serves it and /metrics adds
   * the shoal_cluster_* families.
   */
  cluster?: () => ClusterSnapshot | undefined;
  /**
   * The fault injector behind GET/PUT/DELETE /v1/faults (`--fault-injection`,
   * tests and chaos runs only). Unset: the routes do not exist (404).
   */
  faults?: () => FaultControl | undefined;
  /** The edge cache behind POST /v1/edge/purge (undefined while none runs: 404). Unset: no /v1/edge routes. */
  edge?: () => EdgeHttpHooks | undefined;
  /** More exposition text appended to /metrics (the edge cache's shoal_edge_* families). */
  edgeMetrics?: () => string;
  /**
   * Runs the key, map and publish routes' commands through the node's
   * command path (router, quorums, ACLs). Default: a gateway of its own on the node.
   */
  gateway?: CommandGateway;
  /**
   * Mounts GET /v1/debug/local-keys (this node's own copies, replicas
   * included; tests and chaos runs: `serve` mounts it with --fault-injection).
   */
  debugRoutes?: boolean;
  /** The live dashboard at /ui (`--ui`): the node's Dashboard and the bundled page assets. Unset: no /ui routes. */
  ui?: UiHooks;
  /** Why the node is not ready, shown by /readyz with 503; default a generic reason. */
  notReadyReason?: () => string;
  /** Largest value accepted by PUT and POST /v1/pubsub (413 past it). Default node.config.maxValueBytes, else 512 MiB. */
  maxValueBytes?: number;
  /** Longest key, map name or channel, in UTF-8 bytes (414 past it). Default node.config.maxKeyBytes, else 64 KiB. */
  maxKeyBytes?: number;
  /** Content types remembered for values written over HTTP. Default 100,000. */
  maxContentTypes?: number;
  /** Concurrent SSE subscribers before 503. Default 10,000. */
  maxSubscribers?: number;
  /** Bytes queued for one slow SSE client before it is disconnected. Default 8 MiB. */
  subscriberBufferBytes?: number;
  /**
   * Interval of SSE keep-alive comments. Default 5,000 ms, below Bun.serve's
   * default 10 s idleTimeout (which otherwise closes a quiet stream); 0 disables.
   */
  keepAliveMs?: number;
}
