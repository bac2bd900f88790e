/**
 * A whole membership cluster in one process: SimClock + MemoryNetwork +
 * seeded Rngs. Used by the membership tests and for measuring detection time.
 */
import { SeededRng } from "../../../core/clock.ts";
import { Membership, type MembershipEvent } from "../../../core/cluster/membership.ts";
import { MEMBERSHIP_PRESETS, type MembershipPresetName, type MembershipTimings } from "../../../core/cluster/membership-config.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

/** An event as recorded by the harness: when, and on which member. */
export interface RecordedEvent extends MembershipEvent {
  at: number;
  on: string;
}

/** Options for {@link startCluster}. */
export interface SimClusterOptions {
  size: number;
  seed: number;
  preset?: MembershipPresetName;
  timings?: Partial<MembershipTimings>;
  maxPiggyback?: number;
  latencyMs?: number;
  /** If set, members before this index join through member 0 and the rest through this one (two clusters). */
  separateSeeds?: number;
}

/** A running simulated cluster. */
export interface SimCluster {
  clock: SimClock;
  net: MemoryNetwork;
  members: Membership[];
  names: string[];
  events: RecordedEvent[];
  timings: MembershipTimings;
  /** Advances in `stepMs` steps until `done()` or `limitMs` elapses; returns whether `done()` held. */
  runUntil(done: () => boolean, limitMs: number, stepMs?: number): Promise<boolean>;
  /** Whether every running member sees exactly `expected` as live with equal checksums. */
  converged(running: Membership[], expected: string[]): boolean;
}

/** Starts `size` members that all join through the first one. */
export async function startCluster(o: SimClusterOptions): Promise<SimCluster> {
  const clock = new SimClock();
  const net = new MemoryNetwork({ clock, latencyMs: o.latencyMs ?? 1 });
  const timings = { ...MEMBERSHIP_PRESETS[o.preset ?? "lan"], ...o.timings };
  const names = Array.from({ length: o.size }, (_, i) => `10.0.0.${i + 1}:3322`);
  const events: RecordedEvent[] = [];
  const members = names.map((self, i) => {
    const m = new Membership({
      self,
      clock,
      rng: new SeededRng(o.seed * 1000 + i),
      transport: net.transport(),
      timings,
      seeds: [names[o.separateSeeds !== undefined && i >= o.separateSeeds ? o.separateSeeds : 0]!],
      maxPiggyback: o.maxPiggyback,
    });
    m.onEvent((e) => events.push({ ...e, at: clock.monotonic(), on: self }));
    return m;
  });
  const started = Promise.all(members.map((m) => m.start()));
  await clock.advance(50);
  await started;
  const runUntil = async (done: () => boolean, limitMs: number, stepMs = 50) => {
    for (let t = 0; t < limitMs; t += stepMs) {
      if (done()) return true;
      await clock.advance(stepMs);
    }
    return done();
  };
  const converged = (running: Membership[], expected: string[]) => {
    const want = [...expected].sort().join(",");
    const sum = running[0]!.checksum();
    return running.every((m) => m.liveMembers().join(",") === want && m.checksum() === sum);
  };
  return { clock, net, members, names, events, timings, runUntil, converged };
}
