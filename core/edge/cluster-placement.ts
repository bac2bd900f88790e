/**
 * The edge cache in a cluster: a URL's owner is its primary key's partition
 * owner in the node's partition table (the same placement as any key), and
 * edge messages travel on their own channel of the peer transport (shared
 * port, authentication and links; see {@link ClusterNode.serviceChannel}).
 */
import type { ClusterNode } from "../cluster/cluster-node.ts";
import { partitionOf, utf8 } from "../cluster/hash.ts";
import type { Link, Listener, Transport } from "../transport.ts";
import type { EdgeCache } from "./edge-cache.ts";
import { decodeEdgeRequest, decodeEdgeResponse, type EdgePeerRequest, type EdgePeerResponse, encodeEdgePeer } from "./peer.ts";
import type { EdgePlacement } from "./placement.ts";

/** The peer-transport channel of edge messages. */
export const EDGE_CHANNEL = 16;

/** Placement and peer messaging of the edge cache over a {@link ClusterNode}. */
export class ClusterPlacement implements EdgePlacement {
  private readonly channel: Transport;
  private readonly links = new Map<string, Link>();
  private listener: Listener | null = null;

  constructor(private readonly cluster: ClusterNode) {
    this.channel = cluster.serviceChannel(EDGE_CHANNEL);
  }

  ownerOf(key: string): string | null {
    const t = this.cluster.partitions;
    if (t === null) return null;
    const owner = t.owner(partitionOf(utf8(key), t.partitionCount));
    return owner === this.cluster.self ? null : owner;
  }

  others(): string[] {
    return this.cluster.membership.liveMembers().filter((m) => m !== this.cluster.self);
  }

  async ask(member: string, msg: EdgePeerRequest, timeoutMs: number): Promise<EdgePeerResponse> {
    let link = this.links.get(member);
    if (link === undefined) {
      link = this.channel.connect(member, this.cluster.self);
      this.links.set(member, link);
    }
    return decodeEdgeResponse(await link.request(encodeEdgePeer(msg), timeoutMs));
  }

  /** Answers other members' edge messages with `edge`; only members this node knows are served. */
  async serve(edge: EdgeCache): Promise<void> {
    this.listener = await this.channel.listen(this.cluster.self, {
      onRequest: async (from, bytes) => {
        if (this.cluster.membership.member(from) === undefined) return encodeEdgePeer({ t: "error", message: `${from} is not a member here` });
        try {
          return encodeEdgePeer(await edge.serve(decodeEdgeRequest(bytes)));
        } catch (e) {
          return encodeEdgePeer({ t: "error", message: e instanceof Error ? e.message : String(e) });
        }
      },
      onMessage: () => undefined,
    });
  }

  /** Stops serving and closes the links. */
  async close(): Promise<void> {
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.listener?.close();
    this.listener = null;
  }
}
