/**
 * Starts a node's edge cache (`--origin` or shoal.yaml `routes:`): the
 * runtime-neutral {@link EdgeCache} over the node's edge map, the cluster's
 * placement when clustered, the fetch origin adapter, and the edge listener
 * on `--edge-port`.
 */
import type { ClusterNode } from "../core/cluster/cluster-node.ts";
import { edgeEnabled, type ShoalConfig } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import { ClusterPlacement } from "../core/edge/cluster-placement.ts";
import { EdgeCache, LOCAL_PLACEMENT } from "../core/edge/edge-cache.ts";
import { gatewayCommand, NodeEdgeStore } from "../core/edge/node-store.ts";
import { purgeAuthorizer } from "../core/edge/purge-auth.ts";
import { CommandGateway } from "../core/gateway/gateway.ts";
import { joinHostPort } from "../core/net-address.ts";
import type { ShoalNode } from "../core/node.ts";
import { listenEdge } from "../transports/edge-http.ts";
import { FetchOrigin } from "../transports/edge-origin.ts";
import { idleTimeoutSeconds } from "./http-limits.ts";
import { listening } from "./listen-errors.ts";
import { systemClock, systemRng } from "./runtime.ts";

/** A running edge cache. */
export interface RunningEdge {
  edge: EdgeCache;
  port: number;
  close(): Promise<void>;
}

/** Starts the edge cache when the configuration asks for one (else null). */
export async function startEdge(node: ShoalNode, cfg: ShoalConfig, cluster: ClusterNode | null, log: Logger): Promise<RunningEdge | null> {
  if (!edgeEnabled(cfg)) return null;
  const placement = cluster === null ? null : new ClusterPlacement(cluster);
  const edge = new EdgeCache({
    origin: new FetchOrigin(),
    store: new NodeEdgeStore(cfg.edgeMap, node.map(cfg.edgeMap), gatewayCommand(new CommandGateway(node))),
    placement: placement ?? LOCAL_PLACEMENT,
    clock: systemClock,
    rng: systemRng(),
    defaultOrigin: cfg.origin,
    routes: cfg.routes,
    settings: { maxObjectBytes: cfg.edgeMaxObjectSize, originTimeoutMs: cfg.edgeOriginTimeoutMs, defaultTtlMs: cfg.edgeTtlMs, keepMs: cfg.edgeKeepMs },
    authorizePurge: purgeAuthorizer(node, cfg.edgeMap),
    log,
  });
  await placement?.serve(edge);
  let listener: ReturnType<typeof listenEdge>;
  try {
    listener = listening("edge", cfg.bind, cfg.edgePort, "--edge-port", () =>
      listenEdge(edge, { bind: cfg.bind, port: cfg.edgePort, maxRequestBodyBytes: cfg.maxValueBytes + 1, idleTimeoutSeconds: idleTimeoutSeconds(cfg), log }),
    );
  } catch (e) {
    await placement?.close();
    throw e;
  }
  log.info("edge cache listening", {
    edge: `http://${joinHostPort(cfg.bind, listener.port)}`,
    routes: edge.routes
      .list()
      .map((r) => `${r.prefix} -> ${r.origin}`)
      .join(", "),
    map: cfg.edgeMap,
  });
  return {
    edge,
    port: listener.port,
    async close() {
      await listener.stop();
      await placement?.close();
    },
  };
}
