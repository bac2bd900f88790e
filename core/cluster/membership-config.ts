/**
 * SWIM timing presets and the Lifeguard formulas derived from them. The
 * presets mirror hashicorp/memberlist's DefaultLocalConfig / DefaultLANConfig
 * / DefaultWANConfig (as Olric uses them) and agree with PRESETS in
 * core/config.ts. All durations are milliseconds.
 */

/** Tunables of the membership protocol. */
export interface MembershipTimings {
  /** How often each member probes one other member. */
  probeIntervalMs: number;
  /** How long a direct probe waits for an ack before going indirect. */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly after a failed direct probe. */
  indirectChecks: number;
  /** Suspicion timeout = suspicionMult × max(1, log10 n) × probeInterval (the minimum). */
  suspicionMult: number;
  /** Maximum suspicion timeout as a multiple of the minimum (Lifeguard). */
  suspicionMaxTimeoutMult: number;
  /** Retransmit limit per update = retransmitMult × ⌈log10(n + 1)⌉. */
  retransmitMult: number;
  /** How often queued updates are gossiped. */
  gossipIntervalMs: number;
  /** Members gossiped to per gossip round. */
  gossipNodes: number;
  /** How long dead members still receive gossip, and are kept before being forgotten. */
  gossipToTheDeadMs: number;
  /** How often a full-state push-pull runs with one random member (0 disables). */
  pushPullIntervalMs: number;
  /** Timeout for a push-pull exchange. */
  syncTimeoutMs: number;
}

/** Name of a timing preset. */
export type MembershipPresetName = "local" | "lan" | "wan";

const LAN: MembershipTimings = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  syncTimeoutMs: 10_000,
};

/** memberlist's presets: local (loopback/dev), lan (one datacenter), wan (across datacenters). */
export const MEMBERSHIP_PRESETS: Readonly<Record<MembershipPresetName, Readonly<MembershipTimings>>> = {
  local: {
    ...LAN,
    probeTimeoutMs: 200,
    indirectChecks: 1,
    suspicionMult: 3,
    retransmitMult: 2,
    gossipIntervalMs: 100,
    gossipToTheDeadMs: 15_000,
    pushPullIntervalMs: 15_000,
    syncTimeoutMs: 1000,
  },
  lan: LAN,
  wan: {
    ...LAN,
    probeIntervalMs: 5000,
    probeTimeoutMs: 3000,
    suspicionMult: 6,
    gossipIntervalMs: 500,
    gossipNodes: 4,
    gossipToTheDeadMs: 60_000,
    pushPullIntervalMs: 60_000,
    syncTimeoutMs: 30_000,
  },
};

/** Timings of `preset` with `overrides` applied. */
export function membershipTimings(
  preset: MembershipPresetName,
  overrides: Partial<MembershipTimings> = {},
): MembershipTimings {
  return { ...MEMBERSHIP_PRESETS[preset], ...overrides };
}

/** Minimum suspicion timeout for a cluster of `n` members (memberlist's suspicionTimeout). */
export function suspicionMinTimeout(t: MembershipTimings, n: number): number {
  return t.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * t.probeIntervalMs;
}

/** Lifeguard: independent confirmations that shrink a suspicion to its minimum timeout. */
export function expectedConfirmations(t: MembershipTimings, n: number): number {
  const k = t.suspicionMult - 2;
  return n - 2 < k ? 0 : k;
}

/** How many times one update is piggybacked before it is dropped from the queue. */
export function retransmitLimit(t: MembershipTimings, n: number): number {
  return t.retransmitMult * Math.ceil(Math.log10(n + 1));
}

/**
 * Upper bound on the time from a member's crash to the first "dead"
 * declaration when the other members confirm the suspicion (Lifeguard's
 * minimum timeout applies): a full round-robin cycle worst case before some
 * member probes it (2(n−1)−1 intervals across a reshuffle), one interval of
 * direct + indirect probing, the minimum suspicion timeout, and one gossip
 * round for the confirmations. Without confirmations the timeout can reach
 * suspicionMaxTimeoutMult × the minimum.
 */
export function detectionBound(t: MembershipTimings, n: number): number {
  const firstProbe = (2 * (n - 1) - 1) * t.probeIntervalMs;
  return firstProbe + t.probeIntervalMs + suspicionMinTimeout(t, n) + t.gossipIntervalMs;
}
