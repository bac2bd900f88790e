/**
 * Cluster routing of client commands (the {@link CommandRouter} hook).
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
 */
import type { CommandRouter, ShoalNode } from "../node.ts";
import type { Args } from "../protocol/args.ts";
import type { Command } from "../protocol/command.ts";
import type { ClientSession } from "../protocol/session.ts";
import type { ClusterBugs } from "./bugs.ts";
import type { EntrySync } from "./entry-sync.ts";
import { keySlot, partitionOf } from "./hash.ts";
import type { PartitionTable } from "./partition-table.ts";
import type { EntryState, PeerRequest, PeerResponse } from "./peer-protocol.ts";

/** What the router needs from the cluster layer. */
export interface RouterContext {
  /** This node's member name (its peer address). */
  self: string;
  /** The current partition table; null before the first one is built. */
  table(): PartitionTable | null;
  /** Alive + suspect members, this one included. */
  liveCount(): number;
  memberCountQuorum: number;
  /**
   * Why this node cannot act as an owner now (it has not heard back from
   * enough members lately), or null when it can. Checked for quorum reads
   * and replicated writes.
   */
  contactShortfall?(): string | null;
  /** Probes the members that have not answered lately; resolves once enough did (true) or after a probe timeout (false). */
  renewContact?(): Promise<boolean>;
  /** Copies (owner included) that must hold a write before it is acknowledged. */
  writeQuorum: number;
  /** Copies (owner included) consulted on a read (default 1: the owner alone). */
  readQuorum?: number;
  /** `async`: acknowledge after the local write, replicate in the background (default `sync`). */
  replicationMode?: "sync" | "async";
  /** Per-map quorum overrides. */
  mapQuorum?(map: string): { writeQuorum?: number; readQuorum?: number };
  /** Planted bugs (chaos simulator only). */
  bugs?: ClusterBugs;
  /**
   * Who gets MOVED/ASK instead of forwarding: `auto` (default) cluster-aware
   * sessions only, `always` every client (strict Redis Cluster), `never`.
   */
  redirects?: "auto" | "always" | "never";
  /** Runs a command in an internal session of this node as ACL user `user`; `owned`: SCAN/KEYS/DBSIZE see owned keys only. */
  execLocal?(argv: Uint8Array[], proto: number, owned: boolean, user: string): Promise<Uint8Array>;
  /** A member's client address for MOVED/ASK, or null when not known yet (then the command is forwarded). */
  clientAddress?(member: string): { host: string; port: number } | null;
  /** Sends a data-protocol request to `peer`; rejects on transport failure or timeout. */
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  sync: EntrySync;
  /**
   * For a partition this node has just become the owner of and not yet
   * pulled: the members that held it before (to fetch keys from before
   * serving them); undefined once caught up.
   */
  catchingUp?(p: number): readonly string[] | undefined;
}

/** Counters for /metrics and tests. */
export interface RouterStats {
  forwarded: number;
  forwardFailures: number;
  replicated: number;
  quorumFailures: number;
  crossSlot: number;
  /** Reads that consulted replicas (R > 1). */
  quorumReads: number;
  /** Reads refused for lack of replica answers. */
  readQuorumFailures: number;
  /** Copies (owner or replicas) brought up to date by read-repair. */
  readRepairs: number;
  /** Writes acknowledged before replication (async mode). */
  asyncWrites: number;
  /** Forwarded commands passed on again because this node's table names another owner. */
  reforwarded: number;
  /** Commands refused with TRYAGAIN after too many hops (tables disagreeing). */
  tryAgain: number;
  /** Writes undone locally after their quorum failed. */
  rolledBack: number;
  /** Commands that first fetched their keys because this node had just taken the partition over. */
  catchUps: number;
  /** Replica pushes (apply) that failed or timed out. */
  replicaFailures: number;
  /** Writes refused with CLUSTERQUORUM (minority side). */
  clusterQuorumRefusals: number;
  /** MOVED redirects sent to cluster-aware clients. */
  moved: number;
}

const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

/** Routes keyed commands to partition owners and replicates writes. */
export class ClusterRouter implements CommandRouter {
  readonly stats: RouterStats = {
    forwarded: 0,
    forwardFailures: 0,
    replicated: 0,
    quorumFailures: 0,
    crossSlot: 0,
    quorumReads: 0,
    readQuorumFailures: 0,
    readRepairs: 0,
    asyncWrites: 0,
    catchUps: 0,
    reforwarded: 0,
    tryAgain: 0,
    rolledBack: 0,
    replicaFailures: 0,
    clusterQuorumRefusals: 0,
    moved: 0,
  };
  /** Replica → entries of this turn's writes not sent yet (see applyBatched). */
  private readonly outbox = new Map<string, { entries: EntryState[]; waiters: ((ok: boolean) => void)[] }>();
  /** Internal sessions → hops the command already travelled. */
  private readonly internal = new WeakMap<ClientSession, number>();
  /**
   * Keys with a replicated write in flight on this owner (map NUL key →
   * settled when its quorum is known). The write is already in the local
   * store but may still be rolled back: what reads the key waits for it.
   */
  private readonly unsettled = new Map<string, Promise<unknown>>();
  /** Keys with a command waiting on this owner (map NUL key → settled when it has run). */
  private readonly queued = new Map<string, Promise<unknown>>();

  constructor(
    private readonly node: ShoalNode,
    private readonly c: RouterContext,
  ) {}

  /** Marks a session as internal (serving a peer's `exec`): it runs commands here, never forwards. */
  markInternal(session: ClientSession, hops: number): void {
    this.internal.set(session, hops);
  }

  route(session: ClientSession, command: Command, args: Args, waited = false): Promise<void> | undefined | null {
    if (command.firstKey <= 0) return command.name in KEYLESS ? this.routeKeyless(session, command, args) : undefined;
    const table = this.c.table();
    if (table === null) return fail(session, "CLUSTERDOWN The cluster is not ready yet");
    const map = command.name.startsWith("dm.") ? args.str(1) : "default";
    const last = command.lastKey < 0 ? args.n + command.lastKey : command.lastKey;
    const write = command.flags.includes("write");
    const keys: Uint8Array[] = [];
    let p = -1;
    for (let i = command.firstKey; i <= last && i < args.n; i += command.step) {
      const k = args.bytes(i);
      const kp = partitionOf(k, table.partitionCount);
      if (p === -1) p = kp;
      else if (kp !== p) {
        this.stats.crossSlot++;
        return fail(session, CROSSSLOT);
      }
      keys.push(k.slice());
    }
    if (p < 0) return undefined;
    if (write && this.c.liveCount() < this.c.memberCountQuorum) {
      this.stats.clusterQuorumRefusals++;
      return fail(
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
          return fail(session, `MOVED ${keySlot(keys[0]!)} ${to.host}:${to.port}`);
        }
        return this.forward(session, owner, args, 1);
      }
      // forwarded here by a peer whose table differs from ours: never run it on a copy this node may no longer
      // hold (or hold stale); pass it on to the owner in our table, a bounded number of hops
      if (hops >= MAX_HOPS) {
        this.stats.tryAgain++;
        return fail(session, `TRYAGAIN partition ${p} is changing owner (members disagree for now); retry`);
      }
      this.stats.reforwarded++;
      return this.forward(session, owner, args, hops + 1);
    }
    if (!waited && (this.unsettled.size > 0 || this.queued.size > 0)) {
      // A read (or read-modify-write) of a key whose last write has not met its quorum yet must not see a value that
      // may still be rolled back (a dirty read), nor read-repair it to the replicas: it waits until the write settles.
      // Whatever comes for the key after a waiting command waits behind it, so the key's commands keep their order.
      const wait = this.pendingOn(map, keys, blindWrite(command, args) ? [this.queued] : [this.queued, this.unsettled]);
      if (wait) {
        args = args.copy(); // runs after an await: the read buffer its views point into may be reused by then
        const done = wait.then(() => {
          // whatever came for these keys since waits behind this command: nothing new to wait for
          return this.runDecided(this.route(session, command, args, true), session, command, args);
        });
        this.holdUntil(this.queued, map, keys, done); // what comes for these keys next waits behind it
        return done;
      }
    }
    const holders = [owner, ...table.replicas(p)].filter((h) => h !== this.c.self);
    const sources = owner === this.c.self ? this.c.catchingUp?.(p) : undefined;
    if (sources && sources.length > 0) {
      // a partition this node just took over: bring these keys up to date from the copies it had before running anything on them
      this.stats.catchUps++;
      args = args.copy(); // the command runs after an await: the read buffer its views point into may be reused by then
      return this.catchUp(map, keys, sources).then((complete) => {
        if (!complete) {
          this.stats.tryAgain++;
          session.reply.error(`TRYAGAIN partition ${p} is being handed over to this node; retry`);
          return;
        }
        return this.runDecided(this.owned(session, command, args, map, keys, holders, write), session, command, args);
      });
    }
    return this.owned(session, command, args, map, keys, holders, write);
  }

  /**
   * Settles when every promise that `tables` hold for one of `keys` has (null
   * when none does): the commands already waiting on them (`queued`) and,
   * for what reads them, the writes in flight (`unsettled`).
   */
  private pendingOn(map: string, keys: Uint8Array[], tables: readonly Map<string, Promise<unknown>>[]): Promise<unknown> | null {
    const waits: Promise<unknown>[] = [];
    for (const k of keys) {
      const id = `${map}\0${latin1(k)}`;
      for (const t of tables) {
        const w = t.get(id);
        if (w) waits.push(w);
      }
    }
    if (waits.length === 0) return null;
    return waits.length === 1 ? waits[0]! : Promise.all(waits);
  }

  /**
   * The owner lease lapsed (quiet cluster, just started, or cut off): ask the
   * members that have not answered lately, then serve if enough answer, else
   * refuse with -CLUSTERQUORUM.
   */
  private renewThen(
    session: ClientSession,
    command: Command,
    args: Args,
    renewed: boolean,
    why: string,
    retry: (stable: Args) => Promise<void> | undefined | null,
  ): Promise<void> | undefined | null {
    if (renewed || !this.c.renewContact) return this.cutOff(session, why);
    const stable = args.copy(); // runs after an await: the read buffer its views point into may be reused by then
    return this.c.renewContact().then(() => this.runDecided(retry(stable), session, command, stable));
  }

  /**
   * Carries out a routing decision made after an await: the promise of a
   * command already under way, nothing when it was answered (null), or the
   * command itself when it was left to run plainly (undefined).
   */
  private runDecided(r: Promise<void> | undefined | null, session: ClientSession, command: Command, args: Args): void | Promise<void> {
    if (r === undefined) return command.run({ node: this.node, session, reply: session.reply, args });
    return r ?? undefined;
  }

  private cutOff(session: ClientSession, why: string): Promise<void> {
    this.stats.clusterQuorumRefusals++;
    return fail(session, `CLUSTERQUORUM ${why}: cut off from the others? (nothing was applied)`);
  }

  /** Holds `p` (settled either way) under each of `keys` in `table` until it settles, unless replaced meanwhile. */
  private holdUntil(table: Map<string, Promise<unknown>>, map: string, keys: readonly Uint8Array[], p: Promise<unknown>): void {
    const ids = keys.map((k) => `${map}\0${latin1(k)}`);
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    for (const id of ids) table.set(id, settled);
    void settled.then(() => {
      for (const id of ids) if (table.get(id) === settled) table.delete(id);
    });
  }

  /** A command on the owner: quorum read, replicated write, or undefined to run it plainly. */
  private owned(
    session: ClientSession,
    command: Command,
    args: Args,
    map: string,
    keys: Uint8Array[],
    holders: string[],
    write: boolean,
    renewed = false,
  ): Promise<void> | undefined | null {
    const override = this.c.mapQuorum?.(map);
    if (!write) {
      const r = perRequest(command, args, "dm.get", "r") ?? override?.readQuorum ?? this.c.readQuorum ?? 1;
      if (r <= 1) return undefined;
      const cut = this.c.contactShortfall?.();
      if (cut) return this.renewThen(session, command, args, renewed, cut, (a) => this.owned(session, command, a, map, keys, holders, write, true));
      return this.readRepaired(session, command, args.copy(), map, keys, holders, r);
    }
    const w = perRequest(command, args, "dm.put", "w") ?? override?.writeQuorum ?? this.c.writeQuorum;
    if (holders.length === 0 && w <= 1) return undefined;
    const cut = this.c.contactShortfall?.();
    if (cut) return this.renewThen(session, command, args, renewed, cut, (a) => this.owned(session, command, a, map, keys, holders, write, true));
    const r = override?.readQuorum ?? this.c.readQuorum ?? 1;
    if (r > 1 && !blindWrite(command, args)) {
      // a read-modify-write (INCR, APPEND, SET NX, DM.LOCK…) computes on the newest copy a read quorum sees,
      // not on this node's alone (it may have taken the partition over without the last write)
      const stable = args.copy(); // runs after an await: the read buffer may be reused by then
      return this.readRepaired(session, command, stable, map, keys, holders, r, () =>
        this.writeReplicated(session, command, stable, map, keys, holders, w),
      );
    }
    return this.writeReplicated(session, command, args, map, keys, holders, w);
  }

  /**
   * Fetches `keys` from every source and keeps the newest versions. Strict:
   * a source answers only once its own table names this node the owner, so
   * it has stopped acting as one itself; false when some source did not
   * answer (the command then gets TRYAGAIN).
   */
  private async catchUp(map: string, keys: Uint8Array[], sources: readonly string[]): Promise<boolean> {
    const wanted = keys.map((key) => ({ map, key }));
    const answers = await this.gather([...sources], wanted, sources.length, true);
    for (const a of answers) for (const e of a.entries) if (e.version > 0) this.c.sync.apply(e);
    return answers.length === sources.length;
  }

  /**
   * Keyless commands that concern the whole cluster. Plain clients see one
   * big cache: DBSIZE, KEYS and SCAN cover every member (each key counted
   * once, on its owner); Redis Cluster clients get per-node answers (owned
   * keys only), as from a Redis Cluster master. FLUSHDB/FLUSHALL/DM.DESTROY
   * and PUBLISH reach every member. DM.SCAN goes to the partition's owner.
   */
  private routeKeyless(session: ClientSession, command: Command, args: Args): Promise<void> | undefined | null {
    if (this.internal.has(session) || args.n < 1) return undefined;
    const table = this.c.table();
    if (table === null) return undefined;
    switch (command.name) {
      case "dm.scan": {
        const p = args.intOrNull(1);
        if (p === null || p < 0 || p >= table.partitionCount) return undefined;
        for (let i = 4; i < args.n; i++) if (args.is(i, "replica")) return undefined;
        const owner = table.owner(p);
        return owner === this.c.self ? undefined : this.forward(session, owner, args, 1);
      }
      case "publish":
        return this.fanOut(session, args, table.members, "sum", false);
      case "dbsize":
      case "keys":
        if (session.clusterAware) return undefined;
        return this.fanOut(session, args, table.members, command.name === "dbsize" ? "sum" : "concat", true);
      case "scan":
        if (session.clusterAware) return undefined;
        return this.clusterScan(session, args, table.members);
      default:
        if (args.n < 2 && command.name === "dm.destroy") return undefined;
        return this.fanOut(session, args, table.members, "ok", false);
    }
  }

  /** Sends the command to every member (this one included) and combines the replies. */
  private async fanOut(session: ClientSession, args: Args, members: readonly string[], combine: "sum" | "concat" | "ok", owned: boolean): Promise<void> {
    const argv = copyArgs(args);
    const proto = session.reply.proto;
    const replies = await Promise.all(
      members.map((m) =>
        this.execOn(m, argv, proto, owned, session.user).then(
          (b) => ({ m, b, err: "" }),
          (e: unknown) => ({ m, b: new Uint8Array(0), err: e instanceof Error ? e.message : String(e) }),
        ),
      ),
    );
    const reply = session.reply;
    const failed = replies.find((r) => r.err !== "" || r.b[0] === 45 /* - */);
    if (failed && combine !== "sum") {
      reply.error(`CLUSTERDOWN ${failed.m}: ${failed.err || latin1(failed.b).slice(1).trim()}`);
      return;
    }
    if (combine === "ok") return reply.ok();
    if (combine === "sum") {
      let n = 0;
      let answered = 0;
      for (const r of replies) {
        if (r.err === "" && r.b[0] === 58 /* : */) {
          n += Number(latin1(r.b).slice(1).trim());
          answered++;
        }
      }
      // PUBLISH counts the receivers it reached; DBSIZE needs every member
      if (answered < replies.length && args.lower(0) === "dbsize") {
        reply.error(`CLUSTERDOWN ${failed?.m}: ${failed?.err || "no answer"}`);
        return;
      }
      return reply.int(n);
    }
    let total = 0;
    const bodies: Uint8Array[] = [];
    for (const r of replies) {
      const end = r.b.indexOf(10);
      total += Number(latin1(r.b.subarray(1, end - 1)));
      bodies.push(r.b.subarray(end + 1));
    }
    reply.arr(total);
    for (const b of bodies) reply.raw(b);
  }

  /** SCAN over every member in turn: the cursor is localCursor · 1024 + member index (members in table order). */
  private async clusterScan(session: ClientSession, args: Args, members: readonly string[]): Promise<void> {
    const text = args.latin1(1);
    if (!/^\d{1,20}$/.test(text)) return command0(session, args, this.node);
    const cursor = Number(text);
    let idx = cursor % MAX_MEMBERS;
    let local = Math.floor(cursor / MAX_MEMBERS);
    const argv = copyArgs(args);
    const reply = session.reply;
    if (idx >= members.length) {
      reply.arr(2);
      reply.bulkStr("0");
      reply.arr(0);
      return;
    }
    argv[1] = new TextEncoder().encode(String(local));
    let b: Uint8Array;
    try {
      b = await this.execOn(members[idx]!, argv, reply.proto, true, session.user);
    } catch (e) {
      reply.error(`CLUSTERDOWN ${members[idx]}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (b[0] !== 42 /* * */) return reply.raw(b);
    // *2\r\n$<n>\r\n<cursor>\r\n<keys array>
    const l1 = b.indexOf(10);
    const l2 = b.indexOf(10, l1 + 1);
    const l3 = b.indexOf(10, l2 + 1);
    local = Number(latin1(b.subarray(l2 + 1, l3 - 1)));
    if (local === 0) idx++;
    const next = local === 0 && idx >= members.length ? 0 : local * MAX_MEMBERS + idx;
    reply.arr(2);
    reply.bulkStr(String(next));
    reply.raw(b.subarray(l3 + 1));
  }

  /** Runs a command on `member` as ACL user `user` (the client's, so its key patterns and command rules hold there). */
  private execOn(member: string, argv: Uint8Array[], proto: number, owned: boolean, user: string): Promise<Uint8Array> {
    if (member === this.c.self && this.c.execLocal) return this.c.execLocal(argv, proto, owned, user);
    return this.c.request(member, { t: "exec", args: argv, proto, hops: 1, owned, user }).then((res) => {
      if (res.t === "reply") return res.resp;
      throw new Error(res.t === "error" ? res.message : "unexpected answer");
    });
  }

  private redirects(session: ClientSession): boolean {
    const mode = this.c.redirects ?? "auto";
    return mode === "always" || (mode === "auto" && session.clusterAware);
  }

  private forward(session: ClientSession, owner: string, args: Args, hops: number): Promise<void> | null {
    const argv = copyArgs(args);
    this.stats.forwarded++;
    const bytes = this.c.request(owner, { t: "exec", args: argv, proto: session.reply.proto, hops, user: session.user }).then(
      (res) => {
        if (res.t === "reply") return res.resp;
        return errorBytes(`CLUSTERDOWN owner ${owner}: ${res.t === "error" ? res.message : "unexpected answer"}`);
      },
      (e: unknown) => {
        this.stats.forwardFailures++;
        return errorBytes(`CLUSTERDOWN owner ${owner} unreachable: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
    // later commands of the pipeline go on meanwhile; replies keep their order
    if (session.canDefer) {
      session.defer(session.reply.len, bytes);
      return null;
    }
    return bytes.then((b) => session.reply.raw(b));
  }

  /**
   * Runs a write on the owner, then replicates it. A write that completes
   * synchronously (all but a waiting DM.LOCK) is deferred: its reply stays
   * provisional in the buffer while later commands go on, and is replaced by
   * `-WRITEQUORUM` if too few replicas acknowledge.
   */
  private writeReplicated(
    session: ClientSession,
    command: Command,
    args: Args,
    map: string,
    keys: Uint8Array[],
    holders: string[],
    w: number,
  ): Promise<void> | null {
    const reply = session.reply;
    const startLen = reply.len;
    const deferrable = session.canDefer;
    const before = keys.map((k) => this.c.sync.current(map, k));
    const r = command.run({ node: this.node, session, reply, args });
    if (r || !deferrable) return this.finishWrite(session, r, startLen, map, keys, holders, w, before);
    if (reply.len > startLen && reply.buf[startLen] === 45 /* - */) return null; // an error reply changed nothing
    const entries = this.stampAll(map, keys);
    if (entries.length === 0) return null;
    if (this.c.replicationMode === "async" || this.c.bugs?.ackBeforeReplicate) {
      this.stats.asyncWrites++;
      void this.replicate(holders, entries, holders.length);
      return null;
    }
    const need = w - 1;
    const outcome = this.replicate(holders, entries, need).then((acks) => {
      if (acks >= need) return null;
      this.rollback(before, entries);
      return errorBytes(this.quorumFailure(acks, w, holders));
    });
    this.holdUntil(this.unsettled, map, entries.map((e) => e.key), outcome);
    session.defer(startLen, outcome);
    return null;
  }

  /**
   * Undoes a write whose quorum failed, where nothing newer was written on
   * top: its new version must not outlive it here (a rebalance would push it,
   * and a write computed on a stale copy — an owner the others had already
   * replaced — would then win over acknowledged ones).
   */
  private rollback(before: EntryState[], entries: EntryState[]): void {
    for (const e of entries) {
      const prev = before.find((b) => b.key.length === e.key.length && b.key.every((x, i) => x === e.key[i]));
      if (prev && this.c.sync.restore(prev, e.version)) this.stats.rolledBack++;
    }
  }

  private stampAll(map: string, keys: Uint8Array[]): EntryState[] {
    const entries: EntryState[] = [];
    for (const k of keys) {
      const e = this.c.sync.stamp(map, k);
      if (e !== null) entries.push(e);
    }
    return entries;
  }

  private quorumFailure(acks: number, w: number, holders: string[]): string {
    this.stats.quorumFailures++;
    return `WRITEQUORUM ${acks + 1} of ${w} copies acknowledged the write (replicas: ${holders.join(", ") || "none"})`;
  }

  /** The awaited form of {@link writeReplicated} (a command still running, or too many in flight). */
  private async finishWrite(
    session: ClientSession,
    r: void | Promise<void>,
    startLen: number,
    map: string,
    keys: Uint8Array[],
    holders: string[],
    w: number,
    before: EntryState[],
  ): Promise<void> {
    const reply = session.reply;
    if (r) await r;
    if (reply.len > startLen && reply.buf[startLen] === 45 /* - */) return; // an error reply changed nothing
    const entries = this.stampAll(map, keys);
    if (entries.length === 0) return;
    if (this.c.replicationMode === "async" || this.c.bugs?.ackBeforeReplicate) {
      this.stats.asyncWrites++;
      void this.replicate(holders, entries, holders.length);
      return;
    }
    const need = w - 1;
    const replicated = this.replicate(holders, entries, need).then((acks) => {
      if (acks < need) this.rollback(before, entries);
      return acks;
    });
    this.holdUntil(this.unsettled, map, entries.map((e) => e.key), replicated);
    const acks = await replicated;
    if (acks >= need) return;
    reply.len = startLen;
    reply.error(this.quorumFailure(acks, w, holders));
  }

  /**
   * A quorum read on the owner: fetches the keys' states from the replicas,
   * waits for r − 1 answers, makes the newest version local (read-repair of
   * the owner), pushes it to every replica that answered with an older one,
   * then runs the command locally.
   */
  private async readRepaired(
    session: ClientSession,
    command: Command,
    args: Args,
    map: string,
    keys: Uint8Array[],
    holders: string[],
    r: number,
    andThen?: () => Promise<void> | null,
  ): Promise<void> {
    this.stats.quorumReads++;
    const need = r - 1;
    const wanted = keys.map((key) => ({ map, key }));
    const answers = await this.gather(holders, wanted, need, true, this.c.table()?.viewId);
    if (answers.length < need) {
      this.stats.readQuorumFailures++;
      return fail(session, `READQUORUM ${answers.length + 1} of ${r} copies answered the read (replicas: ${holders.join(", ") || "none"})`);
    }
    if (this.unsettled.size > 0) {
      // a write on these keys started here while the replicas answered: neither read its unsettled value nor repair it
      const late = this.pendingOn(map, keys, [this.unsettled]);
      if (late) await late;
    }
    if (!this.c.bugs?.noReadRepair) {
      for (let i = 0; i < keys.length; i++) {
        const local = this.c.sync.current(map, keys[i]!);
        let newest = local;
        for (const a of answers) if (a.entries[i] && a.entries[i]!.version > newest.version) newest = a.entries[i]!;
        if (newest !== local && this.c.sync.apply(newest)) this.stats.readRepairs++;
        for (const a of answers) {
          const theirs = a.entries[i];
          if (theirs && theirs.version < newest.version && newest.version > 0) {
            this.stats.readRepairs++;
            void this.c.request(a.peer, { t: "apply", entries: [newest] }).catch(() => undefined);
          }
        }
      }
    }
    if (andThen) {
      await andThen();
      return;
    }
    const run = command.run({ node: this.node, session, reply: session.reply, args });
    if (run) await run;
  }

  /** Asks every holder for the keys' states; resolves once `need` answered or all settled. */
  private gather(
    holders: string[],
    wanted: { map: string; key: Uint8Array }[],
    need: number,
    strict: boolean,
    view?: number,
  ): Promise<{ peer: string; entries: EntryState[] }[]> {
    return new Promise((resolve) => {
      const answers: { peer: string; entries: EntryState[] }[] = [];
      let settled = 0;
      if (need <= 0 || holders.length === 0) {
        resolve(answers);
        return;
      }
      for (const h of holders) {
        this.c
          .request(h, strict ? { t: "fetch", keys: wanted, from: this.c.self, strict, view } : { t: "fetch", keys: wanted })
          .then(
            (res) => {
              if (res.t === "entries" && res.entries.length === wanted.length) answers.push({ peer: h, entries: res.entries });
            },
            () => undefined,
          )
          .finally(() => {
            settled++;
            if (answers.length >= need || settled === holders.length) resolve(answers.slice());
          });
      }
    });
  }

  /** Sends `entries` to every holder; resolves with the acks once `need` arrived or all settled. */
  private replicate(holders: string[], entries: EntryState[], need: number): Promise<number> {
    this.stats.replicated += holders.length;
    return new Promise((resolve) => {
      let acks = 0;
      let settled = 0;
      if (need <= 0) resolve(0);
      if (holders.length === 0) resolve(0);
      for (const h of holders) {
        this.applyBatched(h, entries).then((ok) => {
          if (ok) acks++;
          else this.stats.replicaFailures++;
          settled++;
          if (acks >= need || settled === holders.length) resolve(acks);
        });
      }
    });
  }

  /**
   * Queues entries for one replica; every write of the same event-loop turn
   * (a pipelined batch, the commands of all connections read together) goes
   * out as one `apply` per replica. Resolves with whether the replica took
   * the batch (it refuses all of it when it does not see this node as the
   * owner of one of the keys).
   */
  private applyBatched(holder: string, entries: EntryState[]): Promise<boolean> {
    let batch = this.outbox.get(holder);
    if (!batch) {
      const created = { entries: [] as EntryState[], waiters: [] as ((ok: boolean) => void)[] };
      this.outbox.set(holder, created);
      batch = created;
      queueMicrotask(() => {
        this.outbox.delete(holder);
        const view = this.c.table()?.viewId;
        this.c.request(holder, { t: "apply", entries: created.entries, from: this.c.self, strict: true, view }).then(
          (res) => {
            for (const w of created.waiters) w(res.t === "applied");
          },
          () => {
            for (const w of created.waiters) w(false);
          },
        );
      });
    }
    for (const e of entries) batch.entries.push(e);
    return new Promise((resolve) => batch.waiters.push(resolve));
  }
}

const encoder = new TextEncoder();

/** An error reply line. */
function errorBytes(message: string): Uint8Array {
  return encoder.encode(`-${message.replace(/[\r\n]+/g, " ")}\r\n`);
}

/** Keyless commands with cluster-wide meaning (see routeKeyless). */
const KEYLESS: Record<string, true> = {
  "dm.scan": true,
  publish: true,
  dbsize: true,
  keys: true,
  scan: true,
  flushdb: true,
  flushall: true,
  "dm.destroy": true,
};

/** Most peer hops of one forwarded command while tables disagree. */
const MAX_HOPS = 3;

/** Cluster SCAN cursors carry the member index in their low part. */
const MAX_MEMBERS = 1024;

function copyArgs(args: Args): Uint8Array[] {
  const argv: Uint8Array[] = [];
  for (let i = 0; i < args.n; i++) argv.push(args.bytes(i).slice());
  return argv;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Runs the command locally (its own validation answers bad input). */
function command0(session: ClientSession, args: Args, node: ShoalNode): Promise<void> {
  const c = node.commands.lookup(args)!;
  const r = c.run({ node, session, reply: session.reply, args });
  return r ?? Promise.resolve();
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

function fail(session: ClientSession, message: string): Promise<void> {
  session.reply.error(message);
  return Promise.resolve();
}
