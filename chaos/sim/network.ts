/**
 * The simulated network: a {@link MemoryNetwork} on the simulated clock with
 * two {@link FaultyTransport}s over it — a "stream" one for the data
 * protocol's requests (channel 2 of the TransportMux: exec, apply, pull) and
 * a "datagram" one for membership traffic (channel 1: SWIM pings, push-pull)
 * and every one-way message (gossip). Duplication is applied to datagrams
 * only: SWIM runs over UDP in memberlist and must tolerate it, while the
 * data protocol runs over TCP/TLS/QUIC streams that never hand a request to
 * the application twice — and its `exec` (INCR, SET) is not idempotent, so a
 * duplicated data request would model a fault production cannot have.
 * Every other fault (drop, delay, reorder, corruption, partitions) hits both.
 *
 * Blocks (partitions, paused nodes) are kept here per owner so overlapping
 * faults heal independently.
 */
import type { Rng } from "../../core/clock.ts";
import type { SimClock } from "../../core/cluster/sim-clock.ts";
import type { Link, Listener, PeerHandler, Transport } from "../../core/transport.ts";
import { type FaultRule, type FaultStats, FaultyTransport } from "../../transports/faulty.ts";
import { MemoryNetwork } from "../../transports/memory.ts";

/** TransportMux tag of the membership channel (core/cluster/cluster-node.ts). */
const MEMBERSHIP_CHANNEL = 1;

/** The simulated network of one run. */
export class SimNetwork {
  readonly memory: MemoryNetwork;
  private readonly req: FaultyTransport;
  private readonly oneWay: FaultyTransport;
  private readonly blocks = new Map<number, [from: string, to: string][]>();
  private readonly rules = new Map<number, (() => void)[]>();

  constructor(clock: SimClock, rng: Rng, latencyMs = 1) {
    this.memory = new MemoryNetwork({ clock, latencyMs, requestTimeoutMs: 1000 });
    this.req = new FaultyTransport(this.memory.transport(), { clock, rng });
    this.oneWay = new FaultyTransport(this.memory.transport(), { clock, rng });
  }

  /** The transport a node uses. */
  transport(): Transport {
    const { req, oneWay } = this;
    return {
      name: "sim",
      listen: (address: string, handler: PeerHandler): Promise<Listener> => req.listen(address, handler),
      connect: (address: string, local: string): Link => {
        const a = req.connect(address, local);
        const b = oneWay.connect(address, local);
        return {
          request: (p, t) => (p[0] === MEMBERSHIP_CHANNEL ? b.request(p, t) : a.request(p, t)),
          send: (p) => b.send(p),
          close: () => {
            a.close();
            b.close();
          },
        };
      },
    };
  }

  /** Adds a link rule under fault `id` (duplication only on one-way messages). */
  addRule(id: number, rule: FaultRule): void {
    const list = this.rules.get(id) ?? [];
    const { duplicate, ...rest } = rule;
    list.push(this.req.addRule(rest), this.oneWay.addRule(rule));
    this.rules.set(id, list);
    void duplicate;
  }

  /** Blocks traffic from → to under fault `id`. */
  block(id: number, from: string, to: string): void {
    const list = this.blocks.get(id) ?? [];
    list.push([from, to]);
    this.blocks.set(id, list);
    this.req.partition(from, to, true);
    this.oneWay.partition(from, to, true);
  }

  /** Removes every rule and block of fault `id`. */
  clear(id: number): void {
    for (const remove of this.rules.get(id) ?? []) remove();
    this.rules.delete(id);
    if (!this.blocks.delete(id)) return;
    this.req.heal();
    this.oneWay.heal();
    for (const list of this.blocks.values()) {
      for (const [from, to] of list) {
        this.req.partition(from, to, true);
        this.oneWay.partition(from, to, true);
      }
    }
  }

  /** Removes every fault. */
  clearAll(): void {
    for (const id of [...new Set([...this.rules.keys(), ...this.blocks.keys()])]) this.clear(id);
  }

  /** Fault counters of both transports added up. */
  stats(): FaultStats {
    const a = this.req.stats;
    const b = this.oneWay.stats;
    const out = { ...a };
    for (const k of Object.keys(out) as (keyof FaultStats)[]) out[k] = a[k] + b[k];
    return out;
  }
}
