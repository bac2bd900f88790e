/**
 * The Redis Cluster face of a shoal cluster: node IDs, slot ranges per
 * member, client addresses, and the CLUSTER INFO fields, so cluster-aware
 * clients (ioredis Cluster, redis-cli -c, redis-benchmark --cluster) and
 * `redis-cli --cluster check` can use shoal as a Redis Cluster.
 *
 * Mapping: partition p is the slot range {@link slotRange}(p); a member
 * owns the slots of the partitions it owns. Partition replicas are not
 * whole-node replicas, so every member is shown as a master (Redis Cluster
 * has no way to say "replica of some slots"). A member's client address is
 * the host of its member name and the RESP port it announced (`hello` on the
 * data protocol, cached); config epochs are the 1-based rank of the member
 * name, the same on every node.
 */

import { splitHostPort } from "../net-address.ts";
import type { ClusterInfo, ClusterNodeView } from "../node.ts";
import { hash64, SLOT_COUNT, slotRange, utf8 } from "./hash.ts";
import type { MemberInfo } from "./member-table.ts";
import type { PartitionTable } from "./partition-table.ts";

/** A member's client (RESP) address. */
export interface ClientAddress {
  host: string;
  port: number;
}

/** What the face needs from the cluster layer. */
export interface RedisClusterContext {
  self: string;
  table(): PartitionTable | null;
  members(): MemberInfo[];
  /** This node's table epoch. */
  epoch(): number;
  liveCount(): number;
  memberCountQuorum: number;
  /** Asks `member` for its client address (data protocol `hello`). */
  hello(member: string): Promise<ClientAddress>;
  selfAddress: ClientAddress | null;
}

/** 40 hex characters derived from a member name (Redis node IDs are 160-bit hex). */
export function nodeIdOf(name: string): string {
  let out = "";
  for (let i = 0; out.length < 40; i++) {
    const h = hash64(utf8(`${name}#id${i}`));
    out += h.hi.toString(16).padStart(8, "0") + h.lo.toString(16).padStart(8, "0");
  }
  return out.slice(0, 40);
}

/** Host and port of a `host:port` member name (IPv6 in brackets; the host comes back without them); a name that is not an address gives port 0. */
export function splitAddress(name: string): { host: string; port: number } {
  try {
    return splitHostPort(name);
  } catch {
    return { host: name, port: 0 };
  }
}

/** Slot ranges [first, last] of the partitions `member` owns, adjacent ranges merged. */
export function slotsOwnedBy(table: PartitionTable, member: string): [number, number][] {
  const out: [number, number][] = [];
  for (let p = 0; p < table.partitionCount; p++) {
    if (table.owner(p) !== member) continue;
    const [a, b] = slotRange(p, table.partitionCount);
    if (a > b) continue;
    const last = out.at(-1);
    if (last && last[1] + 1 === a) last[1] = b;
    else out.push([a, b]);
  }
  return out;
}

/** {@link ClusterInfo} over a running cluster node. */
export class RedisClusterFace implements ClusterInfo {
  private readonly addresses = new Map<string, ClientAddress>();
  private readonly asking = new Map<string, Promise<void>>();

  constructor(private readonly c: RedisClusterContext) {
    if (c.selfAddress) this.addresses.set(c.self, c.selfAddress);
  }

  myId(): string {
    return nodeIdOf(this.c.self);
  }

  /** The cached client address of `member`, or null (and a lookup is started). */
  addressOf(member: string): ClientAddress | null {
    const a = this.addresses.get(member);
    if (a) return a;
    void this.learn(member);
    return null;
  }

  /** Looks up the client address of `member` once at a time; failures are retried on the next call. */
  learn(member: string): Promise<void> {
    let p = this.asking.get(member);
    if (!p) {
      p = this.c.hello(member).then(
        (a) => {
          this.addresses.set(member, a);
          this.asking.delete(member);
        },
        () => {
          this.asking.delete(member);
        },
      );
      this.asking.set(member, p);
    }
    return p;
  }

  async topology(): Promise<ClusterNodeView[]> {
    const table = this.c.table();
    const members = this.c.members().filter((m) => m.status !== "left");
    await Promise.all(members.filter((m) => m.status === "alive" && !this.addresses.has(m.name)).map((m) => this.learn(m.name)));
    const ranks = [...members.map((m) => m.name)].sort();
    return members.map((m) => {
      const peer = splitAddress(m.name);
      const addr = this.addresses.get(m.name);
      const flags = m.name === this.c.self ? ["myself", "master"] : ["master"];
      if (m.status === "suspect") flags.push("fail?");
      if (m.status === "dead") flags.push("fail");
      return {
        id: nodeIdOf(m.name),
        name: m.name,
        host: addr?.host ?? peer.host,
        port: addr?.port ?? 0,
        cport: peer.port,
        flags,
        configEpoch: ranks.indexOf(m.name) + 1,
        connected: m.status === "alive" || m.name === this.c.self,
        slots: table && (m.status === "alive" || m.status === "suspect") ? slotsOwnedBy(table, m.name) : [],
      };
    });
  }

  info(): Record<string, string | number> {
    const table = this.c.table();
    const members = this.c.members().filter((m) => m.status !== "left");
    const ok = table !== null && this.c.liveCount() >= this.c.memberCountQuorum;
    const owners = table ? new Set(table.members.filter((m) => slotsOwnedBy(table, m).length > 0)).size : 0;
    const dead = members.filter((m) => m.status === "dead").length;
    const suspect = members.filter((m) => m.status === "suspect").length;
    return {
      cluster_state: ok ? "ok" : "fail",
      cluster_slots_assigned: table ? SLOT_COUNT : 0,
      cluster_slots_ok: ok ? SLOT_COUNT : 0,
      cluster_slots_pfail: 0,
      cluster_slots_fail: ok ? 0 : SLOT_COUNT,
      cluster_known_nodes: members.length,
      cluster_size: owners,
      cluster_current_epoch: members.length,
      cluster_my_epoch: [...members.map((m) => m.name)].sort().indexOf(this.c.self) + 1,
      shoal_partition_count: table?.partitionCount ?? 0,
      shoal_table_epoch: this.c.epoch(),
      shoal_suspect_nodes: suspect,
      shoal_dead_nodes: dead,
    };
  }
}
