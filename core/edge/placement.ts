/**
 * Where edge objects live: which member owns a URL's key, the other members,
 * and how to ask one of them. cluster-placement.ts implements it over a
 * cluster; a single node owns everything.
 */
import type { EdgePeerRequest, EdgePeerResponse } from "./peer.ts";

/** Where keys live: the cluster's placement as the edge sees it. */
export interface EdgePlacement {
  /** The member that owns `key`, or null when this node does (always null on a single node). */
  ownerOf(key: string): string | null;
  /** The other live members (tag purges reach each). */
  others(): string[];
  /** Sends an edge message to `member`; rejects when it cannot be reached in `timeoutMs`. */
  ask(member: string, msg: EdgePeerRequest, timeoutMs: number): Promise<EdgePeerResponse>;
}

/** A single node: it owns every key. */
export const LOCAL_PLACEMENT: EdgePlacement = {
  ownerOf: () => null,
  others: () => [],
  ask: () => Promise.reject(new Error("no cluster")),
};
