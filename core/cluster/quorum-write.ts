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
import type { ReplicaChannel, Replication } from "./replica-channel.ts";
import { ANSWERED, running } from "./routed.ts";
import type { RouterContext } from "./router-context.ts";
import type { RouterStats } from "./router-stats.ts";

/** One replicated write: where it goes and how many copies it needs. */
export interface WritePlan {
  map: string;
  keys: Uint8Array[];
  /** The other holders of the partition (replicas). */
  holders: string[];
  /** Copies (owner included) that must acknowledge. */
  w: number;
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
    const before = keys.map((k) => this.c.sync.current(map, k));
    const r = command.run({ node: this.node, session, reply, args });
    if (r || !deferrable) return running(this.finish(session, r, startLen, plan, before));
    if (reply.len > startLen && reply.buf[startLen] === 45 /* - */) return ANSWERED; // an error reply changed nothing
    const entries = this.stampAll(map, keys);
    if (entries.length === 0) return ANSWERED;
    if (this.c.replicationMode === "async" || this.c.bugs?.ackBeforeReplicate) {
      this.stats.asyncWrites++;
      this.hintMisses(this.replicas.replicate(holders, entries, holders.length), entries);
      return ANSWERED;
    }
    const outcome = this.settle(plan, entries, before).then((failure) => (failure === null ? null : errorBytes(failure)));
    this.waits.holdUntil(
      "unsettled",
      map,
      entries.map((e) => e.key),
      outcome,
    );
    session.defer(startLen, outcome);
    return ANSWERED;
  }

  /** The awaited form of {@link write} (a command still running, or too many in flight). */
  private async finish(session: ClientSession, r: void | Promise<void>, startLen: number, plan: WritePlan, before: EntryState[]): Promise<void> {
    const reply = session.reply;
    const { map, keys, holders } = plan;
    if (r) await r;
    if (reply.len > startLen && reply.buf[startLen] === 45 /* - */) return; // an error reply changed nothing
    const entries = this.stampAll(map, keys);
    if (entries.length === 0) return;
    if (this.c.replicationMode === "async" || this.c.bugs?.ackBeforeReplicate) {
      this.stats.asyncWrites++;
      this.hintMisses(this.replicas.replicate(holders, entries, holders.length), entries);
      return;
    }
    const settled = this.settle(plan, entries, before);
    this.waits.holdUntil(
      "unsettled",
      map,
      entries.map((e) => e.key),
      settled,
    );
    const failure = await settled;
    if (failure === null) return;
    reply.len = startLen;
    reply.error(failure);
  }

  /**
   * Waits for the write's quorum. Met: null. Failed: the write is rolled back
   * here and taken back from the replicas that took it (`undo`), then the
   * `-WRITEQUORUM` line says whether that left no trace anywhere (every
   * replica refused it or confirmed the undo) or the outcome is unknown (a
   * replica that did not answer may hold it, and would spread it).
   */
  private async settle(plan: WritePlan, entries: EntryState[], before: EntryState[]): Promise<string | null> {
    const { holders, w } = plan;
    const need = w - 1;
    const repl = this.replicas.replicate(holders, entries, need);
    const acks = await repl.acks;
    if (acks >= need) {
      this.hintMisses(repl, entries);
      return null;
    }
    const prev = entries.map((e) => before.find((b) => sameKey(b.key, e.key)) ?? { ...e, value: null, expireAt: 0, version: 0 });
    this.rollback(prev, entries);
    const answers = await repl.all;
    const undone = answers.took.length > 0 && !this.c.bugs?.keepFailedWrites ? await this.replicas.undo(answers.took, prev, entries) : [];
    const traces = [...answers.unreachable, ...answers.took.filter((h) => !undone.includes(h))];
    return this.quorumFailure(acks, w, holders, traces);
  }

  /** Once every replica answered: keeps the write as a hint for those that could not be reached (the write stands). */
  private hintMisses(repl: Replication, entries: EntryState[]): void {
    if (!this.c.hint) return;
    void repl.all.then((a) => {
      if (a.unreachable.length > 0) this.c.hint!(a.unreachable, entries);
    });
  }

  /**
   * Undoes a write whose quorum failed, where nothing newer was written on
   * top: its new version must not outlive it here (a rebalance would push it,
   * and a write computed on a stale copy — an owner the others had already
   * replaced — would then win over acknowledged ones).
   */
  private rollback(prev: EntryState[], entries: EntryState[]): void {
    for (let i = 0; i < entries.length; i++) if (this.c.sync.restore(prev[i]!, entries[i]!.version)) this.stats.rolledBack++;
  }

  private stampAll(map: string, keys: Uint8Array[]): EntryState[] {
    const entries: EntryState[] = [];
    for (const k of keys) {
      const e = this.c.sync.stamp(map, k);
      if (e !== null) entries.push(e);
    }
    return entries;
  }

  /** The -WRITEQUORUM line: how many copies took the write, and whether it may still hold somewhere (`traces`). */
  private quorumFailure(acks: number, w: number, holders: string[], traces: string[]): string {
    this.stats.quorumFailures++;
    const head = `WRITEQUORUM ${acks + 1} of ${w} copies acknowledged the write (replicas: ${holders.join(", ") || "none"})`;
    if (traces.length === 0) return `${head}; nothing was applied: undone on every copy`;
    this.stats.unknownOutcomes++;
    return `${head}; outcome unknown: ${traces.join(", ")} did not confirm it is undone and may apply it later`;
  }
}
