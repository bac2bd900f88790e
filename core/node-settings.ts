import type { MapLimits } from "./api.ts";
import { edgeEnabled, type ShoalConfig } from "./config.ts";
import type { EncodingLimits } from "./store/collection.ts";

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
  /** notify-keyspace-events at start (Redis class letters; "" = off). */
  notifyKeyspaceEvents?: string;
  /** When hashes and sets leave the compact encoding (defaults: Redis 7's). */
  encoding?: Partial<EncodingLimits>;
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
    notifyKeyspaceEvents: cfg.notifyKeyspaceEvents,
    encoding: {
      hashMaxListpackEntries: cfg.hashMaxListpackEntries,
      hashMaxListpackValue: cfg.hashMaxListpackValue,
      setMaxListpackEntries: cfg.setMaxListpackEntries,
      setMaxListpackValue: cfg.setMaxListpackValue,
      setMaxIntsetEntries: cfg.setMaxIntsetEntries,
    },
  };
}
