/**
 * Joins an embedded node to a cluster, as Olric's embedded member does: the
 * same {@link ClusterNode} a `shoal serve` process runs (SWIM membership,
 * partitions, replication, quorums) over a transport the caller brings —
 * core stays runtime-neutral, so on Bun cmd/embedded.ts passes the TCP (or
 * TLS/QUIC) peer transport, and tests pass the memory transport. Seeds come
 * from `peers`, a {@link Discovery} plugin, or both; later discovery changes
 * are joined.
 */
import type { Clock, Rng } from "../clock.ts";
import { ClusterNode } from "../cluster/cluster-node.ts";
import { membershipTimings } from "../cluster/membership-config.ts";
import { defaultConfig, type ShoalConfig } from "../config.ts";
import type { Discovery, Logger } from "../discovery.ts";
import { ShoalError } from "../errors.ts";
import type { ShoalNode } from "../node.ts";
import type { Transport } from "../transport.ts";

/** The cluster settings an embedded member takes: the `shoal serve` settings of the same names, with the same defaults. */
export type EmbeddedClusterSettings = Partial<
  Pick<
    ShoalConfig,
    | "replicaCount"
    | "writeQuorum"
    | "readQuorum"
    | "replicationMode"
    | "memberCountQuorum"
    | "ownership"
    | "maxVoters"
    | "partitionCount"
    | "preset"
    | "probeIntervalMs"
    | "probeTimeoutMs"
    | "gossipIntervalMs"
    | "pushPullIntervalMs"
    | "suspicionMult"
    | "peerTimeoutMs"
    | "leaveTimeoutMs"
    | "maps"
  >
>;

/** How an embedded member joins. */
export interface MemberOptions {
  /** Reaches the other members (tcp/tls/quic on Bun: cmd/embedded.ts; the memory transport in tests). */
  transport: Transport;
  /** This member's peer address: where it listens and the name the others know it by ("host:port"). */
  self: string;
  /** Seed peers ("host:port"); may include `self`. */
  peers?: readonly string[];
  /** A discovery plugin that seeds (and keeps updating) the peer list. */
  discovery?: Discovery;
  /** Cluster settings; validated like the server's flags. */
  settings: ShoalConfig;
  clock: Clock;
  rng: Rng;
  log: Logger;
}

/** A started member. */
export interface Member {
  cluster: ClusterNode;
  /** Graceful leave: hands the partitions off, announces it, stops discovery. */
  leave(): Promise<void>;
}

/**
 * Resolves cluster settings (defaults, preset timings) and checks them as
 * `shoal serve` checks its flags.
 * @throws ShoalError naming each bad field, e.g. `writeQuorum: must not exceed --replica-count (1), got 2`.
 */
export function clusterSettings(s: EmbeddedClusterSettings = {}): ShoalConfig {
  try {
    return defaultConfig(s as Parameters<typeof defaultConfig>[0]);
  } catch (e) {
    const issues = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
    const text = issues ? issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`).join("; ") : String(e);
    throw new ShoalError("ERR", `Shoal.start: invalid cluster settings: ${text}`);
  }
}

/** Starts the cluster layer of `node`; resolves once it has joined and synced its partitions (`node.ready`). */
export async function startMember(node: ShoalNode, o: MemberOptions): Promise<Member> {
  const cfg = o.settings;
  if (!o.self) throw new ShoalError("ERR", "Shoal.start: `self` (this member's peer address, host:port) is required with a transport");
  let cluster: ClusterNode | undefined;
  const discovered: string[] = [];
  if (o.discovery) {
    await o.discovery.start((peers) => {
      discovered.splice(0, discovered.length, ...peers.map((p) => p.address));
      o.log.info("discovery changed", { plugin: o.discovery!.name, peers: discovered.length });
      if (cluster) void cluster.membership.join(discovered);
    });
    discovered.splice(0, discovered.length, ...(await o.discovery.members()).map((p) => p.address));
  }
  const seeds = [...new Set([...(o.peers ?? []), ...discovered])];
  cluster = new ClusterNode({
    node,
    transport: o.transport,
    clock: o.clock,
    rng: o.rng,
    self: o.self,
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
    // an embedded member has no client port: Redis Cluster clients of the servers get MOVED to servers only
    redirects: cfg.clusterRedirects,
    memberCountQuorum: cfg.memberCountQuorum,
    ownership: cfg.ownership,
    maxVoters: cfg.maxVoters,
    partitionCount: cfg.partitionCount,
    peerTimeoutMs: cfg.peerTimeoutMs,
    leaveTimeoutMs: cfg.leaveTimeoutMs,
    log: o.log,
  });
  try {
    await cluster.start();
  } catch (e) {
    await o.discovery?.stop();
    throw e;
  }
  o.log.info("cluster joined", { self: o.self, seeds: seeds.length, members: cluster.membership.liveMembers().length });
  const joined = cluster;
  return {
    cluster: joined,
    async leave() {
      await o.discovery?.stop();
      await joined.leave();
    },
  };
}
