/**
 * What the router needs from the cluster layer: who owns what (an
 * {@link OwnerAuthority}), how to reach peers, the quorum settings, and the
 * entry states of this node.
 */
import type { ClusterBugs } from "./bugs.ts";
import type { EntrySync } from "./entry-sync.ts";
import type { OwnerAuthority } from "./ownership.ts";
import type { EntryState, PeerRequest, PeerResponse } from "./peer-protocol.ts";

/** What the router needs from the cluster layer. */
export interface RouterContext extends OwnerAuthority {
  /** This node's member name (its peer address). */
  self: string;
  /**
   * True when the owner claim (contactShortfall) guards only quorum reads
   * and replicated writes, not single-copy ones (gossip mode, where the
   * claim is a heuristic; consensus mode checks every owned command).
   */
  leaseOnQuorumOnly?: boolean;
  /** Alive + suspect members, this one included. */
  liveCount(): number;
  memberCountQuorum: number;
  /** Copies (owner included) that must hold a write before it is acknowledged. */
  writeQuorum: number;
  /** Copies (owner included) consulted on a read (default 1: the owner alone). */
  readQuorum?: number;
  /** `async`: acknowledge after the local write, replicate in the background (default `sync`). */
  replicationMode?: "sync" | "async";
  /** Per-map quorum overrides. */
  mapQuorum?(map: string): { writeQuorum?: number; readQuorum?: number };
  /** Planted bugs (chaos simulator only). */
  bugs?: ClusterBugs;
  /**
   * Who gets MOVED/ASK instead of forwarding: `auto` (default) cluster-aware
   * sessions only, `always` every client (strict Redis Cluster), `never`.
   */
  redirects?: "auto" | "always" | "never";
  /** Runs a command in an internal session of this node as ACL user `user`; `owned`: SCAN/KEYS/DBSIZE see owned keys only. */
  execLocal?(argv: Uint8Array[], proto: number, owned: boolean, user: string): Promise<Uint8Array>;
  /** A member's client address for MOVED/ASK, or null when not known yet (then the command is forwarded). */
  clientAddress?(member: string): { host: string; port: number } | null;
  /** Runs `fn` after the current event-loop turn (Clock.afterTurn); absent: a microtask. */
  afterTurn?(fn: () => void): void;
  /** Sends a data-protocol request to `peer`; rejects on transport failure or timeout. */
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  sync: EntrySync;
  /** Keeps a write for replicas that could not be reached although its quorum was met (hinted handoff). */
  hint?(replicas: readonly string[], entries: readonly EntryState[]): void;
  /**
   * For a partition this node has just become the owner of and not yet
   * pulled: the members that held it before (to fetch keys from before
   * serving them); undefined once caught up.
   */
  catchingUp?(p: number): readonly string[] | undefined;
  /**
   * Told of a key none of the {@link catchingUp} sources holds in any form
   * (value or tombstone): a node restarted from its snapshot drops its copy
   * if it is still the snapshot's (the cluster forgot the key meanwhile).
   */
  forgotten?(map: string, key: Uint8Array): void;
}
