/**
 * A node's edge cache (`--origin` or shoal.yaml `routes:`): the edge port
 * opens with the node's other listeners, and the runtime-neutral
 * {@link EdgeCache} — over the node's edge map, the cluster's placement when
 * clustered, and the fetch origin adapter — starts once the node has joined
 * its cluster. Requests that arrive before that wait for it (up to
 * {@link START_WAIT_MS}, then 503), so a node never answers as a lone cache
 * while it is joining.
 */
import type { ClusterNode } from "../core/cluster/cluster-node.ts";
import { edgeEnabled, type ShoalConfig } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import { ClusterPlacement } from "../core/edge/cluster-placement.ts";
import { type EdgeResponse, errorResponse } from "../core/edge/deliver.ts";
import { EdgeCache, LOCAL_PLACEMENT } from "../core/edge/edge-cache.ts";
import { gatewayCommand, NodeEdgeStore } from "../core/edge/node-store.ts";
import { purgeAuthorizer } from "../core/edge/purge-auth.ts";
import type { EdgeRequest } from "../core/edge/recv.ts";
import { CommandGateway } from "../core/gateway/gateway.ts";
import { joinHostPort } from "../core/net-address.ts";
import type { ShoalNode } from "../core/node.ts";
import { type EdgeListener, listenEdge } from "../transports/edge-http.ts";
import { FetchOrigin } from "../transports/edge-origin.ts";
import { idleTimeoutSeconds } from "./http-limits.ts";
import { listening } from "./listen-errors.ts";
import { systemClock, systemRng } from "./runtime.ts";

/** How long a request that arrived while the node was starting waits for the cache, ms. */
export const START_WAIT_MS = 30_000;

/** The edge port and, once started, the cache behind it. */
export class EdgeServer {
  private cache: EdgeCache | null = null;
  private placement: ClusterPlacement | null = null;
  private readonly started: Promise<void>;
  private markStarted!: () => void;
  private closed = false;

  private constructor(
    private readonly node: ShoalNode,
    private readonly cfg: ShoalConfig,
    private readonly log: Logger,
    private listener: EdgeListener | null = null,
  ) {
    this.started = new Promise((resolve) => {
      this.markStarted = resolve;
    });
  }

  /**
   * Opens the edge port when the configuration asks for an edge cache (else null).
   * @throws ListenError naming --edge-port when the port cannot be opened.
   */
  static open(node: ShoalNode, cfg: ShoalConfig, log: Logger): EdgeServer | null {
    if (!edgeEnabled(cfg)) return null;
    const server = new EdgeServer(node, cfg, log);
    server.listener = listening("edge", cfg.bind, cfg.edgePort, "--edge-port", () =>
      listenEdge((req) => server.handle(req), { bind: cfg.bind, port: cfg.edgePort, maxRequestBodyBytes: cfg.maxValueBytes + 1, idleTimeoutSeconds: idleTimeoutSeconds(cfg), log }),
    );
    return server;
  }

  /** The edge port (the chosen one when --edge-port is 0). */
  get port(): number {
    return this.listener?.port ?? 0;
  }

  /** The cache, once started. */
  get edge(): EdgeCache | null {
    return this.cache;
  }

  /** Starts the cache: in `cluster` when given (its placement; peer channel 3 answers other members), else alone. */
  async start(cluster: ClusterNode | null): Promise<void> {
    const { node, cfg, log } = this;
    this.placement = cluster === null ? null : new ClusterPlacement(cluster);
    const cache = new EdgeCache({
      origin: new FetchOrigin(),
      store: new NodeEdgeStore(cfg.edgeMap, node.map(cfg.edgeMap), gatewayCommand(new CommandGateway(node))),
      placement: this.placement ?? LOCAL_PLACEMENT,
      clock: systemClock,
      rng: systemRng(),
      defaultOrigin: cfg.origin,
      routes: cfg.routes,
      settings: { maxObjectBytes: cfg.edgeMaxObjectSize, originTimeoutMs: cfg.edgeOriginTimeoutMs, defaultTtlMs: cfg.edgeTtlMs, keepMs: cfg.edgeKeepMs },
      authorizePurge: purgeAuthorizer(node, cfg.edgeMap),
      log,
    });
    await this.placement?.serve(cache);
    this.cache = cache;
    this.markStarted();
    log.info("edge cache listening", {
      edge: `http://${joinHostPort(cfg.bind, this.port)}`,
      routes: cache.routes
        .list()
        .map((r) => `${r.prefix} -> ${r.origin}`)
        .join(", "),
      map: cfg.edgeMap,
    });
  }

  /** Closes the port and the peer channel. */
  async close(): Promise<void> {
    this.closed = true;
    await this.listener?.stop();
    await this.placement?.close();
  }

  private handle(req: EdgeRequest): EdgeResponse | Promise<EdgeResponse> {
    if (this.cache !== null) return this.cache.handle(req);
    return this.afterStart(req);
  }

  private async afterStart(req: EdgeRequest): Promise<EdgeResponse> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = await Promise.race([this.started.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), START_WAIT_MS)))]);
    clearTimeout(timer);
    if (!waited || this.cache === null || this.closed) return errorResponse(503, "edge: the node is still joining its cluster; try again", [["retry-after", "1"]]);
    return this.cache.handle(req);
  }
}
