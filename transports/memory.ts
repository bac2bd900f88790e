/**
 * In-process peer transport: a {@link MemoryNetwork} of named addresses.
 * Delivery is always asynchronous — through the injected Clock's timers when
 * one is given (so a simulated clock drives the whole network
 * deterministically), otherwise through the microtask queue. Requests to an
 * address nobody listens on reject with TransportError("unreachable"), like
 * a refused TCP connection; a {@link MemoryNetwork.setFilter} rule drops
 * traffic silently, like a lost packet or a paused process, so requests time
 * out instead.
 */
import { type Clock, systemClock } from "../core/clock.ts";
import type { Link, Listener, PeerHandler, Transport } from "../core/transport.ts";
import { TransportError } from "../core/transport.ts";

/** Decides whether one message from `from` to `to` is delivered (true) or dropped (false). */
export type DeliveryFilter = (from: string, to: string) => boolean;

/** Options for {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Drives delivery and timeouts. Without it delivery uses microtasks and timeouts use the system clock. */
  clock?: Clock;
  /** One-way latency per hop in ms when a clock is given (default 0). */
  latencyMs?: number;
  /** Default request timeout in ms (default 5000). */
  requestTimeoutMs?: number;
}

/** Traffic counters. */
export interface MemoryNetworkStats {
  delivered: number;
  dropped: number;
  unreachable: number;
}

interface Endpoint {
  handler: PeerHandler;
  /** Rejecters of requests this endpoint is currently handling. */
  inflight: Set<(e: TransportError) => void>;
}

/** A shared in-process network; make one per simulated cluster. */
export class MemoryNetwork {
  private readonly endpoints = new Map<string, Endpoint>();
  private filter: DeliveryFilter | undefined;
  readonly stats: MemoryNetworkStats = { delivered: 0, dropped: 0, unreachable: 0 };
  readonly timerClock: Clock;
  readonly requestTimeoutMs: number;

  constructor(private readonly options: MemoryNetworkOptions = {}) {
    this.timerClock = options.clock ?? systemClock;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  }

  /** A transport attached to this network (cheap; any number may share it). */
  transport(): MemoryTransport {
    return new MemoryTransport(this);
  }

  /** Installs (or with `undefined` removes) a rule that silently drops traffic. */
  setFilter(filter: DeliveryFilter | undefined): void {
    this.filter = filter;
  }

  /** Whether someone listens on `address`. */
  isListening(address: string): boolean {
    return this.endpoints.has(address);
  }

  /** @internal Registers a listener; throws "refused" if the address is taken. */
  bind(address: string, handler: PeerHandler): Listener {
    if (this.endpoints.has(address)) throw new TransportError(`memory address ${address} is already in use`, "refused");
    const endpoint: Endpoint = { handler, inflight: new Set() };
    this.endpoints.set(address, endpoint);
    return {
      address,
      close: async () => {
        if (this.endpoints.get(address) !== endpoint) return;
        this.endpoints.delete(address);
        const err = new TransportError(`peer ${address} closed`, "closed");
        for (const reject of [...endpoint.inflight]) reject(err);
      },
    };
  }

  /** @internal Runs `fn` asynchronously, after the hop latency. */
  schedule(fn: () => void): void {
    if (this.options.clock) this.options.clock.setTimer(this.options.latencyMs ?? 0, fn);
    else queueMicrotask(fn);
  }

  /** @internal Whether a hop passes the filter; counts drops. */
  passes(from: string, to: string): boolean {
    if (!this.filter || this.filter(from, to)) return true;
    this.stats.dropped++;
    return false;
  }

  /** @internal The endpoint listening on `address`, if any. */
  endpoint(address: string): Endpoint | undefined {
    return this.endpoints.get(address);
  }
}

/** A {@link Transport} over a {@link MemoryNetwork}. */
export class MemoryTransport implements Transport {
  readonly name = "memory";

  constructor(readonly network: MemoryNetwork = new MemoryNetwork()) {}

  async listen(address: string, handler: PeerHandler): Promise<Listener> {
    return this.network.bind(address, handler);
  }

  connect(address: string, localAddress: string): Link {
    return new MemoryLink(this.network, address, localAddress);
  }
}

class MemoryLink implements Link {
  private closed = false;
  private readonly waiting = new Set<(e: TransportError) => void>();

  constructor(
    private readonly net: MemoryNetwork,
    private readonly to: string,
    private readonly from: string,
  ) {}

  request(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError(`link to ${this.to} is closed`, "closed"));
    const ms = timeoutMs ?? this.net.requestTimeoutMs;
    const bytes = payload.slice();
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      let endpoint: Endpoint | undefined;
      const finish = (err: TransportError | undefined, value?: Uint8Array) => {
        if (done) return;
        done = true;
        timer.cancel();
        this.waiting.delete(fail);
        endpoint?.inflight.delete(fail);
        if (err) reject(err);
        else resolve(value!);
      };
      const fail = (e: TransportError) => finish(e);
      const timer = this.net.timerClock.setTimer(ms, () =>
        fail(new TransportError(`request to ${this.to} timed out after ${ms} ms`, "timeout")),
      );
      this.waiting.add(fail);
      if (!this.net.passes(this.from, this.to)) return; // lost: the timer fires
      this.net.schedule(() => {
        if (done) return;
        endpoint = this.net.endpoint(this.to);
        if (!endpoint) {
          this.net.stats.unreachable++;
          fail(new TransportError(`cannot reach peer ${this.to}: nothing listens there`, "unreachable"));
          return;
        }
        this.net.stats.delivered++;
        endpoint.inflight.add(fail);
        const target = endpoint;
        Promise.resolve()
          .then(() => target.handler.onRequest(this.from, bytes))
          .then(
            (reply) => this.respond(target, () => finish(undefined, reply.slice())),
            (cause: unknown) =>
              this.respond(target, () =>
                fail(new TransportError(`peer ${this.to} failed the request: ${String(cause)}`, "refused", { cause })),
              ),
          );
      });
    });
  }

  /** Carries a response back over the network (filtered, delayed) unless the peer closed meanwhile. */
  private respond(endpoint: Endpoint, deliver: () => void): void {
    if (this.net.endpoint(this.to) !== endpoint) return; // listener closed: caller already got "closed"
    if (!this.net.passes(this.to, this.from)) return;
    this.net.schedule(deliver);
  }

  send(payload: Uint8Array): void {
    if (this.closed || !this.net.passes(this.from, this.to)) return;
    const bytes = payload.slice();
    this.net.schedule(() => {
      const endpoint = this.net.endpoint(this.to);
      if (!endpoint) {
        this.net.stats.unreachable++;
        return;
      }
      this.net.stats.delivered++;
      try {
        endpoint.handler.onMessage(this.from, bytes);
      } catch {
        // a faulty one-way handler must not break the sender; best effort by contract
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new TransportError(`link to ${this.to} was closed locally`, "closed");
    for (const fail of [...this.waiting]) fail(err);
  }
}
