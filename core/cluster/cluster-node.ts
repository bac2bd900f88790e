/**
 * One node's cluster layer: joins a {@link ShoalNode} to a cluster and plugs
 * into it through {@link ShoalNode.attachCluster}. This file wires the
 * parts together; each lives in its own module:
 *
 * | module | responsibility |
 * | --- | --- |
 * | membership.ts | SWIM: who is alive (channel 1 of a {@link TransportMux}) |
 * | ownership.ts | the partition table and the owner lease ({@link GossipOwnership}) |
 * | peer-client.ts / peer-server.ts | the data protocol (channel 2): requests out, answers in |
 * | router.ts | client commands: forward, or run as owner with quorums |
 * | rebalancer.ts | pushes entries to new holders after a table change |
 * | catch-up.ts | initial pull when joining; takeover and return catch-up |
 * | anti-entropy.ts / digest.ts | background repair of replicas by digest; tombstone and orphan collection |
 * | hints.ts | hinted handoff: writes kept for replicas that were unreachable, delivered when they answer |
 * | entry-sync.ts | versions, tombstones, last-writer-wins application |
 * | redis-cluster.ts / view.ts | the Redis Cluster face; the JSON view |
 *
 * The table is rebuilt from the live members on every membership change;
 * then takeovers are noted and a rebalance pass starts. Until the initial
 * pull is done the node is `syncing` and `node.ready` (/readyz) stays false.
 * Runtime-neutral: Clock, Rng and Transport are injected.
 */
import type { Clock, Rng, Timer } from "../clock.ts";
import type { DiscoveryStatus, Logger } from "../discovery.ts";
import type { ShoalNode } from "../node.ts";
import type { ClusterCut } from "../snapshot/writer.ts";
import type { Listener, Transport } from "../transport.ts";
import { AntiEntropy, type AntiEntropyStats } from "./anti-entropy.ts";
import { bucketsOf, childDigests, entriesInBuckets } from "./buckets.ts";
import type { ClusterBugs } from "./bugs.ts";
import { CatchUp } from "./catch-up.ts";
import { ConsensusOwnership, type ConsensusTableChange, consensusTimings } from "./consensus/consensus-ownership.ts";
import { EntrySync, type EntrySyncOptions } from "./entry-sync.ts";
import { partitionOf, utf8 } from "./hash.ts";
import { HintedHandoff, type HintStats } from "./hints.ts";
import { HybridClock } from "./hlc.ts";
import { execInternal } from "./internal-exec.ts";
import { Membership, type MembershipEventType } from "./membership.ts";
import type { MembershipTimings } from "./membership-config.ts";
import { GossipOwnership } from "./ownership.ts";
import { partitionPage } from "./partition-pages.ts";
import type { PartitionTable } from "./partition-table.ts";
import { PeerClient } from "./peer-client.ts";
import type { PeerRequest, PeerResponse } from "./peer-protocol.ts";
import { PeerServer } from "./peer-server.ts";
import { Rebalancer } from "./rebalancer.ts";
import { type ClientAddress, RedisClusterFace } from "./redis-cluster.ts";
import { ClusterRouter } from "./router.ts";
import type { ClusterSettings } from "./snapshot.ts";
import { TransportMux } from "./transport-mux.ts";
import { clusterSnapshot } from "./view.ts";
import { WarmCatchUp, type WarmCatchUpStats } from "./warm-catch-up.ts";

export type { ClusterSettings } from "./snapshot.ts";

/** Options for {@link ClusterNode}. */
export interface ClusterNodeOptions {
  node: ShoalNode;
  transport: Transport;
  clock: Clock;
  rng: Rng;
  /** This node's peer address, also its member name. */
  self: string;
  seeds: readonly string[];
  timings: MembershipTimings;
  replicaCount: number;
  writeQuorum: number;
  /** Copies consulted on a read (default 1). */
  readQuorum?: number;
  /** `async`: acknowledge writes before replicating (default `sync`). */
  replicationMode?: "sync" | "async";
  /** Per-map quorum overrides. */
  mapQuorum?(map: string): { writeQuorum?: number; readQuorum?: number };
  /** Planted bugs (chaos simulator only). */
  bugs?: ClusterBugs;
  /** This node's client (RESP) address, announced to cluster-aware clients (default: peer host, no port). */
  clientAddress?: ClientAddress;
  /** Who gets MOVED/ASK instead of forwarding (default `auto`: clients that asked for the topology). */
  redirects?: "auto" | "always" | "never";
  memberCountQuorum: number;
  partitionCount: number;
  /** Timeout of one data-protocol request, ms. */
  peerTimeoutMs: number;
  log?: Logger;
  tombstones?: EntrySyncOptions;
  /** Most entries per rebalance batch (default 1024; a batch also ends at about 1 MiB of keys and values). */
  batchSize?: number;
  /** Bound on the partition hand-off of a graceful leave, ms (default 5000). */
  leaveTimeoutMs?: number;
  /** Anti-entropy: time between rounds (default 10 000 ms; 0 = off), keys repaired per round (default 100 000), youngest tombstone collected early, writes younger than settleMs also left to the next round (default 0). */
  antiEntropy?: { intervalMs?: number; maxKeys?: number; confirmMinAgeMs?: number; settleMs?: number };
  /** Hinted handoff bounds (default 100 000 hints, 64 MiB; maxEntries 0 = off) and retry interval (default: the probe interval). */
  hints?: { maxEntries?: number; maxBytes?: number; retryMs?: number };
  /** What the node's discovery last saw (shown in the view as `discovery`). */
  discoveryStatus?(): DiscoveryStatus;
  /** The clock and tombstones of a snapshot this node's data was loaded from (cmd/persistence.ts). */
  restored?: ClusterCut;
  /**
   * How the partition table is decided (default `consensus`): `consensus`
   * agrees on numbered epochs through a Raft log among up to `maxVoters`
   * members, with owner leases; `gossip` builds it from each node's own
   * view of the live members (no agreement; the owner lease is a timing
   * heuristic; see DESIGN.md).
   */
  ownership?: "consensus" | "gossip";
  /** Most voting members in consensus mode (default 5). */
  maxVoters?: number;
}

const silent: Logger = { info() {}, warn() {}, error() {} };
const MEMBERSHIP_CHANNEL = 1;
const DATA_CHANNEL = 2;
const CONSENSUS_CHANNEL = 3;
/** Channels from this one up are for services beside the data protocol (see {@link ClusterNode.serviceChannel}). */
const FIRST_SERVICE_CHANNEL = 16;

/** One node's cluster layer. */
export class ClusterNode {
  readonly membership: Membership;
  readonly router: ClusterRouter;
  readonly sync: EntrySync;
  readonly hlc: HybridClock;
  /** The Redis Cluster view (CLUSTER SLOTS/NODES/SHARDS/INFO, MOVED addresses). */
  readonly redis: RedisClusterFace;
  /** Membership events seen by this node since start, by type (suspicions, deaths, joins…). */
  readonly memberEvents: Record<MembershipEventType, number> = { join: 0, suspect: 0, alive: 0, dead: 0, leave: 0 };
  private readonly ownership: GossipOwnership | ConsensusOwnership;
  /** The consensus side of {@link ownership}, in consensus mode. */
  readonly consensus: ConsensusOwnership | null;
  private readonly peers: PeerClient;
  private readonly server: PeerServer;
  private readonly rebalancer: Rebalancer;
  private readonly catchUp: CatchUp;
  /** Set when the node's data came from a snapshot: it catches up by digest instead of pulling everything. */
  private readonly warmCatchUp: WarmCatchUp | null;
  private readonly antiEntropy: AntiEntropy;
  private readonly hints: HintedHandoff;
  private readonly data: Transport;
  private readonly mux: TransportMux;
  private listener: Listener | undefined;
  private gcTimer: Timer | undefined;
  private stopped = false;
  private syncing = true;
  /** Set by a graceful leave: tables leave this node out. */
  private leaving = false;
  private readonly log: Logger;

  constructor(private readonly o: ClusterNodeOptions) {
    this.log = o.log ?? silent;
    const mux = new TransportMux(o.transport);
    this.mux = mux;
    this.data = mux.channel(DATA_CHANNEL);
    this.hlc = new HybridClock(o.clock);
    this.sync = new EntrySync(o.node, this.hlc, o.clock, { ...o.tombstones, bugs: o.bugs });
    if (o.restored) {
      // versions this node issues stay above the ones it issued before the restart, even if the wall clock went back
      this.hlc.restore(o.restored.hlc);
      this.sync.importTombstones(o.restored.tombstones);
    }
    this.membership = new Membership({
      self: o.self,
      clock: o.clock,
      rng: o.rng,
      transport: mux.channel(MEMBERSHIP_CHANNEL),
      timings: o.timings,
      seeds: o.seeds,
      // in consensus mode a return is a table change like any other (removed, then added again): nothing to note here
      onRefutedDeath: () => (this.consensus ? undefined : this.catchUp.noteReturn()),
      noDeadReconnect: o.bugs?.noDeadReconnect,
    });
    this.consensus =
      (o.ownership ?? "consensus") === "consensus"
        ? new ConsensusOwnership({
            self: o.self,
            clock: o.clock,
            rng: o.rng,
            transport: mux.channel(CONSENSUS_CHANNEL),
            timings: consensusTimings(o.timings),
            partitionCount: o.partitionCount,
            replicaCount: o.replicaCount,
            alive: () => this.membership.liveMembers(),
            seeds: o.seeds,
            onTable: (change) => this.committedTable(change),
            log: this.log,
            maxVoters: o.maxVoters,
          })
        : null;
    this.ownership =
      this.consensus ??
      new GossipOwnership({
        self: o.self,
        clock: o.clock,
        membership: this.membership,
        timings: o.timings,
        memberCountQuorum: o.memberCountQuorum,
        partitionCount: o.partitionCount,
        replicaCount: o.replicaCount,
        stopped: () => this.stopped,
        bugs: o.bugs,
      });
    this.peers = new PeerClient({
      self: o.self,
      data: this.data,
      clock: o.clock,
      membership: this.membership,
      timeoutMs: o.peerTimeoutMs,
      leaseCountsSuspects: o.bugs?.leaseCountsSuspects,
    });
    const request = (peer: string, msg: PeerRequest): Promise<PeerResponse> => this.peers.request(peer, msg);
    const table = (): PartitionTable | null => this.ownership.table();
    const turn = (): Promise<void> => this.pause(0);
    const common = { self: o.self, node: o.node, sync: this.sync, clock: o.clock, log: this.log, table, request, stopped: () => this.stopped };
    this.rebalancer = new Rebalancer({ ...common, batchSize: o.batchSize, bugs: o.bugs });
    this.catchUp = new CatchUp({
      ...common,
      probeIntervalMs: o.timings.probeIntervalMs,
      tableOf: (members) => this.ownership.tableOf(members),
      pause: (ms) => this.pause(ms),
      syncing: () => this.syncing,
      leaving: () => this.leaving,
      servedBy: (p, peer) => this.consensus?.servedBy(p, peer),
      bugs: o.bugs,
    });
    this.warmCatchUp =
      o.restored && o.node.keyCount() > 0
        ? new WarmCatchUp({
            ...common,
            partitionCount: o.partitionCount,
            retryMs: Math.min(200, o.timings.probeIntervalMs),
            tableOf: (members) => this.ownership.tableOf(members),
            pause: (ms) => this.pause(ms),
          })
        : null;
    this.antiEntropy = new AntiEntropy({
      ...common,
      partitionCount: o.partitionCount,
      intervalMs: o.antiEntropy?.intervalMs ?? 10_000,
      maxKeys: o.antiEntropy?.maxKeys ?? 100_000,
      confirmMinAgeMs: o.antiEntropy?.confirmMinAgeMs,
      settleMs: o.antiEntropy?.settleMs,
      allAlive: () => this.membership.members().every((m) => m.status === "alive" || m.status === "left"),
      ready: () => !this.syncing && !this.stopped && !this.leaving && !this.rebalancer.busy,
      bugs: o.bugs,
    });
    this.hints = new HintedHandoff({
      clock: o.clock,
      log: this.log,
      maxEntries: o.hints?.maxEntries ?? 100_000,
      maxBytes: o.hints?.maxBytes ?? 64 * 1024 * 1024,
      retryMs: o.hints?.retryMs ?? o.timings.probeIntervalMs,
      request,
      isAlive: (m) => this.membership.member(m)?.status === "alive",
    });
    this.router = new ClusterRouter(o.node, {
      self: o.self,
      table,
      liveCount: () => this.membership.liveCount(),
      memberCountQuorum: o.memberCountQuorum,
      contactShortfall: (p) => this.ownership.contactShortfall(p),
      leaseOnQuorumOnly: this.consensus === null,
      renewContact: (p) => this.ownership.renewContact(p),
      writeQuorum: o.writeQuorum,
      readQuorum: o.readQuorum,
      replicationMode: o.replicationMode,
      mapQuorum: o.mapQuorum,
      bugs: o.bugs,
      redirects: o.redirects,
      clientAddress: (m) => this.redis.addressOf(m),
      execLocal: (argv, proto, owned, user) => execInternal(o.node, this.router, o.self, argv, proto, 1, owned, user),
      request,
      afterTurn: o.clock.afterTurn?.bind(o.clock),
      sync: this.sync,
      catchingUp: (p) => this.catchUp.sourcesOf(p),
      forgotten: (map, key) => {
        if (this.syncing) this.warmCatchUp?.forgetIfStale(map, key);
      },
      hint: o.bugs?.noHints ? undefined : (replicas, entries) => this.hints.add(replicas, entries),
    });
    this.server = new PeerServer({
      self: o.self,
      gate: this.ownership,
      sync: this.sync,
      membership: this.membership,
      clientAddress: o.clientAddress,
      serving: () => !(this.syncing && this.warmCatchUp),
      buckets: {
        digests: async (flat) => ({ t: "bucketDigests", words: await childDigests(o.node, this.sync, o.partitionCount, bucketsOf(flat, o.partitionCount), turn) }),
        entries: async (flat) => ({ t: "entries", entries: await entriesInBuckets(o.node, this.sync, o.partitionCount, bucketsOf(flat, o.partitionCount), turn), next: null }),
      },
      page: (partitions, after) => partitionPage(o.node, this.sync, o.partitionCount, partitions, after, o.clock.now()),
      repair: this.antiEntropy,
      exec: (argv, proto, hops, owned, user) => execInternal(o.node, this.router, o.self, argv, proto, hops, owned, user),
    });
    this.redis = new RedisClusterFace({
      self: o.self,
      table,
      members: () => this.membership.members(),
      epoch: () => this.ownership.tableEpoch,
      liveCount: () => this.membership.liveCount(),
      memberCountQuorum: o.memberCountQuorum,
      selfAddress: o.clientAddress ?? null,
      hello: async (member) => {
        const res = await request(member, { t: "hello" });
        if (res.t !== "hello") throw new Error(`${member}: no client address`);
        return { host: res.host, port: res.port };
      },
    });
  }

  /** The clock and every tombstone, for a snapshot's cut. */
  snapshotState(): ClusterCut {
    return { hlc: this.hlc.peek(), tombstones: this.sync.exportTombstones() };
  }

  /** True until the initial pull after joining is done. */
  get isSyncing(): boolean {
    return this.syncing;
  }

  /** This node's member name (its peer address). */
  get self(): string {
    return this.o.self;
  }

  /**
   * A channel of this node's peer transport for a service beside the data
   * protocol (the edge cache's lookups use channel 16): it shares the peer
   * port, its authentication and its links; listen on {@link self}.
   * @throws RangeError for the membership and data channels (1, 2) or a tag past 255.
   */
  serviceChannel(tag: number): Transport {
    if (!Number.isInteger(tag) || tag < FIRST_SERVICE_CHANNEL || tag > 255) throw new RangeError(`service channels are ${FIRST_SERVICE_CHANNEL}-255, got ${tag}`);
    return this.mux.channel(tag);
  }

  /** The current partition table (null before start). */
  get partitions(): PartitionTable | null {
    return this.ownership.table();
  }

  /** The node this cluster layer serves. */
  get node(): ShoalNode {
    return this.o.node;
  }

  /** Entries pushed to new holders by rebalancing so far. */
  get rebalanced(): number {
    return this.rebalancer.rebalanced;
  }

  /** Entries received by the initial pull after joining (taken or already present). */
  get pulled(): number {
    return this.catchUp.pulled;
  }

  /** Bytes the initial pull received. */
  get pulledBytes(): number {
    return this.catchUp.pulledBytes;
  }

  /** What the catch-up after a restart from a snapshot did; null when the node joined with a full pull. */
  get warm(): WarmCatchUpStats | null {
    return this.warmCatchUp?.stats ?? null;
  }

  /** Times this node refuted its own death and caught up (for metrics and tests). */
  get returns(): number {
    return this.catchUp.returns;
  }

  /** Partitions taken over and not pulled yet (for metrics and tests). */
  get catchingUp(): number {
    return this.catchUp.pending;
  }

  /** The partitions taken over and not pulled yet, ascending (dashboard). */
  catchingPartitions(): number[] {
    return this.catchUp.partitions();
  }

  /** True while a rebalance pass pushes entries to new holders (dashboard). */
  get rebalancing(): boolean {
    return this.rebalancer.busy;
  }

  /** Partitioning, replication and quorum settings this node runs with (views, metrics). */
  get settings(): ClusterSettings {
    const o = this.o;
    return {
      partitionCount: o.partitionCount,
      replicaCount: o.replicaCount,
      writeQuorum: o.writeQuorum,
      readQuorum: o.readQuorum ?? 1,
      memberCountQuorum: o.memberCountQuorum,
      replicationMode: o.replicationMode ?? "sync",
    };
  }

  /** Listens, plugs into the node, joins the seeds and builds the first table. */
  async start(): Promise<void> {
    const node = this.o.node;
    node.ready = false;
    this.attach();
    this.listener = await this.data.listen(this.o.self, {
      onRequest: (_from, bytes) => this.server.onRequest(bytes),
      onMessage: () => undefined,
    });
    this.membership.onEvent((e) => {
      this.memberEvents[e.type]++;
      const level = e.type === "suspect" || e.type === "dead" ? "warn" : "info";
      this.log[level](`member ${e.type}`, { member: e.member.name, incarnation: e.member.incarnation, reason: e.reason });
      if (e.type === "dead" || e.type === "leave") this.catchUp.memberGone(e.member.name);
      if (this.consensus === null) this.rebuild();
      else if (e.type === "dead" || e.type === "leave") this.consensus.memberDown(e.member.name);
      if (e.type === "alive" || e.type === "join") this.hints.deliverAll();
    });
    await this.membership.start();
    if (this.consensus) {
      // the table is what the consensus log commits: wait until this node is in it (bootstrapping a cluster of
      // its own if nobody else runs one), then pull what it holds like any joining node
      await this.consensus.start();
      await this.consensus.joined();
    } else {
      this.rebuild();
    }
    const complete = this.warmCatchUp ? await this.warmCatchUp.run() : await this.catchUp.initialPull();
    this.syncing = false;
    this.catchUp.joined(complete);
    // restarted from a snapshot: tables built while catching up pushed nothing (every holder has its data); what
    // this node no longer holds in the table it settled on goes now (compared with that table: nothing to push)
    if (this.warmCatchUp && !this.stopped) this.rebalancer.tableChanged(this.ownership.table());
    await this.settled();
    node.ready = !this.stopped;
    if (!this.stopped) {
      this.antiEntropy.start();
      this.hints.start();
    }
    // tombstones past the grace period go in anti-entropy rounds too; this covers a node with anti-entropy off
    const gc = (): void => {
      if (this.stopped) return;
      this.antiEntropy.stats.tombstonesExpired += this.sync.collect();
      this.gcTimer = this.o.clock.setTimer(60_000, gc);
    };
    this.gcTimer = this.o.clock.setTimer(60_000, gc);
  }

  /** Anti-entropy counters (rounds, divergence found, keys repaired…). */
  get repairs(): AntiEntropyStats {
    return this.antiEntropy.stats;
  }

  /** Hinted handoff counters (stored, delivered, dropped, pending). */
  get handoff(): HintStats {
    return this.hints.stats;
  }

  /** Runs one anti-entropy round now (tests; rounds also run every interval). */
  repairNow(): Promise<void> {
    return this.antiEntropy.round();
  }

  /** Plugs this cluster layer into its node (once; the node never sees the cluster's types). */
  private attach(): void {
    const node = this.o.node;
    node.attachCluster({
      router: this.router,
      face: this.redis,
      // fencing tokens follow the HLC, which replication carries to the replicas: a new owner after failover issues larger ones
      fencingFloor: () => this.hlc.now(),
      onExpired: (map, key, version) => this.sync.expired(map, key, version),
      ownsKey: (key) => {
        const t = this.ownership.table();
        return t === null || t.owner(partitionOf(key, t.partitionCount)) === this.o.self;
      },
      // keyspace notifications: the owner's event reaches every member's subscribers (fire and forget, like PUBLISH's fan-out)
      publishToPeers: (channel, message) => {
        const args = [utf8("PUBLISH"), channel.slice(), message.slice()];
        for (const m of this.ownership.table()?.members ?? []) {
          if (m !== this.o.self) void this.peers.request(m, { t: "exec", args, proto: 2, hops: 1 }).catch(() => undefined);
        }
      },
      view: () => {
        const discovery = this.o.discoveryStatus?.();
        return discovery ? { ...clusterSnapshot(this), discovery } : clusterSnapshot(this);
      },
    });
  }

  /** Resolves when no rebalance pass is running. */
  async settled(): Promise<void> {
    await this.rebalancer.settled();
  }

  /**
   * Graceful leave: commands for partitions this node owns go to their next
   * owner from now on, every local entry is pushed to its holders in the
   * table without this node (bounded by leaveTimeoutMs), then the leave is
   * announced and the data channel closed.
   */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.o.node.ready = false;
    const t = this.ownership.table();
    const others = t ? t.members.filter((m) => m !== this.o.self) : [];
    if (others.length > 0) {
      // From now on this node's own table leaves it out: it runs nothing as owner any more (commands go to the
      // next owners, replicas take writes only from them), so the push below carries every acknowledged write.
      this.leaving = !this.o.bugs?.leaveKeepsOwnership;
      // consensus: have the configuration drop this node first, so the next owners take over by the agreed table
      if (this.consensus) await this.consensus.leave(Math.round((this.o.leaveTimeoutMs ?? 5000) / 2));
      const next = this.o.bugs?.leaveKeepsOwnership ? this.ownership.tableOf(others, this.ownership.tableEpoch + 1) : this.ownership.replace(others);
      this.catchUp.clear();
      let timer: Timer | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = this.o.clock.setTimer(this.o.leaveTimeoutMs ?? 5000, resolve);
      });
      const started = this.rebalancer.rebalanced;
      await Promise.race([this.rebalancer.pushChanged(null, next), timeout]);
      timer?.cancel();
      this.log.info("partitions handed off", { entries: this.rebalancer.rebalanced - started });
    }
    await this.membership.leave();
    await this.close();
  }

  /** Stops at once (as a crash would, without announcing). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.membership.stop();
    await this.close();
  }

  private async close(): Promise<void> {
    this.stopped = true;
    this.o.node.ready = false;
    this.gcTimer?.cancel();
    this.antiEntropy.stop();
    this.hints.stop();
    await this.consensus?.stop();
    this.peers.close();
    await this.listener?.close();
  }

  /** Resolves after `ms` on the injected clock. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.o.clock.setTimer(ms, resolve));
  }

  /** Consensus mode: a committed table arrived (or this node left its cluster); same follow-up as a gossip rebuild. */
  private committedTable(change: ConsensusTableChange): void {
    if (this.stopped || change.next === null) return;
    const next = change.next;
    this.log.info("partition table rebuilt", { epoch: next.epoch, members: next.members.length });
    for (const m of next.members) if (m !== this.o.self) void this.redis.learn(m);
    const live = this.membership.liveMembers();
    if (this.syncing) this.catchUp.noteJoinTakeovers();
    // no previous table (this node left its cluster and was added again) is a gap too: what it holds may be old
    else if (change.gap || change.old === null) this.catchUp.noteGap(live);
    else this.catchUp.noteTakeovers(change.old, next, live);
    // a node restarted from its snapshot would push every loaded entry to the other holders: they have them
    if (!(this.syncing && this.warmCatchUp)) this.rebalancer.tableChanged(change.gap ? null : change.old);
  }

  /** Rebuilds the table from the live members when they changed, notes takeovers, then rebalances (gossip mode). */
  private rebuild(): void {
    if (this.stopped || !(this.ownership instanceof GossipOwnership)) return;
    const members = this.membership.liveMembers().filter((m) => !this.leaving || m !== this.o.self);
    if (members.length === 0) return;
    const change = this.ownership.rebuild(members);
    if (change === null) return;
    this.log.info("partition table rebuilt", { epoch: change.next.epoch, members: members.length });
    for (const m of members) if (m !== this.o.self) void this.redis.learn(m);
    // joining, the catch-up sources follow every table the node builds until its initial pull is done: a peer may
    // forward a command here as soon as its table names this node the owner, before the pull has started
    if (this.syncing) {
      if (!this.o.bugs?.joinCatchUpOnce || change.old === null) this.catchUp.noteJoinTakeovers();
    }
    else this.catchUp.noteTakeovers(change.old, change.next, members);
    // a node restarted from its snapshot would push every loaded entry to the other holders: they have them
    if (!(this.syncing && this.warmCatchUp)) this.rebalancer.tableChanged(change.old);
  }
}
