/**
 * Runtime-neutral cluster building blocks: hybrid logical clock, placement
 * hashes, the partition table, and SWIM membership. Everything takes its
 * Clock, Rng and Transport by injection; {@link SimClock} drives them in
 * tests and in the simulator.
 */

export { ClusterNode, type ClusterNodeOptions } from "./cluster-node.ts";
export { EntrySync, type EntrySyncOptions } from "./entry-sync.ts";
export { crc16, fnv1a64, type Hash64, hash64, keySlot, partitionOf, SLOT_COUNT, utf8 } from "./hash.ts";
export { ClockDriftError, encodeVersion, HybridClock, type HybridClockOptions, logicalOf, physicalOf } from "./hlc.ts";
export type { MemberInfo } from "./member-table.ts";
export {
  Membership,
  type MembershipEvent,
  type MembershipEventType,
  type MembershipOptions,
  type MembershipStats,
} from "./membership.ts";
export {
  detectionBound,
  MEMBERSHIP_PRESETS,
  type MembershipPresetName,
  type MembershipTimings,
  membershipTimings,
  suspicionMinTimeout,
} from "./membership-config.ts";
export type { MemberStatus } from "./membership-wire.ts";
export { type PartitionBalance, PartitionTable, type PartitionTableOptions } from "./partition-table.ts";
export type { EntryState, PeerRequest, PeerResponse, PullCursor } from "./peer-protocol.ts";
export { ClusterRouter, type RouterContext, type RouterStats } from "./router.ts";
export { SimClock } from "./sim-clock.ts";
export { TransportMux } from "./transport-mux.ts";
