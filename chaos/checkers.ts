/**
 * Checkers: pure functions over a recorded {@link History} that return the
 * violations they find (empty when the history is correct). Each violation
 * names its checker, the key, what went wrong, and the operations on that key
 * around it, so a failing seed explains itself.
 *
 * Keys are classified by the operations the workload issues on them:
 * - register keys (only put/get/delete): linearizability, lost writes, resurrection;
 * - counter keys (incr, get): counters exact;
 * - lock keys (lock/unlock): mutual exclusion and fencing order;
 * - expiring keys (any expire): no read of an expired value.
 * Operations with outcome `fail` are taken not to have happened; `unknown`
 * writes may have happened at any time after their invocation. Two
 * operations with equal timestamps (one ends in the ms the other starts) are
 * treated as concurrent.
 */
import { formatOp, type History, type LivenessObservation, type Op, opsOnKey } from "./history.ts";

/** Names of the checkers. */
export type CheckerName = "linearizable" | "lost-write" | "resurrection" | "counter" | "lock" | "expiry" | "liveness" | "convergence";

/** One violation. */
export interface Violation {
  checker: CheckerName;
  /** The key concerned (absent for liveness). */
  key?: string;
  message: string;
  /** The operations that show the violation, and those on the key around it, in invocation order. */
  ops: Op[];
}

/** Options for {@link checkHistory}. */
export interface CheckOptions {
  /**
   * Clock error allowed between the nodes and the clients, ms: lock leases and
   * ttls are measured on node clocks, so a holder's lease and an expiry are
   * judged with this much slack (default 0).
   */
  clockSlackMs?: number;
  /** States the linearizability search may visit per key before giving up as inconclusive (default 200 000). */
  searchBudget?: number;
  /** Lock checking: `fencing` (default: overlapping holders must be told apart by their tokens) or `mutex` (no overlap at all). */
  lockMode?: "fencing" | "mutex";
  /** Receives a note for each key whose linearizability search ran out of budget. */
  onInconclusive?: (key: string) => void;
}

/** The most operations listed in one violation. */
const MAX_LISTED = 30;

/** Runs every history checker; add {@link checkLiveness} for the cluster's final state. */
export function checkHistory(h: History, o: CheckOptions = {}): Violation[] {
  return [
    ...checkLinearizable(h, o),
    ...checkLostWrites(h),
    ...checkResurrection(h),
    ...checkCounters(h),
    ...checkLocks(h, o.clockSlackMs ?? 0, o.lockMode ?? "fencing"),
    ...checkExpiry(h, o.clockSlackMs ?? 0),
  ];
}

/** Operations grouped by key (keys in first-seen order). */
function byKey(h: History): Map<string, Op[]> {
  const m = new Map<string, Op[]>();
  for (const op of h.ops) {
    let l = m.get(op.key);
    if (!l) m.set(op.key, (l = []));
    l.push(op);
  }
  return m;
}

const isRegister = (ops: Op[]): boolean => ops.every((o) => o.kind === "put" || o.kind === "get" || o.kind === "delete");
const isWrite = (o: Op): boolean => o.kind === "put" || o.kind === "delete";

/** The operations on `key` overlapping [from, to], capped, in invocation order. */
function around(h: History, key: string, from: number, to: number, must: Op[] = []): Op[] {
  const ids = new Set(must.map((o) => o.id));
  const all = opsOnKey(h, key).filter((o) => ids.has(o.id) || (o.completeMs >= from && o.invokeMs <= to));
  if (all.length <= MAX_LISTED) return all;
  // keep the operations that show it and those closest before the last of them
  const kept = all.filter((o) => ids.has(o.id));
  for (let i = all.length - 1; i >= 0 && kept.length < MAX_LISTED; i--) if (!ids.has(all[i]!.id) && all[i]!.invokeMs <= to) kept.push(all[i]!);
  return kept.sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
}

// ---------------------------------------------------------------------------
// Linearizability of a register (Wing & Gong search with memoisation, as in
// Knossos and porcupine).

interface LinOp {
  op: Op;
  inv: number;
  /** Infinity for writes with unknown outcome. */
  comp: number;
  optional: boolean;
}

/**
 * Per register key: is there a total order of the operations, consistent
 * with real time (a before b when a completed before b was invoked), in which
 * every read returns the latest write? Unknown writes may be placed anywhere
 * after their invocation or left out. (Delete results are not checked.)
 */
export function checkLinearizable(h: History, o: CheckOptions = {}): Violation[] {
  const out: Violation[] = [];
  for (const [key, ops] of byKey(h)) {
    if (!isRegister(ops)) continue;
    const observed = new Set(ops.filter((x) => x.kind === "get" && x.outcome === "ok").map((x) => x.result));
    const lin: LinOp[] = [];
    for (const op of ops) {
      if (op.outcome === "fail") continue;
      if (op.kind === "get" && op.outcome !== "ok") continue; // a read with no answer says nothing
      const optional = op.outcome === "unknown";
      // an unknown put nobody read can only constrain later reads, never explain one: leave it out
      if (optional && op.kind === "put" && !observed.has(op.value)) continue;
      lin.push({ op, inv: op.invokeMs, comp: optional ? Number.POSITIVE_INFINITY : op.completeMs, optional });
    }
    const r = searchRegister(lin, o.searchBudget ?? 200_000);
    if (r.ok === "inconclusive") o.onInconclusive?.(key);
    if (r.ok !== false) continue;
    const stuck = r.stuck!;
    // show the write whose value the stuck read returned, and everything on the key since
    const source = stuck.op.kind === "get" ? ops.find((x) => x.kind === "put" && String(x.value) === String(stuck.op.result)) : undefined;
    out.push({
      checker: "linearizable",
      key,
      message:
        `no linearization of the ${lin.length} operations on ${key}: at most ${r.depth} of the ${lin.filter((x) => !x.optional).length} definite ones fit; ` +
        `stuck before ${formatOp(stuck.op)} (a read returned a value no order of the writes allows: stale or lost)`,
      ops: around(h, key, Math.min(r.frontier, source?.invokeMs ?? r.frontier), stuck.op.completeMs, source ? [source, stuck.op] : [stuck.op]),
    });
  }
  return out;
}

type Lin = { ok: true } | { ok: "inconclusive" } | { ok: false; depth: number; stuck?: LinOp; frontier: number };

function searchRegister(ops: LinOp[], budget: number): Lin {
  ops.sort((a, b) => a.inv - b.inv || a.op.id - b.op.id);
  const n = ops.length;
  const required = ops.filter((x) => !x.optional).length;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let visited = 0;
  let bestDepth = -1;
  let bestStuck: LinOp | undefined;
  let bestFrontier = 0;
  let exhausted = false;

  const step = (state: string | null, x: LinOp): { ok: boolean; next: string | null } => {
    const op = x.op;
    if (op.kind === "put") return { ok: true, next: op.value === null ? null : String(op.value) };
    if (op.kind === "delete") return { ok: true, next: null };
    return { ok: op.result === state, next: state };
  };

  const go = (state: string | null, depth: number, lastInv: number): boolean => {
    if (depth === required) return true;
    if (++visited > budget) {
      exhausted = true;
      return false;
    }
    let memo = state === null ? "\u0000" : state;
    memo += "|";
    for (let i = 0; i < n; i++) memo += done[i] ? "1" : "0";
    if (seen.has(memo)) return false;
    // every candidate must have been invoked by the time the first pending definite op completed
    let minComp = Number.POSITIVE_INFINITY;
    let first: LinOp | undefined;
    for (let i = 0; i < n; i++) {
      const x = ops[i]!;
      if (!done[i] && x.comp < minComp) {
        minComp = x.comp;
        first = x;
      }
    }
    if (depth > bestDepth) {
      bestDepth = depth;
      bestStuck = first;
      bestFrontier = lastInv;
    }
    for (let i = 0; i < n; i++) {
      const x = ops[i]!;
      if (done[i]) continue;
      if (x.inv > minComp) break; // sorted by invocation
      const r = step(state, x);
      if (!r.ok) continue;
      done[i] = 1;
      const found = go(r.next, x.optional ? depth : depth + 1, x.inv);
      done[i] = 0;
      if (found) return true;
      if (exhausted) return false;
    }
    seen.add(memo);
    return false;
  };

  if (go(null, 0, 0)) return { ok: true };
  if (exhausted) return { ok: "inconclusive" };
  return { ok: false, depth: bestDepth, stuck: bestStuck, frontier: bestFrontier };
}

// ---------------------------------------------------------------------------

/** Values a read may return after write `w` given the writes that may follow it. */
function allowedAfter(ops: Op[], w: Op, readCompleteMs: number): Set<string | null> {
  const allowed = new Set<string | null>([w.kind === "put" ? String(w.value) : null]);
  for (const x of ops) {
    if (x === w || !isWrite(x) || x.outcome === "fail") continue;
    const comp = x.outcome === "unknown" ? Number.POSITIVE_INFINITY : x.completeMs;
    if (comp >= w.invokeMs && x.invokeMs <= readCompleteMs) allowed.add(x.kind === "put" ? String(x.value) : null);
  }
  return allowed;
}

/**
 * No acknowledged write lost: each final read (after the faults stopped)
 * of a register key returns the last acknowledged write or a write that may
 * have come after it.
 */
export function checkLostWrites(h: History): Violation[] {
  const out: Violation[] = [];
  for (const [key, ops] of byKey(h)) {
    if (!isRegister(ops)) continue;
    const finals = ops.filter((x) => x.client === -1 && x.kind === "get" && x.outcome === "ok");
    if (finals.length === 0) continue;
    for (const w of ops) {
      if (w.kind !== "put" || w.outcome !== "ok") continue;
      const r = finals.find((f) => f.invokeMs > w.completeMs && !allowedAfter(ops, w, f.completeMs).has(f.result === null ? null : String(f.result)));
      if (!r) continue;
      out.push({
        checker: "lost-write",
        key,
        message: `acknowledged ${formatOp(w)} is lost: the final read ${formatOp(r)} returned a value no later write explains`,
        ops: around(h, key, w.invokeMs, r.completeMs, [w, r]),
      });
      break;
    }
  }
  return out;
}

/**
 * No deleted key resurrected: a read that starts after an acknowledged delete
 * returns nothing, or a value written after (or concurrently with) the delete.
 */
export function checkResurrection(h: History): Violation[] {
  const out: Violation[] = [];
  for (const [key, ops] of byKey(h)) {
    if (!isRegister(ops)) continue;
    let found = false;
    for (const d of ops) {
      if (found) break;
      if (d.kind !== "delete" || d.outcome !== "ok") continue;
      for (const r of ops) {
        if (r.kind !== "get" || r.outcome !== "ok" || r.result === null || r.invokeMs <= d.completeMs) continue;
        if (allowedAfter(ops, d, r.completeMs).has(String(r.result))) continue;
        out.push({
          checker: "resurrection",
          key,
          message: `${formatOp(r)} read a value deleted by acknowledged ${formatOp(d)} (no write after the delete explains it)`,
          ops: around(h, key, d.invokeMs, r.completeMs, [d, r]),
        });
        found = true;
        break;
      }
    }
  }
  return out;
}

const asNumber = (v: Op["result"]): number => (v === null ? 0 : Number(v));

/**
 * Counters exact: acknowledged INCRs return distinct values that grow in
 * real-time order; every read (and the final read) lies between the
 * acknowledged increments before it and all possibly-applied ones.
 * Assumes counters start absent (0) and deltas are positive.
 */
export function checkCounters(h: History): Violation[] {
  const out: Violation[] = [];
  for (const [key, ops] of byKey(h)) {
    if (!ops.some((x) => x.kind === "incr")) continue;
    const acked = ops.filter((x) => x.kind === "incr" && x.outcome === "ok");
    const maybe = ops.filter((x) => x.kind === "incr" && x.outcome !== "fail");
    const report = (message: string, must: Op[]): void => {
      const from = Math.min(...must.map((x) => x.invokeMs));
      const to = Math.max(...must.map((x) => (Number.isFinite(x.completeMs) ? x.completeMs : x.invokeMs)));
      out.push({ checker: "counter", key, message, ops: around(h, key, from, to, must) });
    };
    const byResult = new Map<number, Op>();
    let bad = false;
    for (const a of acked) {
      const prev = byResult.get(asNumber(a.result));
      if (prev) {
        report(`two acknowledged INCRs returned ${asNumber(a.result)}: ${formatOp(prev)} and ${formatOp(a)} (one increment lost or counted twice)`, [prev, a]);
        bad = true;
        break;
      }
      byResult.set(asNumber(a.result), a);
    }
    if (bad) continue;
    const ordered = acked.find((b) => acked.some((a) => a.completeMs < b.invokeMs && asNumber(b.result) <= asNumber(a.result)));
    if (ordered) {
      const a = acked.find((x) => x.completeMs < ordered.invokeMs && asNumber(ordered.result) <= asNumber(x.result))!;
      report(`${formatOp(ordered)} started after ${formatOp(a)} finished but returned no more (an acknowledged increment was lost)`, [a, ordered]);
      continue;
    }
    for (const g of ops) {
      if (g.kind !== "get" || g.outcome !== "ok") continue;
      const v = asNumber(g.result);
      const low = acked.filter((a) => a.completeMs < g.invokeMs).reduce((m, a) => Math.max(m, asNumber(a.result)), 0);
      const high = maybe.filter((a) => a.invokeMs <= g.completeMs).reduce((s, a) => s + asNumber(a.value ?? 1), 0);
      if (v >= low && v <= high) continue;
      const culprit = v < low ? acked.find((a) => a.completeMs < g.invokeMs && asNumber(a.result) === low)! : g;
      report(
        v < low
          ? `${formatOp(g)} read ${v}, but ${formatOp(culprit)} had already returned ${low} (acknowledged increments lost)`
          : `${formatOp(g)} read ${v}, more than the ${high} increments that may have been applied (an increment counted twice)`,
        [culprit, g],
      );
      break;
    }
  }
  return out;
}

/**
 * Locks, per key, over acknowledged grants (the result is the token
 * `fencing:random`):
 * - tokens are unique, and a grant that started after another finished
 *   carries a larger fencing token;
 * - two holders at once (a holder holds from the grant's answer until it
 *   unlocks or its lease, counted from its request and shortened by the
 *   clock slack, runs out) must have tokens in grant order, so a storage
 *   that keeps the largest token it saw rejects the older holder; in
 *   `mutex` mode any overlap is a violation (leases alone, no fencing).
 */
export function checkLocks(h: History, clockSlackMs: number, mode: "fencing" | "mutex" = "fencing"): Violation[] {
  const out: Violation[] = [];
  for (const [key, ops] of byKey(h)) {
    const grants = ops.filter((x) => x.kind === "lock" && x.outcome === "ok" && x.result !== null);
    if (grants.length === 0) continue;
    const fencing = (g: Op): number => Number.parseInt(String(g.result), 10);
    const span = grants.map((g) => {
      const unlock = ops.find((u) => u.kind === "unlock" && u.value === g.result && u.invokeMs >= g.completeMs);
      const leaseEnd = g.invokeMs + Number(g.value) - clockSlackMs;
      return { g, start: g.completeMs, end: Math.min(leaseEnd, unlock ? unlock.invokeMs : leaseEnd), unlock };
    });
    let bad: Violation | undefined;
    for (let i = 0; i < span.length && !bad; i++) {
      for (let j = i + 1; j < span.length && !bad; j++) {
        const a = span[i]!;
        const b = span[j]!;
        const must = [a.g, b.g, ...(a.unlock ? [a.unlock] : []), ...(b.unlock ? [b.unlock] : [])];
        const from = Math.min(a.g.invokeMs, b.g.invokeMs);
        const [first, second] = a.g.completeMs < b.g.invokeMs ? [a.g, b.g] : b.g.completeMs < a.g.invokeMs ? [b.g, a.g] : [null, null];
        if (fencing(a.g) === fencing(b.g)) {
          bad = { checker: "lock", key, message: `two grants with the same fencing token: ${formatOp(a.g)} and ${formatOp(b.g)}`, ops: around(h, key, from, Math.max(a.end, b.end), must) };
        } else if (first && second && fencing(second) <= fencing(first)) {
          bad = {
            checker: "lock",
            key,
            message: `fencing token went backwards: ${formatOp(second)} was granted after ${formatOp(first)} with token ${fencing(second)} <= ${fencing(first)}`,
            ops: around(h, key, first.invokeMs, second.completeMs, must),
          };
        } else if (mode === "mutex" && a.start < a.end && b.start < b.end && a.start < b.end && b.start < a.end) {
          bad = {
            checker: "lock",
            key,
            message: `two holders at once: ${formatOp(a.g)} holds ${a.start}..${a.end} and ${formatOp(b.g)} holds ${b.start}..${b.end}`,
            ops: around(h, key, from, Math.max(a.end, b.end), must),
          };
        }
      }
    }
    if (bad) out.push(bad);
  }
  return out;
}

/**
 * Lock grants whose holders overlapped in time (allowed in `fencing` mode
 * when the tokens tell them apart); for the summary.
 */
export function lockOverlaps(h: History, clockSlackMs: number): number {
  let n = 0;
  for (const [, ops] of byKey(h)) {
    const spans = ops
      .filter((x) => x.kind === "lock" && x.outcome === "ok" && x.result !== null)
      .map((g) => {
        const unlock = ops.find((u) => u.kind === "unlock" && u.value === g.result && u.invokeMs >= g.completeMs);
        const leaseEnd = g.invokeMs + Number(g.value) - clockSlackMs;
        return { start: g.completeMs, end: Math.min(leaseEnd, unlock ? unlock.invokeMs : leaseEnd) };
      })
      .filter((s) => s.start < s.end);
    for (let i = 0; i < spans.length; i++) for (let j = i + 1; j < spans.length; j++) if (spans[i]!.start < spans[j]!.end && spans[j]!.start < spans[i]!.end) n++;
  }
  return n;
}

/**
 * No read of an expired value: after an acknowledged EXPIRE (result 1) with
 * ttl T, a read that starts later than its answer + T + clock slack returns
 * nothing, unless another write on the key (a put, another expire) may have
 * landed after that expire and before the read.
 */
export function checkExpiry(h: History, clockSlackMs: number): Violation[] {
  const out: Violation[] = [];
  for (const [key, ops] of byKey(h)) {
    let found = false;
    for (const e of ops) {
      if (found) break;
      if (e.kind !== "expire" || e.outcome !== "ok" || e.result !== 1) continue;
      const deadline = e.completeMs + Number(e.value) + clockSlackMs;
      for (const r of ops) {
        if (r.kind !== "get" || r.outcome !== "ok" || r.result === null || r.invokeMs <= deadline) continue;
        const touched = ops.some(
          (x) =>
            x !== e &&
            (x.kind === "put" || x.kind === "expire" || x.kind === "delete") &&
            x.outcome !== "fail" &&
            (x.outcome === "unknown" || x.completeMs >= e.invokeMs) &&
            x.invokeMs <= r.completeMs,
        );
        if (touched) continue;
        out.push({
          checker: "expiry",
          key,
          message: `${formatOp(r)} read a value that expired at ${deadline} after ${formatOp(e)}`,
          ops: around(h, key, e.invokeMs, r.completeMs, [e, r]),
        });
        found = true;
        break;
      }
    }
  }
  return out;
}

/**
 * Liveness after the faults stopped: every running node sees exactly the
 * expected members, is ready, and every partition has its full holder list,
 * within the bound.
 */
export function checkLiveness(l: LivenessObservation): Violation[] {
  if (l.convergedAfterMs !== null && l.convergedAfterMs <= l.boundMs) return [];
  const want = [...l.expectedMembers].sort().join(",");
  const problems: string[] = [];
  for (const [n, view] of Object.entries(l.views)) if ([...view].sort().join(",") !== want) problems.push(`${n} sees [${view.join(", ")}]`);
  for (const [n, r] of Object.entries(l.ready)) if (!r) problems.push(`${n} not ready`);
  for (const [n, ps] of Object.entries(l.underReplicated)) if (ps.length > 0) problems.push(`${n}: ${ps.length} partitions with fewer than ${l.replicaCount} holders`);
  return [
    {
      checker: "liveness",
      message: `cluster did not converge within ${l.boundMs} ms after the faults stopped (expected members [${l.expectedMembers.join(", ")}]): ${problems.join("; ") || "unknown"}`,
      ops: [],
    },
  ];
}

/** A violation as a human report: the seed, the checker, what went wrong and the operations on the key. */
export function formatViolation(v: Violation, seed?: number): string {
  const head = `${seed === undefined ? "" : `seed ${seed}: `}[${v.checker}]${v.key === undefined ? "" : ` key ${v.key}`}: ${v.message}`;
  if (v.ops.length === 0) return `${head}\n`;
  return `${head}\n  history on ${v.key}:\n${v.ops.map((o) => `    ${formatOp(o)}`).join("\n")}\n`;
}
