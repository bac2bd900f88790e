import type { ShoalConfig } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import { createHttpApp } from "../core/http/app.ts";
import { ShoalNode } from "../core/node.ts";
import { nodeSettings } from "../core/node-settings.ts";

export { nodeSettings } from "../core/node-settings.ts";

import { listenResp } from "../transports/resp-server.ts";
import { type RunningCluster, startCluster, wantsCluster } from "./cluster.ts";
import { systemClock, systemRng } from "./runtime.ts";

/** A running node with its listeners. */
export interface RunningServer {
  node: ShoalNode;
  respPort: number;
  httpPort: number;
  close(): Promise<void>;
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
  let cluster: RunningCluster | null = null;
  try {
    cluster = wantsCluster(cfg) ? await startCluster(node, cfg, log) : null;
  } catch (e) {
    node.stop();
    resp.stop();
    await http.stop(true);
    throw e;
  }
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
      await cluster?.close();
      node.stop();
      resp.stop();
      await http.stop(true);
    },
  };
}
