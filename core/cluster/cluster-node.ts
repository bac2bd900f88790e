/**
 * Cluster v0: joins a {@link ShoalNode} to a cluster. SWIM membership and
 * the data protocol share one transport address (channels 1 and 2 of a
 * {@link TransportMux}); the partition table is rebuilt from the live
 * members on every membership change; the {@link ClusterRouter} is installed
 * on the node; after each table change the node pushes the entries whose
 * holders changed to their new holders (`apply` in batches, one batch in
 * flight per target), and drops the ones it no longer holds once pushed.
 *
 * Joining: after the first table is built the node pulls the entries of
 * every partition it holds from each other member (`pull`, paged). Until
 * that is done it is `syncing`: the router sends commands for partitions it
 * owns to their previous owner (the owner in the table without this node),
 * and `node.ready` (/readyz) stays false. Runtime-neutral: Clock, Rng and
 * Transport are injected.
 */
import type { Clock, Rng, Timer } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import type { ShoalNode } from "../node.ts";
import { ClientSession } from "../protocol/session.ts";
import type { Link, Listener, Transport } from "../transport.ts";
import type { ClusterBugs } from "./bugs.ts";
import { EntrySync, type EntrySyncOptions } from "./entry-sync.ts";
import { partitionOf } from "./hash.ts";
import { HybridClock } from "./hlc.ts";
import { Membership, type MembershipEventType } from "./membership.ts";
import { type MembershipTimings, suspicionMinTimeout } from "./membership-config.ts";
import { PartitionTable } from "./partition-table.ts";
import {
  decodeRequest,
  decodeResponse,
  type EntryState,
  encodePeer,
  type PeerRequest,
  type PeerResponse,
  type PullCursor,
} from "./peer-protocol.ts";
import { type ClientAddress, RedisClusterFace, splitAddress } from "./redis-cluster.ts";
import { ClusterRouter } from "./router.ts";
import { TransportMux } from "./transport-mux.ts";

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
}

/** The settings of a {@link ClusterNode} that views and metrics show. */
export interface ClusterSettings {
  partitionCount: number;
  /** Copies per partition, owner included. */
  replicaCount: number;
  writeQuorum: number;
  readQuorum: number;
  /** Live members needed to accept writes. */
  memberCountQuorum: number;
  replicationMode: "sync" | "async";
}

const silent: Logger = { info() {}, warn() {}, error() {} };
/** Entry indices a rebalance scan visits between yields to the event loop. */
const SCAN_SLICE = 16_384;
const MEMBERSHIP_CHANNEL = 1;
const DATA_CHANNEL = 2;

/** One node's cluster layer. */
export class ClusterNode {
  readonly membership: Membership;
  readonly router: ClusterRouter;
  readonly sync: EntrySync;
  readonly hlc: HybridClock;
  /** The Redis Cluster view (CLUSTER SLOTS/NODES/SHARDS/INFO, MOVED addresses). */
  readonly redis: RedisClusterFace;
  /** Entries pushed to new holders by rebalancing so far. */
  rebalanced = 0;
  /** Entries received by the initial pull after joining (taken or already present). */
  pulled = 0;
  /** Membership events seen by this node since start, by type (suspicions, deaths, joins…). */
  readonly memberEvents: Record<MembershipEventType, number> = { join: 0, suspect: 0, alive: 0, dead: 0, leave: 0 };
  private table: PartitionTable | null = null;
  private epoch = 0;
  private readonly mux: TransportMux;
  private readonly data: Transport;
  private readonly links = new Map<string, Link>();
  private listener: Listener | undefined;
  private rebalancing: Promise<void> | null = null;
  private rebuildAgain = false;
  private gcTimer: Timer | undefined;
  private stopped = false;
  private syncing = true;
  private renewing: Promise<boolean> | null = null;
  /** Times this node refuted its own death and caught up (for metrics and tests). */
  returns = 0;
  /** Set by a graceful leave: tables leave this node out. */
  private leaving = false;
  /** Partitions this node took over (owner) and has not pulled yet → members that held them before. */
  private readonly catching = new Map<number, string[]>();
  private catchingRun: Promise<void> | null = null;
  private readonly log: Logger;

  constructor(private readonly o: ClusterNodeOptions) {
    this.log = o.log ?? silent;
    this.mux = new TransportMux(o.transport);
    this.data = this.mux.channel(DATA_CHANNEL);
    this.hlc = new HybridClock(o.clock);
    this.sync = new EntrySync(o.node, this.hlc, o.clock, { ...o.tombstones, bugs: o.bugs });
    this.membership = new Membership({
      self: o.self,
      clock: o.clock,
      rng: o.rng,
      transport: this.mux.channel(MEMBERSHIP_CHANNEL),
      timings: o.timings,
      seeds: o.seeds,
      onRefutedDeath: () => this.noteReturn(),
    });
    this.router = new ClusterRouter(o.node, {
      self: o.self,
      table: () => this.table,
      liveCount: () => this.membership.liveMembers().length,
      memberCountQuorum: o.memberCountQuorum,
      // Owner lease: the others remove a member they cannot reach after at least the minimum suspicion timeout,
      // and may then take its partitions over. A node that has not heard back from enough members for that long
      // must not act as an owner meanwhile (it may be the one cut off, or paused, with a view nobody else holds).
      contactShortfall: () => {
        const need = o.memberCountQuorum - 1;
        if (need <= 0) return null;
        const window = suspicionMinTimeout(o.timings, this.membership.liveMembers().length);
        const got = this.membership.answeredWithin(window);
        return got >= need ? null : `${got + 1} of ${o.memberCountQuorum} members answered this node in the last ${Math.round(window)} ms`;
      },
      renewContact: () => this.renewContact(),
      writeQuorum: o.writeQuorum,
      readQuorum: o.readQuorum,
      replicationMode: o.replicationMode,
      mapQuorum: o.mapQuorum,
      bugs: o.bugs,
      redirects: o.redirects,
      clientAddress: (m) => this.redis.addressOf(m),
      execLocal: (argv, proto, owned, user) => this.exec(argv, proto, 1, owned, user),
      request: (peer, msg) => this.request(peer, msg),
      sync: this.sync,
      catchingUp: (p) => this.catching.get(p),
    });
    this.redis = new RedisClusterFace({
      self: o.self,
      table: () => this.table,
      members: () => this.membership.members(),
      epoch: () => this.epoch,
      liveCount: () => this.membership.liveMembers().length,
      memberCountQuorum: o.memberCountQuorum,
      selfAddress: o.clientAddress ?? null,
      hello: async (member) => {
        const res = await this.request(member, { t: "hello" });
        if (res.t !== "hello") throw new Error(`${member}: no client address`);
        return { host: res.host, port: res.port };
      },
    });
  }

  /** True until the initial pull after joining is done. */
  get isSyncing(): boolean {
    return this.syncing;
  }

  /** The current partition table (null before start). */
  get partitions(): PartitionTable | null {
    return this.table;
  }

  /** The node this cluster layer serves. */
  get node(): ShoalNode {
    return this.o.node;
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

  /** Listens, installs the router, joins the seeds and builds the first table. */
  async start(): Promise<void> {
    const node = this.o.node;
    node.ready = false;
    node.router = this.router;
    node.cluster = this.redis;
    // fencing tokens follow the HLC, which replication carries to the replicas: a new owner after failover issues larger ones
    node.fencingFloor = () => this.hlc.now();
    node.onExpired = (map, key, version) => this.sync.expired(map, key, version);
    node.ownsKey = (key) => {
      const t = this.table;
      return t === null || t.owner(partitionOf(key, t.partitionCount)) === this.o.self;
    };
    this.listener = await this.data.listen(this.o.self, {
      onRequest: (_from, bytes) => this.onRequest(bytes),
      onMessage: () => undefined,
    });
    this.membership.onEvent((e) => {
      this.memberEvents[e.type]++;
      const level = e.type === "suspect" || e.type === "dead" ? "warn" : "info";
      this.log[level](`member ${e.type}`, { member: e.member.name, incarnation: e.member.incarnation, reason: e.reason });
      this.rebuild();
    });
    await this.membership.start();
    this.rebuild();
    const complete = await this.initialPull();
    this.syncing = false;
    if (complete) {
      // the initial pull covered every partition this node holds: nothing is left to catch up from the join
      this.catching.clear();
    } else if (this.catching.size > 0 && this.catchingRun === null) {
      // some holder never served the pull: keep catching up from the join's sources (per key, and in the background)
      this.catchingRun = this.pullTakeovers().finally(() => {
        this.catchingRun = null;
      });
    }
    await this.settled();
    node.ready = !this.stopped;
    const gc = (): void => {
      if (this.stopped) return;
      this.sync.collect();
      this.gcTimer = this.o.clock.setTimer(60_000, gc);
    };
    this.gcTimer = this.o.clock.setTimer(60_000, gc);
  }

  /** Resolves when no rebalance pass is running. */
  async settled(): Promise<void> {
    for (let i = 0; i < 100 && this.rebalancing; i++) await this.rebalancing;
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
    const t = this.table;
    const others = t ? t.members.filter((m) => m !== this.o.self) : [];
    if (others.length > 0) {
      // From now on this node's own table leaves it out: it runs nothing as owner any more (commands go to the
      // next owners, replicas take writes only from them), so the push below carries every acknowledged write.
      this.leaving = true;
      const next = PartitionTable.build(others, ++this.epoch, { partitionCount: this.o.partitionCount, replicaCount: this.o.replicaCount });
      this.table = next;
      this.catching.clear();
      let timer: Timer | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = this.o.clock.setTimer(this.o.leaveTimeoutMs ?? 5000, resolve);
      });
      const started = this.rebalanced;
      await Promise.race([this.pushChanged(null, next), timeout]);
      timer?.cancel();
      this.log.info("partitions handed off", { entries: this.rebalanced - started });
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
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.listener?.close();
  }

  private link(peer: string): Link {
    let l = this.links.get(peer);
    if (!l) {
      l = this.data.connect(peer, this.o.self);
      this.links.set(peer, l);
    }
    return l;
  }

  /** One data-protocol request; a transport failure makes membership probe the peer now. */
  private async request(peer: string, msg: PeerRequest): Promise<PeerResponse> {
    const sentAt = this.o.clock.monotonic();
    try {
      const res = decodeResponse(await this.link(peer).request(encodePeer(msg), this.o.peerTimeoutMs));
      // quorum traffic the peer took with the same member list and no suspicion of this node: it held this node
      // alive when it answered, so it cannot remove it before a whole suspicion timeout from then
      if ((msg.t === "apply" || msg.t === "fetch") && msg.view !== undefined && (res.t === "applied" || res.t === "entries") && res.suspect !== true) {
        this.membership.noteAnswer(peer, sentAt);
      }
      return res;
    } catch (e) {
      this.membership.probeNow(peer);
      throw e;
    }
  }

  private async onRequest(bytes: Uint8Array): Promise<Uint8Array> {
    let req: PeerRequest;
    try {
      req = decodeRequest(bytes);
    } catch (e) {
      return encodePeer({ t: "error", message: e instanceof Error ? e.message : String(e) });
    }
    if (req.t === "pull") {
      const refused = req.strict ? this.notHolderIn(req.from, req.partitions, req.asOwner === true) : null;
      if (refused) return encodePeer({ t: "error", message: refused });
      return encodePeer(this.servePull(req.partitions, req.after));
    }
    if (req.t === "hello") {
      const a = this.o.clientAddress ?? { host: splitAddress(this.o.self).host, port: 0 };
      return encodePeer({ t: "hello", host: a.host, port: a.port });
    }
    if (req.t === "fetch") {
      const refused = req.strict ? this.notOwnerIn(req.from, req.keys, req.view) : null;
      if (refused) return encodePeer({ t: "error", message: refused });
      const entries = req.keys.map((k) => this.sync.current(k.map, k.key));
      return encodePeer(req.strict && this.suspects(req.from) ? { t: "entries", entries, next: null, suspect: true } : { t: "entries", entries, next: null });
    }
    if (req.t === "apply") {
      const refused = req.strict ? this.notOwnerIn(req.from, req.entries, req.view) : null;
      if (refused) return encodePeer({ t: "error", message: refused });
      let taken = 0;
      for (const e of req.entries) if (this.sync.apply(e)) taken++;
      return encodePeer(req.strict && this.suspects(req.from) ? { t: "applied", taken, suspect: true } : { t: "applied", taken });
    }
    return encodePeer({ t: "reply", resp: await this.exec(req.args, req.proto, req.hops, req.owned === true, req.user) });
  }

  /**
   * Renews the owner lease on demand: probes every live member that has not
   * answered within the lease window and resolves once enough have (true) or
   * after one probe timeout (false). Concurrent callers share one renewal.
   */
  private renewContact(): Promise<boolean> {
    if (this.renewing) return this.renewing;
    const need = this.o.memberCountQuorum - 1;
    const window = suspicionMinTimeout(this.o.timings, this.membership.liveMembers().length);
    for (const m of this.membership.liveMembers()) if (m !== this.o.self) this.membership.probeNow(m);
    const started = this.o.clock.monotonic();
    const run = async (): Promise<boolean> => {
      for (let i = 0; i < 1000 && !this.stopped; i++) {
        if (this.membership.answeredWithin(window) >= need) return true;
        if (this.o.clock.monotonic() - started > this.o.timings.probeTimeoutMs) return false;
        await this.pause(5);
      }
      return false;
    };
    const p = run().finally(() => {
      this.renewing = null;
    });
    this.renewing = p;
    return p;
  }

  /** Whether this node holds `member` suspect (or worse): the member's owner lease must not count this answer. */
  private suspects(member: string | undefined): boolean {
    return member !== undefined && this.membership.member(member)?.status !== "alive";
  }

  /**
   * Quorum traffic (a client write's replication, a quorum read) is served
   * only for the owner of the keys' partition in this node's own table, so a
   * node the others have replaced (paused, cut off one way, or with an older
   * view) cannot get a write acknowledged or a read confirmed. Returns the
   * refusal, or null.
   */
  private notOwnerIn(from: string | undefined, keys: readonly { key: Uint8Array }[], view: number | undefined): string | null {
    const t = this.table;
    if (t === null) return "no partition table yet";
    // Members that see different member lists may each name a different owner, and their quorums need not
    // intersect: quorum traffic counts only between members that agree on the whole list (views converge
    // within a gossip round or two after a change; until then a write or read may get TRYAGAIN-like refusals).
    if (view !== undefined && view !== t.viewId) return `members differ (${t.members.length} here): views not converged yet`;
    for (const { key } of keys) {
      const p = partitionOf(key, t.partitionCount);
      if (t.owner(p) !== from) return `not the owner of partition ${p} here (owner: ${t.owner(p)})`;
    }
    return null;
  }

  /** A pull is served only to a member this node's table names as a holder of every partition asked for. */
  private notHolderIn(from: string | undefined, partitions: readonly number[], asOwner: boolean): string | null {
    const t = this.table;
    if (t === null || from === undefined) return "no partition table yet";
    for (const p of partitions) {
      if (p < 0 || p >= t.partitionCount) return `no partition ${p}`;
      if (t.owner(p) === from) continue;
      if (asOwner) return `not the owner of partition ${p} here (owner: ${t.owner(p)})`;
      if (!t.replicas(p).includes(from)) return `not a holder of partition ${p} here`;
    }
    return null;
  }

  /** Resolves after `ms` on the injected clock. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.o.clock.setTimer(ms, resolve));
  }

  /**
   * Runs a forwarded command in an internal session, as ACL user `user` (the
   * client's on the node it is connected to; `default` from peers that do not
   * send one), and captures its reply bytes. A user this node does not know
   * gets NOPERM: the ACL files of the nodes differ.
   */
  private exec(argv: Uint8Array[], proto: number, hops: number, owned = false, user = "default"): Promise<Uint8Array> {
    const node = this.o.node;
    const aclUser = node.acl.users.get(user);
    if (aclUser === undefined) {
      return Promise.resolve(new TextEncoder().encode(`-NOPERM user '${user.slice(0, 64).replace(/[^\x21-\x7e]/g, "?")}' does not exist on ${this.o.self} (give every node the same ACL file)\r\n`));
    }
    return new Promise((resolve) => {
      const session = new ClientSession(node, {
        write: (b) => {
          resolve(b.slice());
          session.onClose();
        },
        close: () => undefined,
        remote: "cluster-peer",
      });
      node.stats.connectionsTotal--; // internal, not a client connection
      session.authenticated = true; // the client logged in on the node it is connected to
      session.aclUser = aclUser;
      session.user = aclUser.name;
      session.reply.proto = proto;
      session.ownedOnly = owned;
      this.router.markInternal(session, hops);
      session.onData(encodeCommand(argv));
    });
  }

  /**
   * After a table change, the partitions this node now owns but did not
   * own before may lack writes that reached only the other copies (a new
   * owner that was a replica missing the last write, or a node that held no
   * copy at all). Until it has pulled them from the members that held them
   * (previous owner and replicas, and the current replicas), the router
   * fetches each command's keys from those members first.
   */
  private noteTakeovers(old: PartitionTable | null, next: PartitionTable, members: readonly string[]): void {
    const self = this.o.self;
    const live = new Set(members);
    for (const [p, src] of this.catching) {
      const still = src.filter((m) => live.has(m));
      if (next.owner(p) !== self || still.length === 0) this.catching.delete(p);
      else if (still.length !== src.length) this.catching.set(p, still);
    }
    if (old === null || this.syncing) return;
    for (let p = 0; p < next.partitionCount; p++) {
      if (next.owner(p) !== self || old.owner(p) === self) continue;
      const src = [...new Set([old.owner(p), ...old.replicas(p), ...next.replicas(p)])].filter((m) => m !== self && live.has(m));
      if (src.length > 0) this.catching.set(p, src);
    }
    if (this.catching.size > 0 && this.catchingRun === null) {
      this.catchingRun = this.pullTakeovers().finally(() => {
        this.catchingRun = null;
      });
    }
  }

  /**
   * Joining: the partitions this node owns were held by others until now.
   * Until the initial pull is done, commands on them fetch their keys from
   * those holders (the table without this node) first.
   */
  private noteJoinTakeovers(): void {
    const t = this.table;
    if (t === null) return;
    if (t.members.length < 2) {
      this.catching.clear();
      return;
    }
    const self = this.o.self;
    const others = t.members.filter((m) => m !== self);
    const before = PartitionTable.build(others, 0, { partitionCount: this.o.partitionCount, replicaCount: this.o.replicaCount });
    for (let p = 0; p < t.partitionCount; p++) {
      if (t.owner(p) !== self) this.catching.delete(p);
      else this.catching.set(p, [...new Set([before.owner(p), ...before.replicas(p)])]);
    }
  }

  /**
   * Others declared this node dead (it was cut off, paused, or too slow to
   * answer) and it has just refuted that. Meanwhile they rebuilt their
   * tables without it and other members may have owned its partitions and
   * taken writes, even if this node's own table never changed. Like a join:
   * the partitions it owns catch up from their holders in the table without
   * it before it serves them again (each source answers once its own table
   * names this node the owner again).
   */
  private noteReturn(): void {
    if (this.stopped || this.syncing || this.leaving) return;
    const t = this.table;
    if (t === null || t.members.length < 2) return;
    this.returns++;
    const self = this.o.self;
    const others = t.members.filter((m) => m !== self);
    const without = PartitionTable.build(others, 0, { partitionCount: this.o.partitionCount, replicaCount: this.o.replicaCount });
    for (let p = 0; p < t.partitionCount; p++) {
      if (t.owner(p) !== self) continue;
      const src = new Set([...(this.catching.get(p) ?? []), without.owner(p), ...without.replicas(p)]);
      src.delete(self);
      if (src.size > 0) this.catching.set(p, [...src]);
    }
    this.log.warn("declared dead by the others and refuted: catching up the partitions this node owns", { partitions: this.catching.size });
    if (this.catching.size > 0 && this.catchingRun === null) {
      this.catchingRun = this.pullTakeovers().finally(() => {
        this.catchingRun = null;
      });
    }
  }

  /**
   * Pulls taken-over partitions from their previous holders until none is
   * left. Strict: a holder serves the pull only once its own table names
   * this node as a holder, so it no longer acts as the owner; a refusal or
   * failure keeps the partition pending for the next round.
   */
  private async pullTakeovers(): Promise<void> {
    for (let round = 0; round < 100 && this.catching.size > 0 && !this.stopped; round++) {
      if (round > 0) await this.pause(this.o.timings.probeIntervalMs);
      const bySource = new Map<string, number[]>();
      const snapshot = new Map(this.catching);
      for (const [p, src] of snapshot) {
        for (const m of src) {
          let list = bySource.get(m);
          if (!list) bySource.set(m, (list = []));
          list.push(p);
        }
      }
      let entries = 0;
      const failed = new Set<string>();
      await Promise.all(
        [...bySource].map(async ([peer, partitions]) => {
          let after: PullCursor | null = null;
          for (let page = 0; page < 100_000 && !this.stopped; page++) {
            let res: PeerResponse;
            try {
              res = await this.request(peer, { t: "pull", partitions, after, from: this.o.self, strict: true, asOwner: true });
            } catch (e) {
              failed.add(peer);
              this.log.warn("takeover pull failed", { peer, error: e instanceof Error ? e.message : String(e) });
              return;
            }
            if (res.t !== "entries") {
              failed.add(peer);
              return;
            }
            for (const e of res.entries) this.sync.apply(e);
            entries += res.entries.length;
            if (res.next === null) return;
            after = res.next;
          }
        }),
      );
      // done with what was pending when the round started, where every source served it (and the sources did not change)
      for (const [p, src] of snapshot) if (this.catching.get(p) === src && !src.some((m) => failed.has(m))) this.catching.delete(p);
      this.log.info("taken-over partitions pulled", { partitions: snapshot.size, entries, pending: this.catching.size });
    }
  }

  /** Partitions taken over and not pulled yet (for metrics and tests). */
  get catchingUp(): number {
    return this.catching.size;
  }

  /** Pulls the entries of every partition this node holds from each other member (bounded pages). */
  private async initialPull(): Promise<boolean> {
    const self = this.o.self;
    const held = (t: PartitionTable): number[] => {
      const out: number[] = [];
      for (let p = 0; p < t.partitionCount; p++) if (t.owner(p) === self || t.replicas(p).includes(self)) out.push(p);
      return out;
    };
    // the table may grow while the node joins (it learns the members one by one): pull every partition it holds
    // in its latest table from every member of that table, each (member, partition) once
    const pulledFrom = new Map<string, Set<number>>();
    let complete = true;
    let partitions = 0;
    for (let round = 0; round < 10 && !this.stopped; round++) {
      const t = this.table;
      if (t === null || t.members.length < 2) break;
      const mine = held(t);
      partitions = mine.length;
      const todo: [string, number[]][] = [];
      for (const peer of t.members) {
        if (peer === self) continue;
        const done = pulledFrom.get(peer);
        const left = done ? mine.filter((p) => !done.has(p)) : mine;
        if (left.length > 0) todo.push([peer, left]);
      }
      if (todo.length === 0) return complete;
      const results = await Promise.all(todo.map(([peer, ps]) => this.pullFrom(peer, ps, held)));
      for (let i = 0; i < todo.length; i++) {
        const got = results[i];
        if (got === null) {
          complete = false;
          continue;
        }
        const peer = todo[i]![0];
        let done = pulledFrom.get(peer);
        if (!done) pulledFrom.set(peer, (done = new Set()));
        for (const p of got) done.add(p);
      }
      this.log.info("initial sync round done", { round, partitions, entries: this.pulled });
    }
    const t = this.table;
    if (t === null || t.members.length < 2) return complete;
    const mine = held(t);
    for (const peer of t.members) if (peer !== self && !mine.every((p) => pulledFrom.get(peer)?.has(p))) return false;
    return complete;
  }

  /**
   * Pulls `partitions` from one peer, all pages. A peer whose table is behind
   * refuses (it does not see this node as a holder yet): asked again shortly,
   * for the partitions this node still holds. The partitions pulled, or null
   * when the peer failed or kept refusing.
   */
  private async pullFrom(peer: string, partitions: number[], held: (t: PartitionTable) => number[]): Promise<number[] | null> {
    const self = this.o.self;
    // window of two pages: the next page is requested before this one is applied,
    // so the peer builds it while we apply (never more than one request outstanding)
    const pull = (after: PullCursor | null): Promise<PeerResponse> => {
      const r = this.request(peer, { t: "pull", partitions, after, from: self, strict: true });
      r.catch(() => undefined); // awaited below; a stop in between must not leave it unhandled
      return r;
    };
    let pending = pull(null);
    let refusals = 0;
    for (let page = 0; page < 100_000 && !this.stopped; page++) {
      let res: PeerResponse;
      try {
        res = await pending;
      } catch (e) {
        this.log.warn("initial pull failed", { peer, error: e instanceof Error ? e.message : String(e) });
        return null;
      }
      if (res.t === "error") {
        if (refusals >= 50) return null;
        // the peer does not see this node as a holder yet (its table is behind): ask again shortly
        refusals++;
        await this.pause(Math.min(200, this.o.timings.probeIntervalMs));
        const t = this.table;
        if (t !== null) {
          const now = new Set(held(t)); // our own table may have moved on too
          partitions = partitions.filter((p) => now.has(p));
          if (partitions.length === 0) return [];
        }
        pending = pull(null);
        continue;
      }
      if (res.t !== "entries") return null;
      if (res.next !== null) pending = pull(res.next);
      const node = this.o.node;
      node.cachedNow = this.o.clock.now(); // one clock read per page, as a RESP read event does (the store reads the time per lookup)
      try {
        for (const e of res.entries) this.sync.apply(e);
      } finally {
        node.cachedNow = 0;
      }
      this.pulled += res.entries.length;
      if (res.next === null) return partitions;
    }
    return null;
  }

  /** One page (up to 4096 entries or about 1 MiB of keys and values) of this node's entries in `partitions`, after `after`. */
  private servePull(partitions: number[], after: PullCursor | null): PeerResponse {
    const wanted = new Uint8Array(this.o.partitionCount);
    for (const p of partitions) if (p >= 0 && p < wanted.length) wanted[p] = 1;
    let bytes = 0;
    const names = this.o.node.mapNames();
    const entries: EntryState[] = [];
    const now = this.o.clock.now();
    let m = after ? names.indexOf(after.map) : 0;
    if (m < 0) m = names.length;
    let i = after ? after.idx + 1 : 0;
    for (; m < names.length; m++, i = 0) {
      const name = names[m]!;
      const t = this.o.node.map(name).table;
      for (; i < t.hiWater; i++) {
        if (!t.isLive(i)) continue;
        const exp = t.expireAt[i]!;
        if (exp !== 0 && exp <= now) continue;
        if (wanted[partitionOf(t.keyView(i), this.o.partitionCount)] !== 1) continue;
        const e = this.sync.read(name, i);
        entries.push(e);
        bytes += e.key.length + (e.value?.length ?? 0);
        if (entries.length >= 4096 || bytes >= 1 << 20) return { t: "entries", entries, next: { map: name, idx: i } };
      }
    }
    // the last page also carries the tombstones, so a stale copy pushed later cannot resurrect a deleted key here
    for (const e of this.sync.tombstones()) if (wanted[partitionOf(e.key, this.o.partitionCount)] === 1) entries.push(e);
    return { t: "entries", entries, next: null };
  }

  /** Rebuilds the table from the live members when they changed, then rebalances. */
  private rebuild(): void {
    if (this.stopped) return;
    const members = this.membership.liveMembers().filter((m) => !this.leaving || m !== this.o.self);
    if (members.length === 0) return;
    const old = this.table;
    if (old && old.members.length === members.length && old.members.every((m, i) => m === members[i])) return;
    this.table = PartitionTable.build(members, ++this.epoch, {
      partitionCount: this.o.partitionCount,
      replicaCount: this.o.replicaCount,
    });
    this.log.info("partition table rebuilt", { epoch: this.epoch, members: members.length });
    for (const m of members) if (m !== this.o.self) void this.redis.learn(m);
    // joining, the catch-up sources follow every table the node builds until its initial pull is done: a peer may
    // forward a command here as soon as its table names this node the owner, before the pull has started
    if (this.syncing) this.noteJoinTakeovers();
    else this.noteTakeovers(old, this.table, members);
    if (this.rebalancing) {
      this.rebuildAgain = true;
      return;
    }
    this.rebalancing = this.rebalance(old).finally(() => {
      this.rebalancing = null;
    });
  }

  private async rebalance(old: PartitionTable | null): Promise<void> {
    for (let round = 0; round < 50 && !this.stopped; round++) {
      this.rebuildAgain = false;
      await this.pushChanged(old, this.table!);
      if (!this.rebuildAgain) return;
      old = null; // tables changed meanwhile: compare against nothing (push every entry to every other holder)
    }
  }

  /** Pushes entries whose holders changed between `old` and `next`; drops those this node no longer holds. */
  private async pushChanged(old: PartitionTable | null, next: PartitionTable): Promise<void> {
    if (old === null && this.o.node.keyCount() === 0 && this.sync.tombstoneCount() === 0) return;
    const self = this.o.self;
    const byTarget = new Map<string, EntryState[]>();
    const drop: EntryState[] = [];
    // A big scan blocks this node's event loop: start it on a fresh timer turn (the membership reply that announced
    // the change goes out first) and yield every SCAN_SLICE indices, so SWIM probes and pulls are still answered.
    // Entry indices are stable, so the scan resumes where it was; later writes follow the new table anyway.
    const big = this.o.node.keyCount() > SCAN_SLICE;
    const pause = (): Promise<void> => new Promise((resolve) => this.o.clock.setTimer(0, resolve));
    if (big) await pause();
    const now = this.o.clock.now();
    // per partition, once: the new holders to push to (lists shared by the partition's entries) and whether we keep it
    const listsOf: EntryState[][][] = [];
    const keep: boolean[] = [];
    for (let p = 0; p < next.partitionCount; p++) {
      const holders = [next.owner(p), ...next.replicas(p)];
      const before = old ? [old.owner(p), ...old.replicas(p)] : [];
      listsOf.push(
        holders
          .filter((h) => h !== self && !before.includes(h))
          .map((h) => {
            let list = byTarget.get(h);
            if (!list) byTarget.set(h, (list = []));
            return list;
          }),
      );
      keep.push(holders.includes(self));
    }
    for (const name of this.o.node.mapNames()) {
      let t = this.o.node.map(name).table;
      for (let i = 0; i < t.hiWater; i++) {
        if (big && i % SCAN_SLICE === SCAN_SLICE - 1) {
          await pause();
          if (this.stopped) return;
          t = this.o.node.map(name).table;
        }
        if (!t.isLive(i)) continue;
        const exp = t.expireAt[i]!;
        if (exp !== 0 && exp <= now) continue;
        const p = partitionOf(t.keyView(i), next.partitionCount);
        const lists = listsOf[p]!;
        if (lists.length === 0 && keep[p]) continue;
        const e = this.sync.read(name, i);
        for (const list of lists) list.push(e);
        if (!keep[p]) drop.push(e);
      }
    }
    for (const [h, list] of byTarget) if (list.length === 0) byTarget.delete(h);
    // tombstones move with their partitions too (never dropped here: they expire by the GC horizon)
    for (const e of this.sync.tombstones()) {
      const p = partitionOf(e.key, next.partitionCount);
      const before = old ? [old.owner(p), ...old.replicas(p)] : [];
      for (const h of [next.owner(p), ...next.replicas(p)]) {
        if (h === self || before.includes(h)) continue;
        let list = byTarget.get(h);
        if (!list) byTarget.set(h, (list = []));
        list.push(e);
      }
    }
    const failed = new Set<string>();
    const batch = this.o.batchSize ?? 1024;
    await Promise.all(
      [...byTarget].map(async ([peer, list]) => {
        for (let i = 0; i < list.length && !this.stopped; ) {
          // up to `batch` entries or about 1 MiB of keys and values, whichever comes first
          let end = i;
          for (let bytes = 0; end < list.length && end - i < batch && bytes < 1 << 20; end++) bytes += list[end]!.key.length + (list[end]!.value?.length ?? 0);
          try {
            await this.request(peer, { t: "apply", entries: list.slice(i, end) });
            this.rebalanced += end - i;
            i = end;
          } catch (e) {
            failed.add(peer);
            this.log.warn("rebalance push failed", { peer, error: e instanceof Error ? e.message : String(e) });
            return;
          }
        }
      }),
    );
    if (failed.size > 0 || this.table !== next) return; // keep our copies when a push failed or the table moved on
    for (const e of drop) {
      const m = this.o.node.map(e.map);
      const idx = m.lookup(e.key, 0, e.key.length, false);
      if (idx >= 0 && m.table.version[idx] === e.version) m.removeEntry(idx);
    }
  }
}

const enc = new TextEncoder();

/** RESP multibulk encoding of a command. */
function encodeCommand(argv: Uint8Array[]): Uint8Array {
  let size = 0;
  const heads = argv.map((a) => enc.encode(`$${a.length}\r\n`));
  const top = enc.encode(`*${argv.length}\r\n`);
  size += top.length;
  for (let i = 0; i < argv.length; i++) size += heads[i]!.length + argv[i]!.length + 2;
  const out = new Uint8Array(size);
  let o = 0;
  out.set(top, o);
  o += top.length;
  for (let i = 0; i < argv.length; i++) {
    out.set(heads[i]!, o);
    o += heads[i]!.length;
    out.set(argv[i]!, o);
    o += argv[i]!.length;
    out[o++] = 13;
    out[o++] = 10;
  }
  return out;
}
