import { edgeEnabled, type ShoalConfig } from "./config.ts";
import type { NodeSettings } from "./node.ts";

/** Node settings from the validated configuration. */
export function nodeSettings(cfg: ShoalConfig): NodeSettings {
  const maps: NodeSettings["maps"] = {};
  for (const [name, o] of Object.entries(cfg.maps ?? {})) {
    maps[name] = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  }
  // the edge cache's map is bounded by --edge-max-memory unless maps.<edge map>.max_inuse says otherwise
  if (edgeEnabled(cfg) && maps[cfg.edgeMap]?.maxInuse === undefined) maps[cfg.edgeMap] = { ...maps[cfg.edgeMap], maxInuse: cfg.edgeMaxMemory };
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
    maxCommandsPerSecond: cfg.maxCommandsPerSecond,
    maxBulkBytes: Math.max(cfg.maxValueBytes, cfg.maxKeyBytes),
    mapDefaults: { ttlMs: cfg.ttlMs, maxIdleMs: cfg.maxIdleMs, maxKeys: cfg.maxKeys, maxInuse: cfg.maxInuse },
    maps,
    partitionCount: cfg.partitionCount,
  };
}
