/**
 * Keyless commands with a cluster-wide meaning. Plain clients see one big
 * cache: DBSIZE, KEYS and SCAN cover every member (each key counted once,
 * on its owner); Redis Cluster clients get per-node answers (owned keys
 * only), as from a Redis Cluster master. FLUSHDB/FLUSHALL/DM.DESTROY and
 * PUBLISH reach every member. DM.SCAN goes to the partition's owner. DM.MAPS
 * and DM.SCANALL (a whole named map) cover every member like KEYS and SCAN.
 */
import type { Args } from "../protocol/args.ts";
import type { Command } from "../protocol/command.ts";
import type { CommandHost, Routed } from "../protocol/host.ts";
import type { ClientSession } from "../protocol/session.ts";
import { clusterScan } from "./cluster-scan.ts";
import { copyArgs, type Forwarder, latin1 } from "./forwarding.ts";
import type { PartitionTable } from "./partition-table.ts";
import { LOCAL, refuse, running } from "./routed.ts";

/** Commands {@link KeylessRouter} handles. */
export const KEYLESS: Record<string, true> = {
  "dm.scan": true,
  publish: true,
  spublish: true,
  dbsize: true,
  keys: true,
  scan: true,
  flushdb: true,
  flushall: true,
  "dm.destroy": true,
  "dm.maps": true,
  "dm.scanall": true,
};

/** Routes the keyless commands of {@link KEYLESS}. */
export class KeylessRouter {
  constructor(
    private readonly node: CommandHost,
    private readonly c: { self: string; table(): PartitionTable | null; catchingUp?(p: number): readonly string[] | undefined },
    private readonly f: Forwarder,
  ) {}

  /** The decision for a keyless command; commands run for a peer (`internal`) always run here. */
  route(session: ClientSession, command: Command, args: Args, internal: boolean): Routed {
    if (args.n < 1) return LOCAL;
    if (internal) return command.name === "dm.scan" ? this.internalScan(session, args) : LOCAL;
    const table = this.c.table();
    if (table === null) return LOCAL;
    switch (command.name) {
      case "dm.scan": {
        const p = args.intOrNull(1);
        if (p === null || p < 0 || p >= table.partitionCount) return LOCAL;
        for (let i = 4; i < args.n; i++) if (args.is(i, "replica")) return LOCAL;
        const owner = table.owner(p);
        return owner === this.c.self ? LOCAL : this.f.forward(session, owner, args, 1);
      }
      case "publish":
      case "spublish":
        return running(this.fanOut(session, args, table.members, "sum", false));
      case "dbsize":
      case "keys":
        if (session.clusterAware) return LOCAL;
        return running(this.fanOut(session, args, table.members, command.name === "dbsize" ? "sum" : "concat", true));
      case "dm.maps":
        if (session.clusterAware) return LOCAL;
        return running(this.fanOut(session, args, table.members, "concat", true));
      case "scan":
        if (session.clusterAware) return LOCAL;
        return running(this.clusterScan(session, args, table, 1));
      case "dm.scanall":
        if (session.clusterAware || args.n < 3) return LOCAL;
        return running(this.clusterScan(session, args, table, 2));
      default:
        if (args.n < 2 && command.name === "dm.destroy") return LOCAL;
        return running(this.fanOut(session, args, table.members, "ok", false));
    }
  }

  /** Sends the command to every member (this one included) and combines the replies. */
  private async fanOut(session: ClientSession, args: Args, members: readonly string[], combine: "sum" | "concat" | "ok", owned: boolean): Promise<void> {
    const argv = copyArgs(args);
    const proto = session.reply.proto;
    const replies = await Promise.all(
      members.map((m) =>
        this.f.execOn(m, argv, proto, owned, session.user).then(
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

  /** DM.SCAN run for a peer (a cluster SCAN): a partition this node took over and has not pulled yet may lack keys. */
  private internalScan(session: ClientSession, args: Args): Routed {
    const p = args.intOrNull(1);
    if (p !== null && (this.c.catchingUp?.(p)?.length ?? 0) > 0) return refuse(session, `TRYAGAIN partition ${p} is being handed over to this node; retry`);
    return LOCAL;
  }

  /**
   * SCAN (cursor argument 1, map `default`) or DM.SCANALL (map argument 1,
   * cursor argument 2) over the whole cluster by partition (cluster-scan.ts);
   * bad arguments are answered by the local command.
   */
  private async clusterScan(session: ClientSession, args: Args, table: PartitionTable, at: 1 | 2): Promise<void> {
    const map = at === 1 ? "default" : args.str(1);
    if (map.length === 0 || !(await clusterScan(session, args, table, this.f, map, at))) return command0(session, args, this.node);
  }
}

/** Runs the command locally (its own validation answers bad input). */
function command0(session: ClientSession, args: Args, node: CommandHost): Promise<void> {
  const c = node.commands.lookup(args)!;
  const r = c.run({ node, session, reply: session.reply, args });
  return r ?? Promise.resolve();
}
