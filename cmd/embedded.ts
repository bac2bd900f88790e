/**
 * The embedded API on Bun: `startShoal(config)` runs a shoal node inside
 * your program — alone, or as a cluster member next to `shoal serve`
 * processes and other embedded members, as Olric's embedded member does.
 *
 * ```ts
 * import { startShoal } from "shoal/bun"; // this file
 * const shoal = await startShoal({ peers: ["10.0.0.5:3322"], peerPort: 4322, bind: "10.0.0.9",
 *   clusterKeyFile: "cluster.key", replicaCount: 2, writeQuorum: 2 });
 * await shoal.dmap("users").put("alice", "admin");
 * ```
 *
 * `config` takes the `shoal serve` settings (camelCase: the flag
 * `--write-quorum` is `writeQuorum`), validated by the same schema with the
 * same defaults and the same security rules (a reachable peer port needs a
 * cluster key or mutual TLS). This file only brings the runtime: the peer
 * transport (tcp, tls or quic per `peerTransport`, wrapped for
 * `faultInjection` like the servers'), the discovery plugin, the advertised
 * address and the ACL file; core/mod.ts's {@link Shoal} does the
 * rest. No client listeners are opened: the member serves its own program
 * (RESP/HTTP clients talk to the servers).
 */
import { defaultConfig, type ShoalConfig, wantsCluster } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import { ShoalError } from "../core/errors.ts";
import { Shoal } from "../core/mod.ts";
import { joinHostPort } from "../core/net-address.ts";
import { nodeSettings } from "../core/node-settings.ts";
import { discoveryFromConfig } from "../plugins/discovery/from-config.ts";
import { AdvertisedTransport } from "../transports/advertised.ts";
import { FaultyTransport } from "../transports/faulty.ts";
import { RefusalLog } from "../transports/resp-server.ts";
import { resolveAdvertise } from "./advertise.ts";
import { createLogger } from "./log.ts";
import { createPeerTransport } from "./peer-transport.ts";
import { systemClock, systemRng } from "./runtime.ts";
import { aclSettings } from "./security.ts";

export type { AsyncDMap, DMap, ShoalOptions } from "../core/mod.ts";
export { Shoal } from "../core/mod.ts";

/** Settings of {@link startShoal}: `shoal serve`'s, camelCase. */
export type EmbeddedConfig = NonNullable<Parameters<typeof defaultConfig>[0]>;

/** Options of {@link startShoal} beyond the settings. */
export interface EmbeddedOptions {
  /** Where log lines go (default: warnings and errors as text on stdout). */
  log?: Logger;
  /** ACL user the member's commands run as (default `default`). */
  user?: string;
}

/**
 * Starts an embedded member; resolves once it has joined its cluster and
 * synced its partitions (alone: at once).
 * @throws ShoalError naming each bad setting (as `shoal serve` would exit 2 on it).
 */
export async function startShoal(config: EmbeddedConfig = {}, opts: EmbeddedOptions = {}): Promise<Shoal> {
  let cfg: ShoalConfig;
  try {
    cfg = defaultConfig(config);
  } catch (e) {
    const issues = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
    throw new ShoalError("ERR", `startShoal: ${issues ? issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`).join("; ") : String(e)}`);
  }
  const log = opts.log ?? createLogger({ level: "warn" });
  const node = { ...nodeSettings(cfg), ...aclSettings(cfg) };
  if (!wantsCluster(cfg)) return Shoal.start({ config: node, log, user: opts.user });
  const adv = await resolveAdvertise(cfg.bind, cfg.advertise);
  if (!adv.ok) throw new ShoalError("ERR", `startShoal: ${adv.message}`);
  const self = joinHostPort(adv.host, cfg.peerPort);
  const refusals = new RefusalLog(log, "peer");
  const peers = createPeerTransport(cfg, (reason, remote) => refusals.refuse(reason, { remote, transport: cfg.peerTransport }));
  const named = new AdvertisedTransport(peers, self, joinHostPort(cfg.bind, cfg.peerPort));
  // --fault-injection changes the peer wire (every member must agree): honour it as serve does
  const transport = cfg.faultInjection ? new FaultyTransport(named, { clock: systemClock, rng: systemRng() }) : named;
  const discovery = await discoveryFromConfig(cfg, log, { host: adv.host, port: cfg.peerPort, name: cfg.nodeName });
  return Shoal.start({
    config: node,
    log,
    user: opts.user,
    clock: systemClock,
    rng: systemRng(),
    transport,
    self,
    discovery,
    cluster: {
      replicaCount: cfg.replicaCount,
      writeQuorum: cfg.writeQuorum,
      readQuorum: cfg.readQuorum,
      replicationMode: cfg.replicationMode,
      memberCountQuorum: cfg.memberCountQuorum,
      partitionCount: cfg.partitionCount,
      preset: cfg.preset,
      probeIntervalMs: cfg.probeIntervalMs,
      probeTimeoutMs: cfg.probeTimeoutMs,
      gossipIntervalMs: cfg.gossipIntervalMs,
      pushPullIntervalMs: cfg.pushPullIntervalMs,
      suspicionMult: cfg.suspicionMult,
      peerTimeoutMs: cfg.peerTimeoutMs,
      leaveTimeoutMs: cfg.leaveTimeoutMs,
      maps: cfg.maps,
    },
  });
}
