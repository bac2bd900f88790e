/**
 * The receiving side of the data protocol (peer-protocol.ts): runs a
 * forwarded command (`exec`), takes replicated entry states (`apply`),
 * answers quorum reads (`fetch`) and pulls (`pull`), and tells its client
 * address (`hello`). Quorum traffic and pulls marked strict are first put
 * to the {@link QuorumGate}.
 */
import type { EntrySync } from "./entry-sync.ts";
import type { Membership } from "./membership.ts";
import type { QuorumGate } from "./ownership.ts";
import { decodeRequest, type EntryState, encodePeer, type PeerRequest, type PeerResponse, type PullCursor } from "./peer-protocol.ts";
import { type ClientAddress, splitAddress } from "./redis-cluster.ts";

function firstRefusal(entries: readonly EntryState[], sync: EntrySync): string | null {
  for (const e of entries) {
    const r = sync.refusal(e);
    if (r !== null) return r;
  }
  return null;
}

/** What the server needs from the cluster layer. */
export interface PeerServerContext {
  self: string;
  gate: QuorumGate;
  sync: EntrySync;
  membership: Membership;
  clientAddress?: ClientAddress;
  /**
   * False while this node, restarted from its snapshot, is still catching
   * up: it answers no pull, fetch or range then (its copy may hold keys the
   * cluster has forgotten; they must not spread before it has dropped them).
   */
  serving?(): boolean;
  /** Finer digests and the entries of key-hash buckets (buckets.ts), flat buckets in. */
  buckets?: { digests(flat: number[]): Promise<PeerResponse>; entries(flat: number[]): Promise<PeerResponse> };
  /** One page of this node's entries in `partitions` after `after`. */
  page(partitions: number[], after: PullCursor | null): PeerResponse;
  /** Anti-entropy's questions (digests, ranges, forgetting confirmed tombstones). */
  repair: {
    digest(partitions: number[], before?: number): Promise<PeerResponse>;
    range(ranges: number[], values: boolean, before?: number): Promise<PeerResponse>;
    forget(entries: EntryState[]): PeerResponse;
  };
  /** Runs a forwarded command here as ACL user `user`; resolves with its reply bytes. */
  exec(argv: Uint8Array[], proto: number, hops: number, owned: boolean, user: string | undefined): Promise<Uint8Array>;
}

/** Answers one data-protocol request (bytes in, bytes out). */
export class PeerServer {
  constructor(private readonly c: PeerServerContext) {}

  async onRequest(bytes: Uint8Array): Promise<Uint8Array> {
    let req: PeerRequest;
    try {
      req = decodeRequest(bytes);
    } catch (e) {
      return encodePeer({ t: "error", message: e instanceof Error ? e.message : String(e) });
    }
    const c = this.c;
    if ((req.t === "pull" || req.t === "fetch" || req.t === "range" || req.t === "bucketEntries") && c.serving?.() === false) {
      return encodePeer({ t: "error", message: "restarted from a snapshot and still catching up; ask again shortly" });
    }
    if (req.t === "pull") {
      const refused = req.strict ? c.gate.refusePull(req.from, req.partitions, req.asOwner === true) : null;
      if (refused) return encodePeer({ t: "error", message: refused });
      return encodePeer(c.page(req.partitions, req.after));
    }
    if (req.t === "hello") {
      const a = c.clientAddress ?? { host: splitAddress(c.self).host, port: 0 };
      return encodePeer({ t: "hello", host: a.host, port: a.port });
    }
    if (req.t === "fetch") {
      const refused = req.strict ? c.gate.refuseQuorum(req.from, req.keys, req.view) : null;
      if (refused) return encodePeer({ t: "error", message: refused });
      const entries = req.keys.map((k) => c.sync.current(k.map, k.key));
      return encodePeer(req.strict && this.suspects(req.from) ? { t: "entries", entries, next: null, suspect: true } : { t: "entries", entries, next: null });
    }
    if (req.t === "apply") {
      const refused = req.strict ? c.gate.refuseQuorum(req.from, req.entries, req.view) : null;
      if (refused) return encodePeer({ t: "error", message: refused });
      // a client write's replication is taken whole or not at all: a version from a clock that ran ahead is refused
      // (the owner then counts no ack from here), not applied and acknowledged
      const drift = req.strict ? firstRefusal(req.entries, c.sync) : null;
      if (drift) return encodePeer({ t: "error", message: drift });
      const taken = c.sync.applyAll(req.entries);
      return encodePeer(req.strict && this.suspects(req.from) ? { t: "applied", taken, suspect: true } : { t: "applied", taken });
    }
    if (req.t === "undo") {
      let taken = 0;
      for (let i = 0; i < req.entries.length; i++) if (c.sync.restore(req.entries[i]!, req.versions[i]!)) taken++;
      return encodePeer({ t: "applied", taken });
    }
    if (req.t === "buckets" || req.t === "bucketEntries") {
      if (!c.buckets) return encodePeer({ t: "error", message: "bucket digests not served here" });
      return encodePeer(await (req.t === "buckets" ? c.buckets.digests(req.buckets) : c.buckets.entries(req.buckets)));
    }
    if (req.t === "digest") {
      const refused = req.strict ? c.gate.refusePull(req.from, req.partitions, false) : null;
      if (refused) return encodePeer({ t: "error", message: refused });
      return encodePeer(await c.repair.digest(req.partitions, req.before));
    }
    if (req.t === "range") return encodePeer(await c.repair.range(req.ranges, req.values, req.before));
    if (req.t === "forget") return encodePeer(c.repair.forget(req.entries));
    return encodePeer({ t: "reply", resp: await c.exec(req.args, req.proto, req.hops, req.owned === true, req.user) });
  }

  /** Whether this node holds `member` suspect (or worse): the member's owner lease must not count this answer. */
  private suspects(member: string | undefined): boolean {
    return member !== undefined && this.c.membership.member(member)?.status !== "alive";
  }
}
