/**
 * This node's side of the data protocol: one link per peer on the data
 * channel, requests with the configured timeout. A transport failure makes
 * membership probe the peer at once; quorum traffic a peer took with the
 * same member list and no suspicion of this node counts as contact for the
 * owner lease.
 */
import type { Clock } from "../clock.ts";
import type { Link, Transport } from "../transport.ts";
import type { Membership } from "./membership.ts";
import { decodeResponse, encodePeer, type PeerRequest, type PeerResponse } from "./peer-protocol.ts";

/** Options for {@link PeerClient}. */
export interface PeerClientOptions {
  self: string;
  /** The data channel of the shared transport. */
  data: Transport;
  clock: Clock;
  membership: Membership;
  /** Timeout of one request, ms. */
  timeoutMs: number;
  /** Planted bug (simulator only): count answers from replicas that suspect this node. */
  leaseCountsSuspects?: boolean;
}

/** Sends data-protocol requests to peers. */
export class PeerClient {
  private readonly links = new Map<string, Link>();

  constructor(private readonly o: PeerClientOptions) {}

  /** One data-protocol request; rejects on transport failure or timeout. */
  async request(peer: string, msg: PeerRequest): Promise<PeerResponse> {
    const o = this.o;
    const sentAt = o.clock.monotonic();
    try {
      const res = decodeResponse(await this.link(peer).request(encodePeer(msg), o.timeoutMs));
      // quorum traffic the peer took with the same member list and no suspicion of this node: it held this node
      // alive when it answered, so it cannot remove it before a whole suspicion timeout from then
      if ((msg.t === "apply" || msg.t === "fetch") && msg.view !== undefined && (res.t === "applied" || res.t === "entries") && (res.suspect !== true || o.leaseCountsSuspects)) {
        o.membership.noteAnswer(peer, sentAt);
      }
      return res;
    } catch (e) {
      o.membership.probeNow(peer);
      throw e;
    }
  }

  /** Closes every link. */
  close(): void {
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  private link(peer: string): Link {
    let l = this.links.get(peer);
    if (!l) {
      l = this.o.data.connect(peer, this.o.self);
      this.links.set(peer, l);
    }
    return l;
  }
}
