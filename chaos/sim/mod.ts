/**
 * Many seeds in a row (`shoal chaos --sim --seeds K`) and their summary:
 * seeds run, faults injected by kind, operations by outcome, violations
 * (the first few reported in full), seeds per second.
 */
import { formatViolation, type Violation } from "../checkers.ts";
import type { DeadVerdicts } from "./cluster.ts";
import { FAULT_KINDS, type FaultKind, type LinkSeverity } from "./nemesis.ts";
import { runSimSeed, type SeedReport, type SimOptions } from "./run.ts";

export type { DeadVerdicts } from "./cluster.ts";
export { FAULT_KINDS, type FaultKind, type LinkSeverity } from "./nemesis.ts";
export { runSimSeed, type SeedReport, type SimOptions } from "./run.ts";

/** A named fault mix: the kinds drawn and how hard link faults hit. */
export interface FaultProfile {
  kinds: readonly FaultKind[];
  linkSeverity: LinkSeverity;
}

/**
 * Fault profiles for `--faults`.
 * - `default`: every fault kind — drop, delay, reorder and corrupt at `mild`
 *   strength, duplication, partitions (both ways and one-way), crash and
 *   restart, pause, clock skew and jumps, timer stalls, graceful leave and
 *   rejoin. 1000 seeds pass with 0 violations (CHAOS.md, measured results).
 * - `mild-no-pause`: the default profile before pause and partition joined
 *   it (the regression seeds of CHAOS.md F6-F8 were found with it).
 * - `failover`: faults that move partition ownership (crash, pause, harsh
 *   drop, partition) — what ack-before-replicate and no-read-repair need.
 * - `all`: every fault kind, harsh link faults (drop up to 30%, delay up to
 *   100 ms): 1 of seeds 1-500 still fails (CHAOS.md F9).
 * A comma list of kinds uses harsh link faults unless `--link-faults mild`.
 */
export const FAULT_PROFILES: Readonly<Record<string, FaultProfile>> = {
  default: { kinds: FAULT_KINDS, linkSeverity: "mild" },
  "mild-no-pause": {
    kinds: ["drop", "delay", "reorder", "corrupt", "duplicate", "skew", "jump", "stall", "one-way", "crash", "join-leave"],
    linkSeverity: "mild",
  },
  failover: { kinds: ["crash", "pause", "drop", "partition"], linkSeverity: "harsh" },
  all: { kinds: FAULT_KINDS, linkSeverity: "harsh" },
  none: { kinds: [], linkSeverity: "mild" },
};

/** Parses `--faults`: a profile name or a comma list of kinds; throws with the valid names. */
export function parseFaults(spec: string): FaultProfile {
  const profile = FAULT_PROFILES[spec];
  if (profile) return profile;
  const kinds = spec.split(",").map((s) => s.trim());
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) {
      throw new Error(`unknown fault "${k}" (profiles: ${Object.keys(FAULT_PROFILES).join(", ")}; kinds: ${FAULT_KINDS.join(", ")})`);
    }
  }
  return { kinds: kinds as FaultKind[], linkSeverity: "harsh" };
}

/** Totals over a batch of seeds. */
export interface SimSummary {
  seedsRun: number;
  firstSeed: number;
  faults: Record<FaultKind, number>;
  /** Messages dropped/blocked/delayed/duplicated/reordered/corrupted and corruptions rejected. */
  network: Record<string, number>;
  operations: number;
  outcomes: { ok: number; fail: number; unknown: number };
  /** Seeds with at least one violation. */
  failedSeeds: number[];
  /** Violations per checker. */
  violationsByChecker: Record<string, number>;
  /** The first violations found, with their seeds. */
  firstViolations: { seed: number; violation: Violation }[];
  /** Keys whose linearizability search ran out of budget (not counted as violations). */
  inconclusive: number;
  /** Lock holders that overlapped in time but were told apart by fencing tokens (not violations). */
  lockOverlaps: number;
  /** Slowest convergence after the faults stopped, simulated ms. */
  maxConvergenceMs: number;
  /** "Dead" verdicts (one per member that declared one), by what the member was: running ones are false positives. */
  deadVerdicts: DeadVerdicts;
  simulatedMs: number;
  wallMs: number;
  seedsPerSecond: number;
}

/** Options of a batch. */
export interface BatchOptions extends Omit<SimOptions, "seed"> {
  firstSeed: number;
  seeds: number;
  /** Stop at the first failing seed. */
  stopOnFailure?: boolean;
  /** Wall-clock ms source for seeds/s (injected: chaos/ reads no clock itself). */
  wallClock?: () => number;
  /** Called after each seed. */
  onSeed?: (r: SeedReport, done: number, summary: SimSummary) => void;
}

/** Runs seeds firstSeed … firstSeed+seeds−1. */
export async function runSeeds(o: BatchOptions): Promise<SimSummary> {
  const wall = o.wallClock ?? (() => 0);
  const started = wall();
  const s: SimSummary = {
    seedsRun: 0,
    firstSeed: o.firstSeed,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    network: {},
    operations: 0,
    outcomes: { ok: 0, fail: 0, unknown: 0 },
    failedSeeds: [],
    violationsByChecker: {},
    firstViolations: [],
    inconclusive: 0,
    lockOverlaps: 0,
    maxConvergenceMs: 0,
    deadVerdicts: { down: 0, paused: 0, running: 0 },
    simulatedMs: 0,
    wallMs: 0,
    seedsPerSecond: 0,
  };
  for (let i = 0; i < o.seeds; i++) {
    const seed = (o.firstSeed + i) >>> 0;
    const r = await runSimSeed({ ...o, seed });
    s.seedsRun++;
    for (const k of FAULT_KINDS) s.faults[k] += r.faults[k];
    for (const [k, v] of Object.entries(r.network)) s.network[k] = (s.network[k] ?? 0) + v;
    s.operations += r.operations;
    s.outcomes.ok += r.outcomes.ok;
    s.outcomes.fail += r.outcomes.fail;
    s.outcomes.unknown += r.outcomes.unknown;
    s.inconclusive += r.inconclusive.length;
    s.lockOverlaps += r.lockOverlaps;
    s.simulatedMs += r.simulatedMs;
    s.deadVerdicts.down += r.deadVerdicts.down;
    s.deadVerdicts.paused += r.deadVerdicts.paused;
    s.deadVerdicts.running += r.deadVerdicts.running;
    if (r.liveness.convergedAfterMs !== null) s.maxConvergenceMs = Math.max(s.maxConvergenceMs, r.liveness.convergedAfterMs);
    if (r.violations.length > 0) {
      s.failedSeeds.push(seed);
      for (const v of r.violations) {
        s.violationsByChecker[v.checker] = (s.violationsByChecker[v.checker] ?? 0) + 1;
        if (s.firstViolations.length < 5) s.firstViolations.push({ seed, violation: v });
      }
    }
    s.wallMs = wall() - started;
    s.seedsPerSecond = s.wallMs > 0 ? (s.seedsRun * 1000) / s.wallMs : 0;
    o.onSeed?.(r, i + 1, s);
    if (o.stopOnFailure && r.violations.length > 0) break;
  }
  return s;
}

/**
 * The failure detector's verdicts: how many "dead" declarations were about
 * members that were really down, paused, or running (false positives), and
 * the false-positive rate (running / all, and per simulated hour).
 */
export function formatVerdicts(v: DeadVerdicts, simulatedMs: number): string {
  const all = v.down + v.paused + v.running;
  const rate = all === 0 ? "0%" : `${((100 * v.running) / all).toFixed(1)}%`;
  const perHour = simulatedMs > 0 ? ((v.running * 3_600_000) / simulatedMs).toFixed(1) : "0";
  return `${all} (down ${v.down}, paused ${v.paused}, running ${v.running}: false positives ${rate} of verdicts, ${perHour} per simulated hour)`;
}

/** The human summary: a table of faults, operations and violations, then the first violations in full. */
export function formatSummary(s: SimSummary): string {
  const rows: [string, string][] = [
    ["seeds run", `${s.seedsRun} (${s.firstSeed}..${s.firstSeed + s.seedsRun - 1})`],
    ["seeds/s", s.seedsPerSecond.toFixed(2)],
    ["simulated time", `${(s.simulatedMs / 1000).toFixed(0)} s`],
    ["operations", `${s.operations} (ok ${s.outcomes.ok}, fail ${s.outcomes.fail}, unknown ${s.outcomes.unknown})`],
  ];
  for (const k of FAULT_KINDS) if (s.faults[k] > 0) rows.push([`faults: ${k}`, String(s.faults[k])]);
  for (const k of ["dropped", "blocked", "delayed", "duplicated", "reordered", "corrupted", "rejected"]) {
    if ((s.network[k] ?? 0) > 0) rows.push([`messages ${k}`, String(s.network[k])]);
  }
  rows.push(["slowest convergence", `${s.maxConvergenceMs} ms (simulated, after faults stopped)`]);
  rows.push(["dead verdicts", formatVerdicts(s.deadVerdicts, s.simulatedMs)]);
  if (s.inconclusive > 0) rows.push(["inconclusive keys", String(s.inconclusive)]);
  if (s.lockOverlaps > 0) rows.push(["lock overlaps", `${s.lockOverlaps} (holders told apart by fencing tokens)`]);
  const byChecker = Object.entries(s.violationsByChecker)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  rows.push(["violations", s.failedSeeds.length === 0 ? "0" : `${s.failedSeeds.length} seeds (${byChecker})`]);
  if (s.failedSeeds.length > 0) rows.push(["failing seeds", s.failedSeeds.slice(0, 20).join(" ") + (s.failedSeeds.length > 20 ? " …" : "")]);
  const w = Math.max(...rows.map(([k]) => k.length));
  let out = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n";
  for (const { seed, violation } of s.firstViolations) out += `\n${formatViolation(violation, seed)}`;
  return out;
}
