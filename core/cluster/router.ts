/**
 * Cluster routing of client commands (the node's {@link CommandRouter}).
 *
 * For a keyed command the router finds the key's partition (plain Redis
 * commands act on map `default`; DM.* commands name the map in argument 1):
 * - keys in different partitions → `-CROSSSLOT`, as Redis Cluster answers;
 * - this node does not own the partition → a Redis Cluster client gets
 *   `-MOVED`, others have the command forwarded to the owner (`exec`) and
 *   its reply bytes copied back (`-CLUSTERDOWN` when the owner cannot be
 *   reached). A forwarded command is only ever run by the owner in the
 *   receiver's own table: a receiver whose table names someone else passes
 *   it on (at most 3 hops, then `-TRYAGAIN`), so no node computes on a copy
 *   it has handed off;
 * - a write on the owner runs locally, then each written key's resulting
 *   state (value or deletion, stamped with a fresh HLC version) is pushed to
 *   the partition's replicas (`apply`, strict: a replica takes it only if
 *   its own table names this node as the owner); without W − 1 acks the
 *   reply becomes `-WRITEQUORUM` and the local write is rolled back (unless
 *   something newer was written on top);
 * - with read quorum R > 1 a read — and a read-modify-write such as INCR —
 *   first fetches the keys from R − 1 replicas (strict too), keeps the
 *   newest version, repairs stale copies, then runs; too few answers give
 *   `-READQUORUM`;
 * - a partition this node has just taken over (a join, a failover) is
 *   caught up: until it has pulled the partition from its previous holders,
 *   each command first fetches its keys from them;
 * - fewer live members than memberCountQuorum → writes get `-CLUSTERQUORUM`;
 * - in `async` replication mode the owner acknowledges after its local write
 *   and replicates in the background (W is not waited for).
 * W and R come from the map's settings (`maps.<name>.write_quorum`) or the
 * cluster defaults; DM.PUT takes `W n` and DM.GET `R n` per request.
 * Forwarded and replicated commands of one pipeline run concurrently
 * ({@link ClientSession.defer}); replies keep their order.
 *
 * Module map: this file decides; forwarding.ts sends commands to owners;
 * keyless.ts handles cluster-wide commands; quorum-write.ts and
 * quorum-read.ts are the owner's quorum paths over replica-channel.ts;
 * key-waits.ts keeps a key's commands in order on the owner. Ownership
 * questions go to an {@link OwnerAuthority} (ownership.ts).
 */
import type { Args } from "../protocol/args.ts";
import { type Command, keyIndices } from "../protocol/command.ts";
import type { CommandHost, CommandRouter, Routed } from "../protocol/host.ts";
import type { ClientSession } from "../protocol/session.ts";
import { Forwarder } from "./forwarding.ts";
import { keySlot, partitionOf } from "./hash.ts";
import { KeyWaits } from "./key-waits.ts";
import { KEYLESS, KeylessRouter } from "./keyless.ts";
import type { OwnerAuthority } from "./ownership.ts";
import { QuorumReader } from "./quorum-read.ts";
import { QuorumWriter } from "./quorum-write.ts";
import { ReplicaChannel } from "./replica-channel.ts";
import { carryOut, LOCAL, refuse, running } from "./routed.ts";
import type { RouterContext } from "./router-context.ts";
import { newRouterStats, type RouterStats } from "./router-stats.ts";

export type { RouterContext } from "./router-context.ts";
export type { RouterStats } from "./router-stats.ts";
export type { OwnerAuthority };

const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

/** Most peer hops of one forwarded command while tables disagree. */
const MAX_HOPS = 3;

/** Routes keyed commands to partition owners and replicates writes. */
export class ClusterRouter implements CommandRouter {
  readonly stats: RouterStats = newRouterStats();
  /** Internal sessions → hops the command already travelled. */
  private readonly internal = new WeakMap<ClientSession, number>();
  private readonly waits = new KeyWaits();
  private readonly forwarder: Forwarder;
  private readonly keyless: KeylessRouter;
  private readonly writer: QuorumWriter;
  private readonly reader: QuorumReader;

  constructor(
    private readonly node: CommandHost,
    private readonly c: RouterContext,
  ) {
    const stats = this.stats;
    this.forwarder = new Forwarder({ self: c.self, request: (p, m) => c.request(p, m), execLocal: c.execLocal?.bind(c), stats });
    this.keyless = new KeylessRouter(node, c, this.forwarder);
    const replicas = new ReplicaChannel({
      self: c.self,
      viewId: () => c.table()?.viewId,
      request: (p, m) => c.request(p, m),
      stats,
      afterTurn: c.afterTurn,
      hint: c.hint ? (r, e) => c.hint!(r, e) : undefined,
    });
    this.writer = new QuorumWriter(node, c, stats, this.waits, replicas);
    this.reader = new QuorumReader(node, c, stats, this.waits, replicas);
  }

  /** Marks a session as internal (serving a peer's `exec`): it runs commands here, never forwards. */
  markInternal(session: ClientSession, hops: number): void {
    this.internal.set(session, hops);
  }

  route(session: ClientSession, command: Command, args: Args, waited = false): Routed {
    if (command.firstKey <= 0) return command.name in KEYLESS ? this.keyless.route(session, command, args, this.internal.has(session)) : LOCAL;
    const table = this.c.table();
    if (table === null) return refuse(session, "CLUSTERDOWN The cluster is not ready yet");
    const map = command.name.startsWith("dm.") ? args.str(1) : "default";
    // a transaction (__txexec) writes only the keys of its write commands; its reads and watches are routed, not stamped
    const write = command.writeKeyArgs ? command.writeKeyArgs(args).length > 0 : command.flags.includes("write");
    const keys: Uint8Array[] = [];
    let p = -1;
    for (const i of keyIndices(command, args)) {
      const k = args.bytes(i);
      const kp = partitionOf(k, table.partitionCount);
      if (p === -1) p = kp;
      else if (kp !== p) {
        this.stats.crossSlot++;
        return refuse(session, CROSSSLOT);
      }
      keys.push(k.slice());
    }
    if (p < 0) return LOCAL;
    if (write && this.c.liveCount() < this.c.memberCountQuorum) {
      this.stats.clusterQuorumRefusals++;
      return refuse(
        session,
        `CLUSTERQUORUM ${this.c.liveCount()} live members, ${this.c.memberCountQuorum} needed to accept writes (minority side of a split?)`,
      );
    }
    const owner = table.owner(p);
    const hops = this.internal.get(session);
    session.asking = false; // nothing migrates by ASK here: a new owner catches up itself
    if (owner !== this.c.self) {
      if (hops === undefined) {
        const to = this.redirects(session) ? this.c.clientAddress?.(owner) : null;
        if (to && to.port > 0) {
          this.stats.moved++;
          return refuse(session, `MOVED ${keySlot(keys[0]!)} ${to.host}:${to.port}`);
        }
        return this.forwarder.forward(session, owner, args, 1);
      }
      // forwarded here by a peer whose table differs from ours: never run it on a copy this node may no longer
      // hold (or hold stale); pass it on to the owner in our table, a bounded number of hops
      if (this.c.bugs?.execOnAnyCopy) return LOCAL;
      if (hops >= MAX_HOPS) {
        this.stats.tryAgain++;
        return refuse(session, `TRYAGAIN partition ${p} is changing owner (members disagree for now); retry`);
      }
      this.stats.reforwarded++;
      return this.forwarder.forward(session, owner, args, hops + 1);
    }
    if (!waited && !this.waits.idle) {
      // A read (or read-modify-write) of a key whose last write has not met its quorum yet must not see a value that
      // may still be rolled back (a dirty read), nor read-repair it to the replicas: it waits until the write settles.
      // Whatever comes for the key after a waiting command waits behind it, so the key's commands keep their order.
      const wait = this.waits.pendingOn(map, keys, blindWrite(command, args) || this.c.bugs?.dirtyReads ? ["queued"] : ["queued", "unsettled"]);
      if (wait) {
        args = args.copy(); // runs after an await: the read buffer its views point into may be reused by then
        const done = wait.then(() => {
          // whatever came for these keys since waits behind this command: nothing new to wait for
          return carryOut(this.route(session, command, args, true), this.node, session, command, args);
        });
        this.waits.holdUntil("queued", map, keys, done); // what comes for these keys next waits behind it
        return running(done);
      }
    }
    const holders = table.replicas(p); // the other holders: the owner, this node, is not among its replicas
    const sources = this.c.catchingUp?.(p);
    if (sources && sources.length > 0) {
      // a partition this node just took over: bring these keys up to date from the copies it had before running anything on them
      this.stats.catchUps++;
      args = args.copy(); // the command runs after an await: the read buffer its views point into may be reused by then
      return running(
        this.reader.catchUp(map, keys, sources).then((complete) => {
          if (!complete) {
            this.stats.tryAgain++;
            session.reply.error(`TRYAGAIN partition ${p} is being handed over to this node; retry`);
            return;
          }
          return carryOut(this.owned(session, command, args, map, keys, holders, write, p), this.node, session, command, args);
        }),
      );
    }
    return this.owned(session, command, args, map, keys, holders, write, p);
  }

  /** A command on the owner: quorum read, replicated write, or LOCAL to run it plainly. */
  private owned(
    session: ClientSession,
    command: Command,
    args: Args,
    map: string,
    keys: Uint8Array[],
    holders: readonly string[],
    write: boolean,
    p: number,
    renewed = false,
  ): Routed {
    const override = this.c.mapQuorum?.(map);
    const retry = (stable: Args): Routed => this.owned(session, command, stable, map, keys, holders, write, p, true);
    // every command run as owner, a plain read included, needs a current claim on the partition: an owner that
    // lost it (cut off, paused, or just acquired the partition from one whose lease may still run) must not serve
    const cut = this.c.contactShortfall?.(p);
    if (!write) {
      const r = perRequest(command, args, "dm.get", "r") ?? override?.readQuorum ?? this.c.readQuorum ?? 1;
      if (r <= 1 && (cut === null || cut === undefined || this.c.leaseOnQuorumOnly)) return LOCAL;
      if (cut) return this.renewThen(session, command, args, renewed, cut, retry, p);
      return running(this.reader.read(session, command, args.copy(), map, keys, holders, r));
    }
    const w = perRequest(command, args, "dm.put", "w") ?? override?.writeQuorum ?? this.c.writeQuorum;
    if (holders.length === 0 && w <= 1 && (cut === null || cut === undefined || this.c.leaseOnQuorumOnly)) return LOCAL;
    if (cut) return this.renewThen(session, command, args, renewed, cut, retry, p);
    const r = override?.readQuorum ?? this.c.readQuorum ?? 1;
    if (r > 1 && !blindWrite(command, args)) {
      // a read-modify-write (INCR, APPEND, SET NX, DM.LOCK…) computes on the newest copy a read quorum sees,
      // not on this node's alone (it may have taken the partition over without the last write)
      const stable = args.copy(); // runs after an await: the read buffer may be reused by then
      const written = command.writeKeyArgs ? command.writeKeyArgs(stable).map((i) => stable.bytes(i).slice()) : keys;
      return running(this.reader.read(session, command, stable, map, keys, holders, r, () => this.writer.write(session, command, stable, { map, keys: written, holders, w })));
    }
    const written = command.writeKeyArgs ? command.writeKeyArgs(args).map((i) => args.bytes(i).slice()) : keys;
    return this.writer.write(session, command, args, { map, keys: written, holders, w });
  }

  /**
   * The owner lease lapsed (quiet cluster, just started, or cut off): ask the
   * members that have not answered lately, then serve if enough answer, else
   * refuse with -CLUSTERQUORUM.
   */
  private renewThen(session: ClientSession, command: Command, args: Args, renewed: boolean, why: string, retry: (stable: Args) => Routed, p: number): Routed {
    if (renewed || !this.c.renewContact) {
      this.stats.clusterQuorumRefusals++;
      return refuse(session, `CLUSTERQUORUM ${why}: cut off from the others? (nothing was applied)`);
    }
    const stable = args.copy(); // runs after an await: the read buffer its views point into may be reused by then
    return running(this.c.renewContact(p).then(() => carryOut(retry(stable), this.node, session, command, stable)));
  }

  private redirects(session: ClientSession): boolean {
    if (session.gateway) return false; // HTTP and embedded clients cannot follow MOVED: forward
    const mode = this.c.redirects ?? "auto";
    return mode === "always" || (mode === "auto" && session.clusterAware);
  }
}

/** Writes whose result does not depend on the current value: SET/SETEX/PSETEX/MSET/DM.PUT without NX, XX or GET. */
function blindWrite(command: Command, args: Args): boolean {
  switch (command.name) {
    case "set":
    case "dm.put":
      for (let i = 3; i < args.n; i++) if (args.is(i, "nx") || args.is(i, "xx") || args.is(i, "get")) return false;
      return true;
    case "setex":
    case "psetex":
    case "mset":
      return true;
    default:
      return false;
  }
}

/** A per-request quorum (`W n` on DM.PUT, `R n` on DM.GET), if given; the command validated it. */
function perRequest(command: Command, args: Args, name: string, option: string): number | undefined {
  if (command.name !== name) return undefined;
  for (let i = 3; i + 1 < args.n; i++) {
    if (args.is(i, option)) {
      const n = Number(args.str(i + 1));
      return Number.isInteger(n) && n >= 1 && n <= 16 ? n : 1; // invalid: the command itself answers the error
    }
  }
  return undefined;
}
