/**
 * shoal configuration: ONE zod schema with defaults and presets. Every field
 * is a flag (`--http-port`), an env variable (`SHOAL_HTTP_PORT`) and a
 * shoal.yaml key (`http_port`); see config-load.ts for the merge
 * (flags > env > file > defaults) and config-help.ts for the help text.
 * Durations are stored in milliseconds (fields ending in `Ms`), sizes in bytes.
 */
import { z } from "zod";
import type { MapLimits } from "./api.ts";
import { checkEdge, EDGE_FIELDS } from "./config-edge.ts";
import {
  addressListField,
  boolField,
  durationField,
  enumField,
  intField,
  MapOverride,
  sizeField,
  stringField,
} from "./config-fields.ts";
import { parseEventFlags } from "./keyspace-events.ts";
import { chooseAdvertiseHost, isIP, isLoopbackHost } from "./net-address.ts";

export { type EdgeRoute, edgeEnabled } from "./config-edge.ts";
export type { FieldMeta } from "./config-fields.ts";
export { MapOverride } from "./config-fields.ts";
export { configHelp } from "./config-help.ts";
export { ConfigError, type ConfigSources, type LoadedConfig, loadConfig, loadConfigWithOrigins } from "./config-load.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const MAX_INT = Number.MAX_SAFE_INTEGER;

/** Cluster timing presets (memberlist's local/lan/wan, as in Olric). Values in ms. */
export const PRESETS = {
  local: { probeIntervalMs: 1000, probeTimeoutMs: 200, gossipIntervalMs: 100, suspicionMult: 3, pushPullIntervalMs: 15_000, leaveTimeoutMs: 2000, peerTimeoutMs: 1000 },
  lan: { probeIntervalMs: 1000, probeTimeoutMs: 500, gossipIntervalMs: 200, suspicionMult: 4, pushPullIntervalMs: 30_000, leaveTimeoutMs: 5000, peerTimeoutMs: 10_000 },
  wan: { probeIntervalMs: 5000, probeTimeoutMs: 3000, gossipIntervalMs: 500, suspicionMult: 6, pushPullIntervalMs: 60_000, leaveTimeoutMs: 15_000, peerTimeoutMs: 30_000 },
} as const;

/** Name of a cluster timing preset. */
export type PresetName = keyof typeof PRESETS;

const port = (description: string) => intField(1, 65535, { group: "Network", description });
const presetDuration = (description: string) => durationField({ group: "Cluster", description, preset: true }).optional();
const discoveryText = (description: string) => stringField({ group: "Discovery", description }).optional();

/** Every configurable field, flat; the keys are the TypeScript names. */
export const ShoalConfigFields = z.object({
  port: port("RESP (Redis protocol) port").default(3320),
  httpPort: port("HTTP API port").default(3380),
  peerPort: port("peer (cluster) port").default(3322),
  bind: stringField({ group: "Network", description: "address to listen on (0.0.0.0 or :: = every address)", arg: "<address>" }).default("127.0.0.1"),
  advertise: stringField({
    group: "Network",
    description:
      "address other hosts reach this node at: its member name, CLUSTER NODES/SLOTS and MOVED (default: --bind, or with a wildcard bind the host's one non-loopback address)",
    arg: "<address>",
    shown: "--bind",
  }).optional(),
  ui: boolField({ group: "Network", description: "serve the live dashboard at /ui on the HTTP port (same authentication as the API)" }).default(true),
  nodeName: stringField({ group: "Network", description: "node name in the cluster", shown: "<hostname>-<port>" }).default(""),
  requirepass: stringField({ group: "Network", description: "password clients must AUTH with", shown: "none" }).optional(),

  maxClients: intField(1, 1_000_000, { group: "Limits", description: "maximum client connections" }).default(10_000),
  maxKeyBytes: sizeField({ group: "Limits", description: "largest key" }).default(64 * KiB),
  maxValueBytes: sizeField({ group: "Limits", description: "largest value (proto-max-bulk-len)" }).default(512 * MiB),
  maxMultibulkLen: intField(1, 2 ** 31 - 1, { group: "Limits", description: "most elements in one command" }).default(1_048_576),
  maxInlineBytes: sizeField({ group: "Limits", description: "longest inline command" }).default(64 * KiB),
  maxQueryBufferBytes: sizeField({ group: "Limits", description: "unparsed input per client (client-query-buffer-limit)" }).default(GiB),
  frameTimeoutMs: durationField({ group: "Limits", description: "close a client that stalls mid-command this long" }).default(30_000),
  idleTimeoutMs: durationField({ group: "Limits", description: "close idle clients after this long (0 = never; Redis' timeout)" }).default(0),
  maxClientsPerIp: intField(0, 1_000_000, { group: "Limits", description: "client connections from one IP address (0 = unlimited)" }).default(0),
  maxOutputBufferBytes: sizeField({ group: "Limits", description: "unsent replies queued for one client before it is closed (0 = unlimited)" }).default(0),
  maxPubsubOutputBufferBytes: sizeField({ group: "Limits", description: "unsent replies queued for a subscribed client before it is closed (0 = unlimited)" }).default(32 * MiB),
  httpStallTimeoutMs: durationField({
    group: "Limits",
    description: "close an HTTP connection that sends nothing (mid-request or idle between requests) and gets nothing this long; 5s-255s, 0 = never",
  }).default(60_000),
  httpMaxRequests: intField(0, 1_000_000, { group: "Limits", description: "HTTP requests (SSE streams included) handled at once; more get 503 (0 = unlimited)" }).default(10_000),
  httpMaxRequestsPerIp: intField(0, 1_000_000, { group: "Limits", description: "HTTP requests (SSE streams included) from one IP address at once; more get 503 (0 = unlimited)" }).default(0),
  maxCommandsPerSecond: intField(0, 100_000_000, { group: "Limits", description: "commands one client may run per second; more get an error (0 = unlimited)" }).default(0),

  logFormat: enumField(["text", "json"], { group: "Logging", description: "log line format" }).default("text"),
  logLevel: enumField(["debug", "info", "warn", "error"], { group: "Logging", description: "lowest level logged" }).default("info"),

  ttlMs: durationField({ group: "Maps", description: "default TTL of map entries (0 = none)" }).default(0),
  maxIdleMs: durationField({ group: "Maps", description: "expire entries idle this long (0 = never)" }).default(0),
  maxKeys: intField(0, MAX_INT, { group: "Maps", description: "keys per map before LRU eviction (0 = unlimited)" }).default(0),
  maxInuse: sizeField({ group: "Maps", description: "bytes per map before LRU eviction (0 = unlimited)" }).default(0),
  notifyKeyspaceEvents: stringField({
    group: "Redis compatibility",
    description: "keyspace notifications, Redis' notify-keyspace-events classes (e.g. KEA; empty = off; CONFIG SET changes it per node)",
    arg: "<classes>",
    shown: "off",
  }).default(""),
  hashMaxListpackEntries: intField(0, 2 ** 31 - 1, { group: "Redis compatibility", description: "hashes up to this many fields stay in the compact encoding" }).default(128),
  hashMaxListpackValue: intField(0, 2 ** 31 - 1, { group: "Redis compatibility", description: "hashes whose fields and values are at most this long stay compact" }).default(64),
  setMaxListpackEntries: intField(0, 2 ** 31 - 1, { group: "Redis compatibility", description: "sets up to this many members stay compact" }).default(128),
  setMaxListpackValue: intField(0, 2 ** 31 - 1, { group: "Redis compatibility", description: "sets whose members are at most this long stay compact" }).default(64),
  setMaxIntsetEntries: intField(0, 2 ** 31 - 1, { group: "Redis compatibility", description: "sets of integers up to this many members stay compact" }).default(512),
  maps: z
    .record(z.string(), MapOverride)
    .default({})
    .meta({ group: "Maps", description: "per-map overrides: maps: { name: { ttl, max_idle, max_keys, max_inuse, write_quorum, read_quorum } }", arg: "", kind: "record", yamlOnly: true }),

  dataDir: stringField({
    group: "Persistence",
    description: "directory for snapshots: set = load the snapshot at start, save on SIGTERM, every --snapshot-interval and on SAVE/BGSAVE",
    arg: "<dir>",
    shown: "none (no persistence)",
  }).optional(),
  snapshotIntervalMs: durationField({ group: "Persistence", description: "background snapshot this often when anything changed (0 = only on SAVE/BGSAVE/SIGTERM)" }).default(300_000),
  snapshotOnError: enumField(["exit", "start-empty"], {
    group: "Persistence",
    description: "a corrupt or truncated snapshot at start: exit with status 2, or set the file aside and start empty",
  }).default("exit"),

  preset: enumField(["local", "lan", "wan"], { group: "Cluster", description: "failure-detection timing preset" }).default("lan"),
  peers: addressListField({ group: "Cluster", description: "static seed peers", shown: "none" }).default([]),
  replicaCount: intField(1, 16, { group: "Cluster", description: "copies of each key" }).default(1),
  writeQuorum: intField(1, 16, { group: "Cluster", description: "replicas that must ack a write" }).default(1),
  readQuorum: intField(1, 16, { group: "Cluster", description: "replicas consulted on a read" }).default(1),
  memberCountQuorum: intField(1, 1024, { group: "Cluster", description: "members needed to accept writes" }).default(1),
  ownership: enumField(["consensus", "gossip"], {
    group: "Cluster",
    description: "how the partition table is decided: consensus (a Raft log agrees on numbered epochs; one owner per partition) or gossip (each node's own view; weaker, see README)",
  }).default("consensus"),
  maxVoters: intField(1, 9, { group: "Cluster", description: "most members that vote in consensus mode (the others follow)" }).default(5),
  partitionCount: intField(1, 16_384, { group: "Cluster", description: "number of partitions (each a range of the 16384 Redis Cluster slots)" }).default(271),
  replicationMode: enumField(["sync", "async"], { group: "Cluster", description: "wait for replicas or not" }).default("sync"),
  clusterRedirects: enumField(["auto", "always", "never"], {
    group: "Cluster",
    description: "MOVED/ASK for Redis Cluster clients (auto: those that asked CLUSTER SLOTS/NODES/SHARDS), every client, or none (always forward)",
  }).default("auto"),
  leaveTimeoutMs: presetDuration("time to hand off partitions on graceful leave"),
  probeIntervalMs: presetDuration("SWIM probe interval"),
  probeTimeoutMs: presetDuration("SWIM probe timeout"),
  gossipIntervalMs: presetDuration("gossip interval"),
  pushPullIntervalMs: presetDuration("full state sync interval"),
  peerTimeoutMs: presetDuration("peer request timeout"),
  suspicionMult: intField(1, 100, { group: "Cluster", description: "suspicion timeout multiplier", preset: true }).optional(),
  antiEntropyIntervalMs: durationField({
    group: "Cluster",
    description: "how often each partition owner compares digests with its replicas and repairs what differs (0 = off)",
  }).default(10_000),
  antiEntropyMaxKeys: intField(1, MAX_INT, { group: "Cluster", description: "most keys one anti-entropy round repairs (bounds its rate)" }).default(100_000),
  tombstoneGraceMs: durationField({
    group: "Cluster",
    description:
      "how long a delete's tombstone is kept at most (Cassandra's gc_grace): a copy cut off for longer can bring the key back; kept less only once anti-entropy saw it on every holder",
  }).default(600_000),
  hintMaxEntries: intField(0, MAX_INT, { group: "Cluster", description: "most writes kept for unreachable replicas (hinted handoff; 0 = off)" }).default(100_000),
  hintMaxBytes: sizeField({ group: "Cluster", description: "most key and value bytes kept for unreachable replicas (hinted handoff)" }).default(64 * MiB),
  faultInjection: boolField({
    group: "Cluster",
    description: "peer-transport fault injection + GET/PUT/DELETE /v1/faults (all nodes must agree): for tests and chaos runs; never in production",
  }).default(false),

  peerTransport: enumField(["tcp", "tls", "quic"], { group: "Security", description: "peer (cluster) transport" }).default("tcp"),
  clusterKey: stringField({ group: "Security", description: "shared cluster key: HMAC on every peer frame (required for quic)", shown: "none" }).optional(),
  clusterKeyFile: stringField({ group: "Security", description: "file holding the cluster key", arg: "<path>", shown: "none" }).optional(),
  peerTlsCert: stringField({ group: "Security", description: "peer certificate (PEM; tls and quic)", arg: "<path>", shown: "none" }).optional(),
  peerTlsKey: stringField({ group: "Security", description: "peer private key (PEM; tls and quic)", arg: "<path>", shown: "none" }).optional(),
  peerTlsCa: stringField({ group: "Security", description: "CA peer certificates must chain to (PEM; tls)", arg: "<path>", shown: "none" }).optional(),
  allowInsecurePeers: boolField({
    group: "Security",
    description: "let a node whose --bind is not loopback run without peer authentication (anyone who reaches the peer port can join, read and delete every key)",
  }).default(false),
  tlsPort: intField(0, 65535, { group: "Security", description: "RESP over TLS port (0 = off)" }).default(0),
  tlsCert: stringField({ group: "Security", description: "client-port TLS certificate (PEM)", arg: "<path>", shown: "none" }).optional(),
  tlsKey: stringField({ group: "Security", description: "client-port TLS private key (PEM)", arg: "<path>", shown: "none" }).optional(),
  tlsCa: stringField({ group: "Security", description: "CA for client certificates (set = clients must present one)", arg: "<path>", shown: "none" }).optional(),
  httpTlsPort: intField(0, 65535, { group: "Security", description: "HTTPS port of the HTTP API, with --tls-cert/--tls-key (0 = off)" }).default(0),
  http3: boolField({ group: "Security", description: "also serve HTTP/3 (QUIC, UDP) on --http-tls-port and advertise it with Alt-Svc" }).default(true),
  aclFile: stringField({ group: "Security", description: "ACL users file in Redis syntax (user <name> on >pass ~keys +@read …)", arg: "<path>", shown: "none" }).optional(),

  discovery: enumField(["static", "dns", "consul", "kubernetes", "plugin"], { group: "Discovery", description: "how peers are found" }).default("static"),
  dnsName: stringField({ group: "Discovery", description: "DNS SRV or A name to resolve (alias --dns-srv)", aliases: ["dnsSrv"] }).optional(),
  dnsServer: discoveryText("DNS server host:port (default: system resolver)"),
  dnsIntervalMs: durationField({ group: "Discovery", description: "DNS re-resolve interval" }).default(5000),
  consulAddr: discoveryText("Consul HTTP address"),
  consulService: discoveryText("Consul service name"),
  consulToken: discoveryText("Consul ACL token"),
  consulRegister: boolField({ group: "Discovery", description: "register this node in Consul" }).default(false),
  k8sNamespace: discoveryText("Kubernetes namespace"),
  k8sSelector: discoveryText("Kubernetes label selector"),
  k8sService: discoveryText("Kubernetes headless service"),
  discoveryPlugin: discoveryText("module path of a custom discovery plugin"),
  discoveryOptions: z
    .record(z.string(), z.unknown())
    .default({})
    .meta({ group: "Discovery", description: "free-form options passed to the discovery plugin", arg: "", kind: "record", yamlOnly: true }),

  ...EDGE_FIELDS,
});

/** The field names of {@link ShoalConfigFields}. */
export type ConfigKey = keyof typeof ShoalConfigFields.shape;

type Fields = z.output<typeof ShoalConfigFields>;
type PresetKey = keyof (typeof PRESETS)["lan"];

/** The validated configuration: every preset-dependent timing resolved. */
export type ShoalConfig = Omit<Fields, PresetKey> & { [K in PresetKey]: number };

type Issues = { addIssue(issue: { code: "custom"; path: string[]; message: string }): void };

/** Whether `bind` is a loopback address (127.0.0.0/8, ::1, localhost): nothing outside this host can reach it. */
export const isLoopbackBind: (bind: string) => boolean = isLoopbackHost;

/** Checks --advertise on its own: a host (IP or name) without a port, never a wildcard, loopback only with a loopback bind. */
function checkAdvertise(c: Fields, ctx: Issues): void {
  if (c.advertise === undefined) return;
  const a = c.advertise.trim();
  if (!isIP(a) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(a)) {
    const port = /^(\[[^\]]*\]|[^:]+):\d+$/.test(a) ? " without a port (the ports are --port, --peer-port and --http-port)" : "";
    ctx.addIssue({ code: "custom", path: ["advertise"], message: `expected an IP address or host name${port}, e.g. 10.0.0.5 or fd00::5, got ${JSON.stringify(c.advertise)}` });
    return;
  }
  const choice = chooseAdvertiseHost(c.bind, a, []);
  if (!choice.ok) ctx.addIssue({ code: "custom", path: ["advertise"], message: choice.message });
}

/** Whether the peer traffic of `c` is authenticated: a cluster key, or mutual TLS (tls with a CA). */
export function peersAuthenticated(c: Pick<Fields, "clusterKey" | "clusterKeyFile" | "peerTransport" | "peerTlsCa">): boolean {
  return c.clusterKey !== undefined || c.clusterKeyFile !== undefined || (c.peerTransport === "tls" && c.peerTlsCa !== undefined);
}

/** Whether `c` runs the cluster layer (and so opens the peer port): peers given, or a discovery that finds them. */
export function wantsCluster(c: Pick<Fields, "peers" | "discovery" | "discoveryPlugin">): boolean {
  return c.peers.length > 0 || c.discovery !== "static" || c.discoveryPlugin !== undefined;
}

/** The start-up refusal of a reachable peer port without peer authentication (exit 2). */
export const INSECURE_PEERS_MESSAGE = (bind: string): string =>
  `required because --bind ${bind} lets other hosts reach the peer port, and without peer authentication anyone who reaches it can join the cluster, read and delete every key. ` +
  "Make a key with 'shoal keygen --out cluster.key', copy the file to every node and start each with --cluster-key-file cluster.key " +
  "(or use --peer-transport tls with --peer-tls-cert/--peer-tls-key/--peer-tls-ca; --allow-insecure-peers starts without authentication anyway)";

/** Cross-field checks of the transport and TLS settings (names the missing flags). */
function checkSecurity(c: Fields, ctx: Issues): void {
  if (wantsCluster(c) && !isLoopbackBind(c.bind)) {
    if (c.peerTransport === "quic") {
      ctx.addIssue({
        code: "custom",
        path: ["peerTransport"],
        message: `quic is for loopback test clusters only (--bind ${c.bind} is reachable from other hosts): QUIC peers cannot verify each other's certificates and a captured QUIC frame can be replayed; use --peer-transport tls (mutual TLS) or tcp with --cluster-key-file`,
      });
    } else if (!c.allowInsecurePeers && !peersAuthenticated(c)) {
      ctx.addIssue({ code: "custom", path: ["clusterKeyFile"], message: INSECURE_PEERS_MESSAGE(c.bind) });
    }
  }
  const missing = (keys: Array<[string, unknown]>): string[] => keys.filter(([, v]) => v === undefined).map(([k]) => k);
  if (c.clusterKey !== undefined && c.clusterKeyFile !== undefined) {
    ctx.addIssue({ code: "custom", path: ["clusterKeyFile"], message: "give either --cluster-key or --cluster-key-file, not both" });
  }
  if (c.peerTransport === "tls") {
    const m = missing([["--peer-tls-cert", c.peerTlsCert], ["--peer-tls-key", c.peerTlsKey], ["--peer-tls-ca", c.peerTlsCa]]);
    if (m.length > 0) ctx.addIssue({ code: "custom", path: ["peerTransport"], message: `--peer-transport tls needs ${m.join(", ")}` });
  }
  if (c.peerTransport === "quic") {
    const m = missing([["--peer-tls-cert", c.peerTlsCert], ["--peer-tls-key", c.peerTlsKey]]);
    if (m.length > 0) ctx.addIssue({ code: "custom", path: ["peerTransport"], message: `--peer-transport quic needs ${m.join(", ")} (QUIC always runs TLS 1.3)` });
    if (c.clusterKey === undefined && c.clusterKeyFile === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["peerTransport"],
        message: "--peer-transport quic needs --cluster-key or --cluster-key-file: QUIC peers here cannot verify certificates, so the cluster key is the only peer authentication",
      });
    }
  }
  if (c.httpTlsPort > 0) {
    const m = missing([["--tls-cert", c.tlsCert], ["--tls-key", c.tlsKey]]);
    if (m.length > 0) ctx.addIssue({ code: "custom", path: ["httpTlsPort"], message: `--http-tls-port needs ${m.join(", ")}` });
    for (const [key, value] of [["port", c.port], ["httpPort", c.httpPort], ["peerPort", c.peerPort], ["tlsPort", c.tlsPort]] as const) {
      if (value === c.httpTlsPort) ctx.addIssue({ code: "custom", path: ["httpTlsPort"], message: `must differ from --${key.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)} (${value})` });
    }
  }
  if (c.tlsPort > 0) {
    const m = missing([["--tls-cert", c.tlsCert], ["--tls-key", c.tlsKey]]);
    if (m.length > 0) ctx.addIssue({ code: "custom", path: ["tlsPort"], message: `--tls-port needs ${m.join(", ")}` });
    for (const [key, value] of [["port", c.port], ["httpPort", c.httpPort], ["peerPort", c.peerPort]] as const) {
      if (value === c.tlsPort) ctx.addIssue({ code: "custom", path: ["tlsPort"], message: `must differ from --${key.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)} (${value})` });
    }
  }
}

/**
 * THE schema: fields, cross-field checks, and preset resolution.
 * `ShoalConfig.parse({})` gives the defaults.
 */
export const ShoalConfig = ShoalConfigFields.superRefine((c, ctx) => {
  if (c.writeQuorum > c.replicaCount) {
    ctx.addIssue({ code: "custom", path: ["writeQuorum"], message: `must not exceed --replica-count (${c.replicaCount}), got ${c.writeQuorum}` });
  }
  if (c.readQuorum > c.replicaCount) {
    ctx.addIssue({ code: "custom", path: ["readQuorum"], message: `must not exceed --replica-count (${c.replicaCount}), got ${c.readQuorum}` });
  }
  for (const [name, m] of Object.entries(c.maps)) {
    for (const key of ["writeQuorum", "readQuorum"] as const) {
      const q = m[key];
      if (q !== undefined && q > c.replicaCount) {
        ctx.addIssue({ code: "custom", path: ["maps", name, key], message: `must not exceed --replica-count (${c.replicaCount}), got ${q}` });
      }
    }
  }
  const ports = [
    ["httpPort", c.httpPort],
    ["peerPort", c.peerPort],
  ] as const;
  for (const [key, value] of ports) {
    if (value === c.port) ctx.addIssue({ code: "custom", path: [key], message: `must differ from --port (${c.port})` });
  }
  if (c.httpPort === c.peerPort) ctx.addIssue({ code: "custom", path: ["peerPort"], message: `must differ from --http-port (${c.httpPort})` });
  if (c.httpStallTimeoutMs !== 0 && (c.httpStallTimeoutMs < 5000 || c.httpStallTimeoutMs > 255_000)) {
    // Bun.serve's idleTimeout: whole seconds, at most 255; at 4 s or less it closes even a stream that writes (4 s timer ticks)
    ctx.addIssue({ code: "custom", path: ["httpStallTimeoutMs"], message: `expected 0 (never) or a duration from 5s to 255s, got ${c.httpStallTimeoutMs} ms` });
  }
  if (parseEventFlags(c.notifyKeyspaceEvents) === null) {
    ctx.addIssue({ code: "custom", path: ["notifyKeyspaceEvents"], message: `expected classes from 'Ag$lshzxeKEtmdn' (e.g. KEA), got ${JSON.stringify(c.notifyKeyspaceEvents)}` });
  }
  checkSecurity(c, ctx);
  const edgePorts: Array<[string, number]> = [["--port", c.port], ["--http-port", c.httpPort], ["--peer-port", c.peerPort], ["--tls-port", c.tlsPort], ["--http-tls-port", c.httpTlsPort]];
  checkEdge({ ...c, ports: edgePorts }, ctx);
  checkAdvertise(c, ctx);
}).transform((c): ShoalConfig => {
  const preset = PRESETS[c.preset];
  return {
    ...c,
    leaveTimeoutMs: c.leaveTimeoutMs ?? preset.leaveTimeoutMs,
    probeIntervalMs: c.probeIntervalMs ?? preset.probeIntervalMs,
    probeTimeoutMs: c.probeTimeoutMs ?? preset.probeTimeoutMs,
    gossipIntervalMs: c.gossipIntervalMs ?? preset.gossipIntervalMs,
    pushPullIntervalMs: c.pushPullIntervalMs ?? preset.pushPullIntervalMs,
    peerTimeoutMs: c.peerTimeoutMs ?? preset.peerTimeoutMs,
    suspicionMult: c.suspicionMult ?? preset.suspicionMult,
  };
});

/** Default configuration with optional typed overrides (for tests and embedded use); throws on invalid input. */
export function defaultConfig(overrides: Partial<z.input<typeof ShoalConfigFields>> = {}): ShoalConfig {
  const config = ShoalConfig.parse(overrides);
  return config.nodeName === "" ? { ...config, nodeName: `shoal-${config.port}` } : config;
}

/** Eviction limits of map `name`: its `maps.<name>` overrides over the map defaults. */
export function mapLimitsFor(config: ShoalConfig, name: string): MapLimits {
  const o = config.maps[name] ?? {};
  return {
    ttlMs: o.ttlMs ?? config.ttlMs,
    maxIdleMs: o.maxIdleMs ?? config.maxIdleMs,
    maxKeys: o.maxKeys ?? config.maxKeys,
    maxInuse: o.maxInuse ?? config.maxInuse,
  };
}
