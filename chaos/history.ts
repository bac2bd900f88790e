/**
 * The recorded operation history of a chaos run: what each client asked,
 * when (simulated or real ms), and what came back. The simulator
 * (`shoal chaos --sim`) and the real-network runner (`--real`) both write
 * this format; the checkers in checkers.ts read nothing else.
 *
 * Outcomes follow Jepsen: `ok` the client saw a definite success; `fail` the
 * operation definitely did not take effect (e.g. -CLUSTERQUORUM, which is
 * answered before anything is applied); `unknown` it may or may not have
 * taken effect (timeout, -WRITEQUORUM whose local write stays, a forward
 * that failed after the owner may have run it). A write whose outcome is
 * unknown may take effect at any time after its invocation, or never.
 *
 * Runtime-neutral: no I/O, plain JSON-serialisable data.
 */

/** The kinds of operations a workload issues. */
export type OpKind = "put" | "get" | "delete" | "incr" | "lock" | "unlock" | "expire";

/** How an operation ended, from the client's point of view. */
export type Outcome = "ok" | "fail" | "unknown";

/** One client operation. */
export interface Op {
  /** Index in {@link History.ops} (set by {@link HistoryRecorder}). */
  id: number;
  /** Client number; {@link FINAL_CLIENT} for the final reads after the faults stopped. */
  client: number;
  kind: OpKind;
  /** The key (plain map `default` unless a workload says otherwise). */
  key: string;
  /**
   * The argument: the value written by `put` (unique per put so reads can
   * name their write), the delta of `incr`, the lease ms of `lock`, the
   * token of `unlock`, the ttl ms of `expire`; null when none.
   */
  value: string | number | null;
  /** When the client sent it, ms. */
  invokeMs: number;
  /** When the client got the answer or gave up, ms (for `unknown`: when it gave up). */
  completeMs: number;
  outcome: Outcome;
  /**
   * What came back for `ok`: `get` → the value or null; `incr` → the new
   * value; `lock` → the fencing token (number); `delete` → keys removed;
   * `expire` → 1 when a ttl was set, 0 when the key did not exist;
   * `put`/`unlock` → null.
   */
  result: string | number | null;
  /** The error text for `fail`/`unknown`. */
  error?: string;
  /** The node the client sent it to. */
  node?: string;
}

/** Client number of the final reads issued after the faults stopped. */
export const FINAL_CLIENT = -1;

/** A whole run's history. */
export interface History {
  ops: Op[];
}

/** An operation before it completes. */
export type Invocation = Pick<Op, "client" | "kind" | "key" | "value" | "invokeMs"> & { node?: string };

/**
 * Builds a {@link History} as operations start and finish, so ids follow
 * invocation order (deterministic when the caller is).
 */
export class HistoryRecorder {
  readonly ops: Op[] = [];

  /** Records the start of an operation; returns its id for {@link complete}. */
  invoke(inv: Invocation): number {
    const id = this.ops.length;
    this.ops.push({ id, ...inv, completeMs: Number.POSITIVE_INFINITY, outcome: "unknown", result: null });
    return id;
  }

  /** Records the end of operation `id`. */
  complete(id: number, completeMs: number, outcome: Outcome, result: Op["result"] = null, error?: string): void {
    const op = this.ops[id];
    if (!op) throw new RangeError(`no operation ${id} in the history`);
    op.completeMs = completeMs;
    op.outcome = outcome;
    op.result = result;
    if (error !== undefined) op.error = error;
  }

  /** The history so far. Operations never completed stay `unknown` with completeMs = Infinity. */
  history(): History {
    return { ops: this.ops };
  }
}

/** One operation as a short human line: `#12 c3 put r1="c3-7" @1200..1250 ok`. */
export function formatOp(op: Op): string {
  const arg = op.value === null ? "" : `=${JSON.stringify(op.value)}`;
  const end = Number.isFinite(op.completeMs) ? String(op.completeMs) : "∞";
  const res = op.outcome === "ok" ? (op.result === null ? "ok" : `ok → ${JSON.stringify(op.result)}`) : `${op.outcome}${op.error ? ` (${op.error})` : ""}`;
  const who = op.client === FINAL_CLIENT ? "final" : `c${op.client}`;
  return `#${op.id} ${who} ${op.kind} ${op.key}${arg} @${op.invokeMs}..${end}${op.node ? ` via ${op.node}` : ""} ${res}`;
}

/** The operations on `key`, in invocation order. */
export function opsOnKey(h: History, key: string): Op[] {
  return h.ops.filter((o) => o.key === key).sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
}

/**
 * A stable 32-bit FNV-1a hash (hex) of the history's canonical JSON, for
 * replay tests: the same seed must give the same hash.
 */
export function historyHash(h: History): string {
  const text = JSON.stringify(h.ops, (_k, v) => (v === Number.POSITIVE_INFINITY ? "inf" : v));
  let x = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    x ^= text.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x.toString(16).padStart(8, "0");
}

/**
 * What the runner observed about the cluster once faults stopped (input of
 * the liveness checker). Times are ms after the faults stopped.
 */
export interface LivenessObservation {
  /** The bound the run allowed for convergence, ms. */
  boundMs: number;
  /** Nodes expected in the cluster at the end. */
  expectedMembers: string[];
  /** Per running node: the live members it sees (sorted). */
  views: Record<string, string[]>;
  /** Per running node: whether it reports ready. */
  ready: Record<string, boolean>;
  /** Partitions whose holder list (owner + replicas) has fewer than `replicaCount` distinct members, per node. */
  underReplicated: Record<string, number[]>;
  /** Expected copies per partition: min(replicaCount, members). */
  replicaCount: number;
  /** When everything above first held, ms after faults stopped; null when it never did within the bound. */
  convergedAfterMs: number | null;
}
