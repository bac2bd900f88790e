import { edgeEnabled, type ShoalConfig } from "../core/config.ts";
import { Dashboard } from "../core/dashboard/dashboard.ts";
import type { Logger } from "../core/discovery.ts";
import { checkPurge } from "../core/edge/purge-auth.ts";
import { createHttpApp } from "../core/http/app.ts";
import { joinHostPort } from "../core/net-address.ts";
import { ShoalNode } from "../core/node.ts";
import { nodeSettings } from "../core/node-settings.ts";
import { processProbe } from "./process-probe.ts";

export { nodeSettings } from "../core/node-settings.ts";

import { listenResp } from "../transports/resp-server.ts";
import { type RunningCluster, startCluster, wantsCluster } from "./cluster.ts";
import { EdgeServer } from "./edge.ts";
import { sampleEventLoopLag } from "./event-loop-lag.ts";
import { idleTimeoutSeconds, limitedFetch, sseKeepAliveMs } from "./http-limits.ts";
import { listening } from "./listen-errors.ts";
import { type NodePersistence, openPersistence } from "./persistence.ts";
import { systemClock, systemRng } from "./runtime.ts";
import { aclSettings, ClientTls, reloadAclFile, respGuard } from "./security.ts";
import { UI_ASSETS } from "./ui-assets.ts";

/** A running node with its listeners. */
export interface RunningServer {
  node: ShoalNode;
  respPort: number;
  httpPort: number;
  /** RESP over TLS port (--tls-port), 0 when off. */
  tlsPort: number;
  /** HTTPS (+ HTTP/3) port of the HTTP API (--http-tls-port), 0 when off. */
  httpTlsPort: number;
  /** The edge cache's port (--edge-port), 0 when it is off. */
  edgePort: number;
  /** Re-reads the client TLS certificate files and the ACL file (SIGHUP); open connections keep going. */
  reloadCerts(): void;
  close(): Promise<void>;
}

/**
 * Starts a node on Bun: the RESP listener and the HTTP API. Port 0 picks a
 * free port (the chosen ones are returned).
 */
export async function startServer(cfg: ShoalConfig, log: Logger): Promise<RunningServer> {
  const node = new ShoalNode({ config: { ...nodeSettings(cfg), ...aclSettings(cfg) }, clock: systemClock, rng: systemRng(), log, process: processProbe(`bun ${Bun.version}`) });
  // the snapshot is loaded before any port opens: no client ever sees a half-loaded node
  const dataDir = cfg.dataDir;
  const persisted: NodePersistence | null = dataDir !== undefined ? openPersistence(node, { ...cfg, dataDir }, log, wantsCluster(cfg)) : null;
  const guard = respGuard(cfg, log);
  let resp: ReturnType<typeof listenResp>;
  try {
    resp = listening("RESP", cfg.bind, cfg.port, "--port", () => listenResp(node, cfg.bind, cfg.port, guard));
  } catch (e) {
    persisted?.release();
    throw e;
  }
  let cluster: RunningCluster | null = null;
  let edge: EdgeServer | null = null;
  const rssBytes = () => process.memoryUsage.rss();
  const host = cfg.advertise ?? cfg.bind;
  const dashboard = cfg.ui
    ? new Dashboard({
        source: { stats: node.stats, clock: node.clock, keyCount: () => node.keyCount(), memoryBytes: () => node.memoryBytes(), rssBytes, get ready() { return node.ready; } },
        nodeName: node.config.nodeName,
        view: () => node.clusterView?.(),
      })
    : null;
  const app = createHttpApp(node, {
    rssBytes,
    faults: cfg.faultInjection ? () => cluster?.faults : undefined,
    debugRoutes: cfg.faultInjection,
    cluster: () => node.clusterView?.(),
    auth: node,
    maxValueBytes: cfg.maxValueBytes,
    maxKeyBytes: cfg.maxKeyBytes,
    keepAliveMs: sseKeepAliveMs(cfg),
    ...(dashboard ? { ui: { dashboard: () => dashboard, assets: UI_ASSETS } } : {}),
    ...(edgeEnabled(cfg)
      ? {
          edge: () => {
            const cache = edge?.edge;
            return cache ? { purgeTags: (tags) => cache.purgeTags(tags), authorize: (a) => checkPurge(node, cfg.edgeMap, a, "*") } : undefined;
          },
          edgeMetrics: () => edge?.edge?.stats.render() ?? "",
        }
      : {}),
  });
  const fetch = limitedFetch(app.fetch, cfg, log);
  let tls: ClientTls;
  try {
    tls = ClientTls.start(node, cfg, guard, fetch, log);
  } catch (e) {
    resp.stop();
    persisted?.release();
    throw e;
  }
  const { respTls } = tls;
  let http: ReturnType<typeof Bun.serve>;
  try {
    http = listening("HTTP", cfg.bind, cfg.httpPort, "--http-port", () =>
      Bun.serve({ hostname: cfg.bind, port: cfg.httpPort, fetch, idleTimeout: idleTimeoutSeconds(cfg), maxRequestBodySize: cfg.maxValueBytes + 1 }),
    );
  } catch (e) {
    resp.stop();
    await tls.stop();
    persisted?.release();
    throw e;
  }
  try {
    edge = EdgeServer.open(node, cfg, log);
  } catch (e) {
    resp.stop();
    await tls.stop();
    await http.stop(true);
    persisted?.release();
    throw e;
  }
  node.start();
  const lagSampler = sampleEventLoopLag(node.stats.eventLoopLag, systemClock);
  dashboard?.setEndpoints({ resp: joinHostPort(host, resp.port), http: joinHostPort(host, http.port ?? cfg.httpPort) });
  dashboard?.start();
  try {
    cluster = wantsCluster(cfg) ? await startCluster(node, cfg, log, resp.port, persisted?.restored ?? undefined, (c) => dashboard?.attachCluster(c)) : null;
    await dashboard?.startCollector();
    await edge?.start(cluster?.cluster ?? null);
  } catch (e) {
    await dashboard?.stop();
    await edge?.close();
    await cluster?.close();
    lagSampler.stop();
    node.stop();
    resp.stop();
    await tls.stop();
    await http.stop(true);
    persisted?.release();
    throw e;
  }
  if (persisted) {
    const layer = cluster?.cluster;
    if (layer) persisted.persistence.attachCluster(() => layer.snapshotState());
    persisted.persistence.start();
  }
  log.info("shoal listening", {
    node: node.config.nodeName,
    resp: joinHostPort(cfg.bind, resp.port),
    ...(respTls ? { respTls: joinHostPort(cfg.bind, respTls.port) } : {}),
    http: `http://${joinHostPort(cfg.bind, http.port ?? cfg.httpPort)}`,
    ...(tls.httpsPort ? { https: `https://${joinHostPort(cfg.bind, tls.httpsPort)}` } : {}),
    ...(edge ? { edge: `http://${joinHostPort(cfg.bind, edge.port)}` } : {}),
    ...(cfg.advertise !== undefined && cfg.advertise !== cfg.bind ? { advertise: cfg.advertise } : {}),
  });
  return {
    node,
    respPort: resp.port,
    httpPort: http.port ?? cfg.httpPort,
    tlsPort: respTls?.port ?? 0,
    httpTlsPort: tls.httpsPort,
    reloadCerts() {
      tls.reload();
      reloadAclFile(node, cfg, log);
    },
    edgePort: edge?.port ?? 0,
    async close() {
      await dashboard?.stop();
      await edge?.close();
      // the final snapshot comes first: a graceful leave hands this node's partitions off and drops them here
      await persisted?.close();
      await cluster?.close();
      lagSampler.stop();
      node.stop();
      resp.stop();
      await tls.stop();
      await http.stop(true);
    },
  };
}
