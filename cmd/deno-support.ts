/**
 * What the Deno entry (cmd/deno-main.ts, `deno task start`) honours: one
 * node serving RESP and HTTP with the store, map, client and HTTP request
 * limits, ACL/password and logging settings. Clustering, discovery, TLS,
 * HTTP/3, the edge cache and the HTTP stall timeout run only in the shoal
 * binary (their sockets live in Bun transports). A setting of those that is
 * given — flag, SHOAL_* variable or shoal.yaml key — is refused with exit 2
 * rather than silently ignored. A setting added to the schema later is
 * refused here until the Deno entry honours it and it is listed below.
 */
import type { ConfigKey, LoadedConfig } from "../core/config.ts";
import { fieldMeta } from "../core/config-load.ts";

/** Settings cmd/deno-main.ts applies. */
export const DENO_HONOURED: ReadonlySet<ConfigKey> = new Set<ConfigKey>([
  // listeners and identity
  "port",
  "httpPort",
  "bind",
  "nodeName",
  // the store and its maps (per-map quorums are checked separately)
  "ttlMs",
  "maxIdleMs",
  "maxKeys",
  "maxInuse",
  "maps",
  "partitionCount",
  // client limits: core's (nodeSettings) and the RESP/HTTP guards deno-main.ts wires
  "maxClients",
  "maxClientsPerIp",
  "maxKeyBytes",
  "maxValueBytes",
  "maxMultibulkLen",
  "maxInlineBytes",
  "maxQueryBufferBytes",
  "maxOutputBufferBytes",
  "maxPubsubOutputBufferBytes",
  "frameTimeoutMs",
  "idleTimeoutMs",
  "maxCommandsPerSecond",
  "httpMaxRequests",
  "httpMaxRequestsPerIp",
  // access control and logging
  "requirepass",
  "aclFile",
  "logFormat",
  "logLevel",
]);

const TLS_KEYS = new Set<string>(["tlsPort", "tlsCert", "tlsKey", "tlsCa", "httpTlsPort", "http3"]);

/** Why `key` does not work on Deno, in a few words. */
function reason(key: ConfigKey): string {
  const group = fieldMeta(key).group;
  if (group === "Cluster" || group === "Discovery" || key.startsWith("peer") || key.startsWith("cluster") || key === "advertise" || key === "allowInsecurePeers" || key === "faultInjection") {
    return "clustering runs only in the shoal binary; the Deno entry serves one node";
  }
  if (TLS_KEYS.has(key)) return "TLS and HTTP/3 listeners run only in the shoal binary";
  if (group === "Edge cache") return "the edge cache runs only in the shoal binary";
  if (key === "ui") return "the dashboard's page is bundled into the shoal binary";
  return "not applied by the Deno entry (cmd/deno-main.ts)";
}

/** One line per given setting that Deno would ignore (label, then why); empty when everything given is honoured. */
export function denoRefusals(loaded: LoadedConfig): string[] {
  const lines: string[] = [];
  for (const [key, label] of loaded.given) {
    // --ui false asks for what the Deno entry does anyway (it serves no dashboard)
    if (key === "ui" && loaded.config.ui === false) continue;
    if (!DENO_HONOURED.has(key)) lines.push(`${label}: ${reason(key)}`);
  }
  const mapsLabel = loaded.given.get("maps");
  if (mapsLabel !== undefined) {
    for (const [map, o] of Object.entries(loaded.config.maps)) {
      for (const [field, yaml] of [["writeQuorum", "write_quorum"], ["readQuorum", "read_quorum"]] as const) {
        if (o[field] !== undefined) lines.push(`${mapsLabel}.${map}.${yaml}: quorums need a cluster, which runs only in the shoal binary`);
      }
    }
  }
  return lines;
}

/** The whole refusal message for stderr. */
export function denoRefusalMessage(lines: readonly string[]): string {
  return [
    `shoal (deno): ${lines.length === 1 ? "this setting does" : "these settings do"} not work on Deno and would be ignored:`,
    ...lines.map((l) => `  ${l}`),
    "Run the shoal binary for them (npm run build → dist/shoal, or a release archive), or remove them to serve one node on Deno.",
  ].join("\n");
}
