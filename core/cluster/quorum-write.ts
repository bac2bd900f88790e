/**
 * A write on the partition owner: it runs locally, then each written key's
 * resulting state (value or deletion, stamped with a fresh HLC version) is
 * pushed to the partition's replicas; without W − 1 acknowledgements the
 * reply becomes `-WRITEQUORUM` and the local write is rolled back (unless
 * something newer was written on top). In `async` mode the owner answers
 * after its local write and replicates in the background.
 */
import type { Args } from "../protocol/args.ts";
import type { Command } from "../protocol/command.ts";
import type { CommandHost, Routed } from "../protocol/host.ts";
import type { ClientSession } from "../protocol/session.ts";
import { errorBytes } from "./forwarding.ts";
import type { KeyWaits } from "./key-waits.ts";
import type { EntryState } from "./peer-protocol.ts";
import type { ReplicaChannel, Replication, StampedKey } from "./replica-channel.ts";
import { ANSWERED, running } from "./routed.ts";
import type { RouterContext } from "./router-context.ts";
import type { RouterStats } from "./router-stats.ts";

/** One replicated write: where it goes and how many copies it needs. */
export interface WritePlan {
  map: string;
  keys: Uint8Array[];
  /** The other holders of the partition (replicas). */
  holders: readonly string[];
  /** Copies (owner included) that must acknowledge. */
  w: number;
}

function stampedKeys(stamped: StampedKey[]): Uint8Array[] {
  return stamped.length === 1 ? [stamped[0]!.key] : stamped.map((e) => e.key);
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs writes on the owner and replicates them. */
export class QuorumWriter {
  constructor(
    private readonly node: CommandHost,
    private readonly c: RouterContext,
    private readonly stats: RouterStats,
    private readonly waits: KeyWaits,
    private readonly replicas: ReplicaChannel,
  ) {}

  /**
   * Runs a write on the owner, then replicates it. A write that completes
   * synchronously (all but a waiting DM.LOCK) is deferred: its reply stays
   * provisional in the buffer while later commands go on, and is replaced by
   * `-WRITEQUORUM` if too few replicas acknowledge.
   */
  write(session: ClientSession, command: Command, args: Args, plan: WritePlan): Routed {
    const reply = session.reply;
    const startLen = reply.len;
    const deferrable = session.canDefer;
    const { map, keys, holders } = plan;
    const async = this.c.replicationMode === "async" || this.c.bugs?.ackBeforeReplicate === true;
    // the state before the write, to roll back to when its quorum fails (asynchronous writes never roll back)
    const before = async ? [] : keys.map((k) => this.c.sync.current(map, k));
    const r = command.run({ node: this.node, session, reply, args });
    if (r || !deferrable) return running(this.finish(session, r, startLen, plan, before));
    if (reply.len > startLen && reply.buf[startLen] === 45 /* - */) return ANSWERED; // an error reply changed nothing
    if (async) {
      if (this.replicas.pushAsync(holders, map, keys, this.c.sync) > 0) this.stats.asyncWrites++;
      return ANSWERED;
    }
    const pushed = this.replicas.pushSync(holders, map, keys, this.c.sync, plan.w - 1);
    if (pushed === null) return ANSWERED;
    const { stamped, repl } = pushed;
    const outcome = repl.acks.then((acks) => (acks >= plan.w - 1 ? this.stands(plan, stamped, repl) : this.failed(plan, stamped, before, repl, acks).then(errorBytes)));
    this.waits.holdUntil("unsettled", map, stampedKeys(stamped), outcome);
    session.defer(startLen, outcome);
    return ANSWERED;
  }

  /** The awaited form of {@link write} (a command still running, or too many in flight). */
  private async finish(session: ClientSession, r: void | Promise<void>, startLen: number, plan: WritePlan, before: EntryState[]): Promise<void> {
    const reply = session.reply;
    const { map, keys, holders } = plan;
    if (r) await r;
    if (reply.len > startLen && reply.buf[startLen] === 45 /* - */) return; // an error reply changed nothing
    if (this.c.replicationMode === "async" || this.c.bugs?.ackBeforeReplicate) {
      if (this.replicas.pushAsync(holders, map, keys, this.c.sync) > 0) this.stats.asyncWrites++;
      return;
    }
    const pushed = this.replicas.pushSync(holders, map, keys, this.c.sync, plan.w - 1);
    if (pushed === null) return;
    const { stamped, repl } = pushed;
    const settled = repl.acks.then((acks) => (acks >= plan.w - 1 ? this.stands(plan, stamped, repl) : this.failed(plan, stamped, before, repl, acks)));
    this.waits.holdUntil("unsettled", map, stampedKeys(stamped), settled);
    const failure = await settled;
    if (failure === null) return;
    reply.len = startLen;
    reply.error(failure);
  }

  /**
   * A write whose quorum failed: it is rolled back here and taken back from
   * the replicas that took it (`undo`), then the `-WRITEQUORUM` line says
   * whether that left no trace anywhere (every replica refused it or
   * confirmed the undo) or the outcome is unknown (a replica that did not
   * answer may hold it, and would spread it).
   */
  private async failed(plan: WritePlan, stamped: StampedKey[], before: EntryState[], repl: Replication, acks: number): Promise<string> {
    const { holders, w } = plan;
    const prev = stamped.map((e) => before.find((b) => sameKey(b.key, e.key)) ?? { map: e.map, key: e.key, value: null, expireAt: 0, version: 0 });
    const versions = stamped.map((e) => e.version);
    this.rollback(prev, versions);
    const answers = await repl.all();
    const undone = answers.took.length > 0 && !this.c.bugs?.keepFailedWrites ? await this.replicas.undo(answers.took, prev, versions) : [];
    const traces = [...answers.unreachable, ...answers.took.filter((h) => !undone.includes(h))];
    return this.quorumFailure(acks, w, holders, traces);
  }

  /**
   * A write whose quorum was met: null (it stands). Replicas its quorum did
   * not need may still fail; once every one answered, those that could not
   * be reached get it as a hint (hinted handoff), in its current state (the
   * stamped version or a newer one). With as many replicas as acks needed,
   * all of them took it: nothing to wait for.
   */
  private stands(plan: WritePlan, stamped: StampedKey[], repl: Replication): null {
    if (!this.c.hint || plan.holders.length <= plan.w - 1) return null;
    void repl.all().then((a) => {
      if (a.unreachable.length > 0) this.c.hint!(a.unreachable, stamped.map((e) => this.c.sync.current(e.map, e.key)));
    });
    return null;
  }

  /**
   * Undoes a write whose quorum failed, where nothing newer was written on
   * top: its new version must not outlive it here (a rebalance would push it,
   * and a write computed on a stale copy — an owner the others had already
   * replaced — would then win over acknowledged ones).
   */
  private rollback(prev: EntryState[], versions: number[]): void {
    for (let i = 0; i < versions.length; i++) if (this.c.sync.restore(prev[i]!, versions[i]!)) this.stats.rolledBack++;
  }

  /** The -WRITEQUORUM line: how many copies took the write, and whether it may still hold somewhere (`traces`). */
  private quorumFailure(acks: number, w: number, holders: readonly string[], traces: string[]): string {
    this.stats.quorumFailures++;
    const head = `WRITEQUORUM ${acks + 1} of ${w} copies acknowledged the write (replicas: ${holders.join(", ") || "none"})`;
    if (traces.length === 0) return `${head}; nothing was applied: undone on every copy`;
    this.stats.unknownOutcomes++;
    return `${head}; outcome unknown: ${traces.join(", ")} did not confirm it is undone and may apply it later`;
  }
}
