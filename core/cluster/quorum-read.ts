/**
 * Reads on the partition owner that consult the other copies: a quorum read
 * (R > 1, also before a read-modify-write such as INCR) fetches the keys
 * from R − 1 replicas, keeps the newest version, repairs stale copies, then
 * runs the command; a partition this node has just taken over first fetches
 * the keys from the members that held it before.
 */
import type { Args } from "../protocol/args.ts";
import type { Command } from "../protocol/command.ts";
import type { CommandHost, Routed } from "../protocol/host.ts";
import type { ClientSession } from "../protocol/session.ts";
import type { KeyWaits } from "./key-waits.ts";
import type { ReplicaChannel } from "./replica-channel.ts";
import { carryOut, refuse } from "./routed.ts";
import type { RouterContext } from "./router-context.ts";
import type { RouterStats } from "./router-stats.ts";

/** Reads that bring the owner's copy up to date first. */
export class QuorumReader {
  constructor(
    private readonly node: CommandHost,
    private readonly c: RouterContext,
    private readonly stats: RouterStats,
    private readonly waits: KeyWaits,
    private readonly replicas: ReplicaChannel,
  ) {}

  /**
   * A quorum read on the owner: fetches the keys' states from the replicas,
   * waits for r − 1 answers, makes the newest version local (read-repair of
   * the owner), pushes it to every replica that answered with an older one,
   * then runs the command locally (or `andThen`, a write on the repaired copy).
   */
  async read(
    session: ClientSession,
    command: Command,
    args: Args,
    map: string,
    keys: Uint8Array[],
    holders: readonly string[],
    r: number,
    andThen?: () => Routed,
  ): Promise<void> {
    this.stats.quorumReads++;
    const need = r - 1;
    const wanted = keys.map((key) => ({ map, key }));
    const answers = await this.replicas.gather(holders, wanted, need, true, this.c.table()?.viewId);
    if (answers.length < need) {
      this.stats.readQuorumFailures++;
      refuse(session, `READQUORUM ${answers.length + 1} of ${r} copies answered the read (replicas: ${holders.join(", ") || "none"})`);
      return;
    }
    if (this.waits.anyUnsettled && !this.c.bugs?.readDuringGather) {
      // a write on these keys started here while the replicas answered: neither read its unsettled value nor repair it
      const late = this.waits.pendingOn(map, keys, ["unsettled"]);
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
            this.replicas.repair(a.peer, newest);
          }
        }
      }
    }
    if (andThen) {
      await carryOut(andThen(), this.node, session, command, args);
      return;
    }
    const run = command.run({ node: this.node, session, reply: session.reply, args });
    if (run) await run;
  }

  /**
   * Fetches `keys` from every source and keeps the newest versions. Strict:
   * a source answers only once its own table names this node the owner, so
   * it has stopped acting as one itself; false when some source did not
   * answer (the command then gets TRYAGAIN).
   */
  async catchUp(map: string, keys: Uint8Array[], sources: readonly string[]): Promise<boolean> {
    const wanted = keys.map((key) => ({ map, key }));
    const answers = await this.replicas.gather([...sources], wanted, sources.length, true);
    for (const a of answers) for (const e of a.entries) if (e.version > 0) this.c.sync.apply(e);
    const complete = answers.length === sources.length;
    if (complete && this.c.forgotten) {
      for (const key of keys) {
        const known = answers.some((a) => a.entries.some((e) => e.version > 0 && e.key.length === key.length && e.key.every((b, i) => b === key[i])));
        if (!known) this.c.forgotten(map, key);
      }
    }
    return complete;
  }
}
