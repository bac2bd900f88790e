import { readFileSync } from "node:fs";
import type { ShoalConfig } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import { createHttpApp } from "../core/http/app.ts";
import { ShoalNode } from "../core/node.ts";
import { nodeSettings } from "../core/node-settings.ts";

export { nodeSettings } from "../core/node-settings.ts";

import { listenResp, type RespListener } from "../transports/resp-server.ts";
import { listenRespTls } from "../transports/resp-tls.ts";
import { type RunningCluster, startCluster, wantsCluster } from "./cluster.ts";
import { systemClock, systemRng } from "./runtime.ts";
import { aclSettings } from "./security.ts";

/** Reads a PEM file named by `flag`; the error names the flag. */
function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${flag} ${path}: ${(e as Error).message}`);
  }
}

/** Starts the RESP-over-TLS listener when `--tls-port` is set (the schema checked cert and key). */
function startRespTls(node: ShoalNode, cfg: ShoalConfig): RespListener | null {
  if (cfg.tlsPort === 0 || cfg.tlsCert === undefined || cfg.tlsKey === undefined) return null;
  return listenRespTls(node, cfg.bind, cfg.tlsPort, {
    cert: readPem("--tls-cert", cfg.tlsCert),
    key: readPem("--tls-key", cfg.tlsKey),
    ca: cfg.tlsCa === undefined ? undefined : readPem("--tls-ca", cfg.tlsCa),
  });
}

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
  const node = new ShoalNode({ config: { ...nodeSettings(cfg), ...aclSettings(cfg) }, clock: systemClock, rng: systemRng(), log });
  const resp = listenResp(node, cfg.bind, cfg.port);
  let respTls: RespListener | null;
  try {
    respTls = startRespTls(node, cfg);
  } catch (e) {
    resp.stop();
    throw e;
  }
  let cluster: RunningCluster | null = null;
  const app = createHttpApp(node, {
    rssBytes: () => process.memoryUsage.rss(),
    faults: cfg.faultInjection ? () => cluster?.faults : undefined,
    cluster: () => node.clusterView?.(),
    auth: node,
    maxValueBytes: cfg.maxValueBytes,
    maxKeyBytes: cfg.maxKeyBytes,
  });
  let http: ReturnType<typeof Bun.serve>;
  try {
    http = Bun.serve({ hostname: cfg.bind, port: cfg.httpPort, fetch: app.fetch, idleTimeout: 0, maxRequestBodySize: cfg.maxValueBytes + 1 });
  } catch (e) {
    resp.stop();
    respTls?.stop();
    throw e;
  }
  node.start();
  try {
    cluster = wantsCluster(cfg) ? await startCluster(node, cfg, log, resp.port) : null;
  } catch (e) {
    node.stop();
    resp.stop();
    respTls?.stop();
    await http.stop(true);
    throw e;
  }
  log.info("shoal listening", {
    node: node.config.nodeName,
    resp: `${cfg.bind}:${resp.port}`,
    ...(respTls ? { respTls: `${cfg.bind}:${respTls.port}` } : {}),
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
      respTls?.stop();
      await http.stop(true);
    },
  };
}
