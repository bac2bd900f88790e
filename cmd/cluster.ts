/**
 * Starts the cluster layer of a served node (Bun): the peer transport chosen by
 * `--peer-transport` (tcp, tls or quic; see peer-transport.ts) on
 * `bind:peerPort`, named by the advertised address (`advertise:peerPort` is
 * the node's member name; see advertise.ts), seeds from the
 * configured discovery, SWIM with the preset's timings, and the
 * runtime-neutral {@link ClusterNode}. Later discovery changes are joined
 * (and logged as `discovery changed`). With `--fault-injection` the peer
 * transport is wrapped in a {@link FaultyTransport} (tests and chaos runs).
 */

import { ClusterNode } from "../core/cluster/cluster-node.ts";
import { membershipTimings } from "../core/cluster/membership-config.ts";
import { isLoopbackBind, peersAuthenticated, type ShoalConfig } from "../core/config.ts";
import type { Discovery, DiscoveryStatus, Logger } from "../core/discovery.ts";
import { joinHostPort } from "../core/net-address.ts";
import type { ShoalNode } from "../core/node.ts";
import type { ClusterCut } from "../core/snapshot/writer.ts";
import { discoveryFromConfig } from "../plugins/discovery/from-config.ts";
import { AdvertisedTransport } from "../transports/advertised.ts";
import { FaultyTransport } from "../transports/faulty.ts";
import { RefusalLog } from "../transports/resp-server.ts";
import { resolveAdvertise } from "./advertise.ts";
import { peerListenErrors } from "./listen-errors.ts";
import { createPeerTransport } from "./peer-transport.ts";
import { systemClock, systemRng } from "./runtime.ts";

/** A running cluster layer. */
export interface RunningCluster {
  cluster: ClusterNode;
  /** The fault injector wrapping the peer transport (only with `--fault-injection`). */
  faults?: FaultyTransport;
  /** Graceful leave (partitions handed off within leaveTimeoutMs, then announced), then closes discovery and the peer port. */
  close(): Promise<void>;
}

export { wantsCluster } from "../core/config.ts";

/** `cfg.advertise` (cmd/shoal.ts resolves it before start), else the same choice made here. @throws Error naming --advertise. */
async function advertisedHost(cfg: ShoalConfig): Promise<string> {
  const r = await resolveAdvertise(cfg.bind, cfg.advertise);
  if (!r.ok) throw new Error(r.message);
  return r.host;
}

/** Joins `node` to the cluster described by `cfg`; resolves once the first partition table is built. */
export async function startCluster(
  node: ShoalNode,
  cfg: ShoalConfig,
  log: Logger,
  clientPort?: number,
  restored?: ClusterCut,
  /** Called with the cluster layer before it starts (the dashboard watches it from its first membership event). */
  onCreated?: (cluster: ClusterNode) => void,
): Promise<RunningCluster> {
  const host = await advertisedHost(cfg);
  const self = joinHostPort(host, cfg.peerPort);
  const discovery: Discovery = await discoveryFromConfig(cfg, log, { host, port: cfg.peerPort, name: cfg.nodeName });
  let cluster: ClusterNode | undefined;
  let known: string[] = [];
  let lastChange: DiscoveryStatus["lastResult"] = null;
  // plugins report their source's answers and errors; an external plugin without status() shows what reached onChange
  const discoveryStatus = (): DiscoveryStatus =>
    discovery.status?.() ?? { plugin: discovery.name, lastResult: lastChange, lastError: null, failuresSinceResult: 0 };
  await discovery.start((peers) => {
    const now = peers.map((p) => p.address);
    const added = now.filter((a) => !known.includes(a));
    const removed = known.filter((a) => !now.includes(a));
    known = now;
    lastChange = { peers: now, at: Date.now() };
    const source = discovery.status?.().lastResult?.detail;
    log.info("discovery changed", { plugin: discovery.name, peers: now.length, added, removed, ...(source ? { source } : {}) });
    if (cluster) void cluster.membership.join(now);
  });
  const seeds = (await discovery.members()).map((p) => p.address);
  if (!isLoopbackBind(cfg.bind) && !peersAuthenticated(cfg)) {
    log.warn("peers are not authenticated (--allow-insecure-peers): anyone who reaches the peer port can join, read and delete every key", {
      peer: self,
      fix: "--cluster-key-file (make one with shoal keygen)",
    });
  }
  const peerRefusals = new RefusalLog(log, "peer");
  const peerTransport = createPeerTransport(cfg, (reason, remote) => peerRefusals.refuse(reason, { remote, transport: cfg.peerTransport }));
  // listen on --bind, known to everyone as the advertised address
  const named = new AdvertisedTransport(peerListenErrors(peerTransport, cfg.bind, cfg.peerPort), self, joinHostPort(cfg.bind, cfg.peerPort));
  const faults = cfg.faultInjection ? new FaultyTransport(named, { clock: systemClock, rng: systemRng() }) : undefined;
  if (faults) log.warn("fault injection is on: /v1/faults can break this node's peer traffic (tests and chaos runs only)", {});
  cluster = new ClusterNode({
    node,
    transport: faults ?? named,
    clock: systemClock,
    rng: systemRng(),
    self,
    seeds,
    timings: membershipTimings(cfg.preset, {
      probeIntervalMs: cfg.probeIntervalMs,
      probeTimeoutMs: cfg.probeTimeoutMs,
      gossipIntervalMs: cfg.gossipIntervalMs,
      pushPullIntervalMs: cfg.pushPullIntervalMs,
      suspicionMult: cfg.suspicionMult,
    }),
    replicaCount: cfg.replicaCount,
    writeQuorum: cfg.writeQuorum,
    readQuorum: cfg.readQuorum,
    replicationMode: cfg.replicationMode,
    mapQuorum: (map) => cfg.maps[map] ?? {},
    redirects: cfg.clusterRedirects,
    clientAddress: { host, port: clientPort ?? cfg.port },
    memberCountQuorum: cfg.memberCountQuorum,
    ownership: cfg.ownership,
    maxVoters: cfg.maxVoters,
    partitionCount: cfg.partitionCount,
    peerTimeoutMs: cfg.peerTimeoutMs,
    leaveTimeoutMs: cfg.leaveTimeoutMs,
    antiEntropy: { intervalMs: cfg.antiEntropyIntervalMs, maxKeys: cfg.antiEntropyMaxKeys },
    tombstones: { horizonMs: cfg.tombstoneGraceMs },
    hints: { maxEntries: cfg.hintMaxEntries, maxBytes: cfg.hintMaxBytes },
    discoveryStatus,
    log,
    restored,
  });
  onCreated?.(cluster);
  try {
    await cluster.start();
  } catch (e) {
    await discovery.stop();
    throw e;
  }
  log.info("cluster joined", { self, bind: joinHostPort(cfg.bind, cfg.peerPort), transport: cfg.peerTransport, seeds: seeds.length, members: cluster.membership.liveMembers().length });
  const running = cluster;
  return {
    cluster: running,
    faults,
    async close() {
      await discovery.stop();
      await running.leave();
    },
  };
}
