import type { ShoalConfig } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import { createHttpApp } from "../core/http/app.ts";
import { type NodeSettings, ShoalNode } from "../core/node.ts";
import { listenResp } from "../transports/resp-server.ts";
import { systemClock, systemRng } from "./runtime.ts";

/** A running node with its listeners. */
export interface RunningServer {
  node: ShoalNode;
  respPort: number;
  httpPort: number;
  close(): Promise<void>;
}

/** Node settings from the validated configuration. */
export function nodeSettings(cfg: ShoalConfig): NodeSettings {
  const maps: NodeSettings["maps"] = {};
  for (const [name, o] of Object.entries(cfg.maps ?? {})) {
    maps[name] = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  }
  return {
    nodeName: cfg.nodeName || `shoal-${cfg.port}`,
    port: cfg.port,
    httpPort: cfg.httpPort,
    bind: cfg.bind,
    requirepass: cfg.requirepass,
    maxClients: cfg.maxClients,
    maxKeyBytes: cfg.maxKeyBytes,
    maxValueBytes: cfg.maxValueBytes,
    maxMultibulkLen: cfg.maxMultibulkLen,
    maxInlineBytes: cfg.maxInlineBytes,
    maxQueryBufferBytes: cfg.maxQueryBufferBytes,
    frameTimeoutMs: cfg.frameTimeoutMs,
    idleTimeoutMs: cfg.idleTimeoutMs,
    maxBulkBytes: Math.max(cfg.maxValueBytes, cfg.maxKeyBytes),
    mapDefaults: { ttlMs: cfg.ttlMs, maxIdleMs: cfg.maxIdleMs, maxKeys: cfg.maxKeys, maxInuse: cfg.maxInuse },
    maps,
    partitionCount: cfg.partitionCount,
  };
}

/**
 * Starts a node on Bun: the RESP listener and the HTTP API. Port 0 picks a
 * free port (the chosen ones are returned).
 */
export async function startServer(cfg: ShoalConfig, log: Logger): Promise<RunningServer> {
  const node = new ShoalNode({ config: nodeSettings(cfg), clock: systemClock, rng: systemRng(), log });
  const resp = listenResp(node, cfg.bind, cfg.port);
  const app = createHttpApp(node, {
    rssBytes: () => process.memoryUsage.rss(),
    authTokens: cfg.requirepass ? [cfg.requirepass] : undefined,
    maxValueBytes: cfg.maxValueBytes,
    maxKeyBytes: cfg.maxKeyBytes,
  });
  let http: ReturnType<typeof Bun.serve>;
  try {
    http = Bun.serve({ hostname: cfg.bind, port: cfg.httpPort, fetch: app.fetch, idleTimeout: 0, maxRequestBodySize: cfg.maxValueBytes + 1 });
  } catch (e) {
    resp.stop();
    throw e;
  }
  node.start();
  log.info("shoal listening", {
    node: node.config.nodeName,
    resp: `${cfg.bind}:${resp.port}`,
    http: `http://${cfg.bind}:${http.port}`,
  });
  return {
    node,
    respPort: resp.port,
    httpPort: http.port ?? cfg.httpPort,
    async close() {
      node.stop();
      resp.stop();
      await http.stop(true);
    },
  };
}
