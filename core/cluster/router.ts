/**
 * Cluster routing of client commands (the {@link CommandRouter} hook).
 *
 * For a keyed command the router finds the key's partition (plain Redis
 * commands act on map `default`; DM.* commands name the map in argument 1):
 * - keys in different partitions → `-CROSSSLOT`, as Redis Cluster answers;
 * - this node does not own the partition → the command is forwarded to the
 *   owner (`exec`) and its reply bytes are copied back, or `-CLUSTERDOWN`
 *   when the owner cannot be reached within the peer timeout;
 * - a write on the owner runs locally, then each written key's resulting
 *   state (value or deletion, stamped with a fresh HLC version) is pushed to
 *   the partition's replicas (`apply`); without writeQuorum − 1 acks the
 *   reply is rewound and replaced by `-WRITEQUORUM` (the local write stays,
 *   as in Olric);
 * - fewer live members than memberCountQuorum → writes get `-CLUSTERQUORUM`.
 * Reads run on the owner only (read quorum > 1 is not implemented yet).
 * Sessions created for inbound `exec` are internal: they run the command
 * here even when this node's table names another owner (tables converge),
 * with one exception: while this node is still pulling its partitions after
 * joining (`syncing`), commands for partitions it owns go to the owner of
 * the table without it (the previous owner, which still has the data),
 * at most two hops deep.
 */
import type { CommandRouter, ShoalNode } from "../node.ts";
import type { Args } from "../protocol/args.ts";
import type { Command } from "../protocol/command.ts";
import type { ClientSession } from "../protocol/session.ts";
import type { EntrySync } from "./entry-sync.ts";
import { partitionOf } from "./hash.ts";
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
  /** Copies (owner included) that must hold a write before it is acknowledged. */
  writeQuorum: number;
  /** Sends a data-protocol request to `peer`; rejects on transport failure or timeout. */
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  sync: EntrySync;
  /** True while this node has not yet pulled the partitions it holds. */
  syncing(): boolean;
  /** Owner of partition `p` in the table without this node (where its data was before it joined). */
  previousOwner(p: number): string | null;
}

/** Counters for /metrics and tests. */
export interface RouterStats {
  forwarded: number;
  forwardFailures: number;
  replicated: number;
  quorumFailures: number;
  crossSlot: number;
}

const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

/** Routes keyed commands to partition owners and replicates writes. */
export class ClusterRouter implements CommandRouter {
  readonly stats: RouterStats = { forwarded: 0, forwardFailures: 0, replicated: 0, quorumFailures: 0, crossSlot: 0 };
  /** Internal sessions → hops the command already travelled. */
  private readonly internal = new WeakMap<ClientSession, number>();

  constructor(
    private readonly node: ShoalNode,
    private readonly c: RouterContext,
  ) {}

  /** Marks a session as internal (serving a peer's `exec`): it runs commands here, never forwards. */
  markInternal(session: ClientSession, hops: number): void {
    this.internal.set(session, hops);
  }

  route(session: ClientSession, command: Command, args: Args): Promise<void> | undefined {
    if (command.firstKey <= 0) return undefined;
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
      if (write) keys.push(k.slice());
    }
    if (p < 0) return undefined;
    if (write && this.c.liveCount() < this.c.memberCountQuorum) {
      return fail(
        session,
        `CLUSTERQUORUM ${this.c.liveCount()} live members, ${this.c.memberCountQuorum} needed to accept writes (minority side of a split?)`,
      );
    }
    const owner = table.owner(p);
    const hops = this.internal.get(session);
    if (owner !== this.c.self && hops === undefined) return this.forward(session, owner, args, 1);
    if (owner === this.c.self && this.c.syncing() && (hops ?? 0) < 2) {
      const previous = this.c.previousOwner(p);
      if (previous !== null && previous !== this.c.self) return this.forward(session, previous, args, (hops ?? 0) + 1);
    }
    if (!write) return undefined;
    const holders = [owner, ...table.replicas(p)].filter((h) => h !== this.c.self);
    if (holders.length === 0 && this.c.writeQuorum <= 1) return undefined;
    return this.writeReplicated(session, command, args, map, keys, holders);
  }

  private forward(session: ClientSession, owner: string, args: Args, hops: number): Promise<void> {
    const argv: Uint8Array[] = [];
    for (let i = 0; i < args.n; i++) argv.push(args.bytes(i).slice());
    this.stats.forwarded++;
    return this.c.request(owner, { t: "exec", args: argv, proto: session.reply.proto, hops }).then(
      (res) => {
        if (res.t === "reply") session.reply.raw(res.resp);
        else session.reply.error(`CLUSTERDOWN owner ${owner}: ${res.t === "error" ? res.message : "unexpected answer"}`);
      },
      (e: unknown) => {
        this.stats.forwardFailures++;
        session.reply.error(`CLUSTERDOWN owner ${owner} unreachable: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
  }

  private async writeReplicated(
    session: ClientSession,
    command: Command,
    args: Args,
    map: string,
    keys: Uint8Array[],
    holders: string[],
  ): Promise<void> {
    const reply = session.reply;
    const startLen = reply.len;
    const r = command.run({ node: this.node, session, reply, args });
    if (r) await r;
    if (reply.len > startLen && reply.buf[startLen] === 45 /* - */) return; // an error reply changed nothing
    const entries: EntryState[] = keys.map((k) => this.c.sync.stamp(map, k));
    const need = this.c.writeQuorum - 1;
    const acks = await this.replicate(holders, entries, need);
    if (acks >= need) return;
    this.stats.quorumFailures++;
    reply.len = startLen;
    reply.error(`WRITEQUORUM ${acks + 1} of ${this.c.writeQuorum} copies acknowledged the write (replicas: ${holders.join(", ") || "none"})`);
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
        this.c.request(h, { t: "apply", entries }).then(
          (res) => {
            if (res.t === "applied") acks++;
          },
          () => undefined,
        ).finally(() => {
          settled++;
          if (acks >= need || settled === holders.length) resolve(acks);
        });
      }
    });
  }
}

function fail(session: ClientSession, message: string): Promise<void> {
  session.reply.error(message);
  return Promise.resolve();
}
