/**
 * Fault-injection wrapper over any {@link Transport}. Rules added at runtime
 * drop, delay (fixed + jitter), duplicate, reorder or corrupt messages between
 * node addresses, and partitions block pairs one way or both ways. Every
 * decision comes from the injected Rng and every delay from the injected
 * Clock, so a simulation with a seeded Rng and a simulated Clock replays
 * exactly.
 *
 * Corruption is applied to bytes that carry a CRC-32 trailer added by the
 * sending side of this wrapper; the receiving side checks it and rejects the
 * message (one-way: dropped and counted; request/response: rejected with
 * TransportError("refused")), so corrupted bytes are never handed to a handler.
 */
import type { Clock, Rng } from "../core/clock.ts";
import type { Link, Listener, PeerHandler, Transport } from "../core/transport.ts";
import { TransportError } from "../core/transport.ts";

/** One fault rule; `from`/`to` match node addresses (omitted = any). Probabilities are in [0, 1]. */
export interface FaultRule {
  from?: string;
  to?: string;
  drop?: number;
  delayMs?: number;
  jitterMs?: number;
  duplicate?: number;
  /** Probability that a message is held back by `reorderDelayMs` so later ones overtake it. */
  reorder?: number;
  reorderDelayMs?: number;
  corrupt?: number;
}

/** Counters of injected and detected faults. */
export interface FaultStats {
  messages: number;
  dropped: number;
  blocked: number;
  delayed: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  /** Corrupted messages detected and rejected by the receiver. */
  rejected: number;
}

/** Options for {@link FaultyTransport}. */
export interface FaultyOptions {
  clock: Clock;
  rng: Rng;
  /** Request timeout used when the caller gives none (default 5000 ms), measured on `clock`. */
  requestTimeoutMs?: number;
}

type Plan = { deliver: boolean; delayMs: number; copies: number; corrupt: boolean };

/** A transport that injects faults into another. */
export class FaultyTransport implements Transport {
  readonly name: string;
  readonly stats: FaultStats = {
    messages: 0,
    dropped: 0,
    blocked: 0,
    delayed: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    rejected: 0,
  };
  private rules: FaultRule[] = [];
  private readonly blocked = new Set<string>();

  constructor(
    private readonly inner: Transport,
    private readonly opts: FaultyOptions,
  ) {
    this.name = `faulty(${inner.name})`;
  }

  /** Adds a rule; returns a function that removes it. */
  addRule(rule: FaultRule): () => void {
    this.rules.push(rule);
    return () => {
      this.rules = this.rules.filter((r) => r !== rule);
    };
  }

  /** Removes every rule and heals every partition. */
  clear(): void {
    this.rules = [];
    this.blocked.clear();
  }

  /** Blocks traffic from `a` to `b`, and from `b` to `a` unless `oneWay`. */
  partition(a: string, b: string, oneWay = false): void {
    this.blocked.add(`${a}\u0000${b}`);
    if (!oneWay) this.blocked.add(`${b}\u0000${a}`);
  }

  /** Unblocks `a`↔`b` (both directions), or every pair when called without arguments. */
  heal(a?: string, b?: string): void {
    if (a === undefined || b === undefined) {
      this.blocked.clear();
      return;
    }
    this.blocked.delete(`${a}\u0000${b}`);
    this.blocked.delete(`${b}\u0000${a}`);
  }

  /** Decides the fate of one message from `from` to `to`. */
  plan(from: string, to: string): Plan {
    this.stats.messages++;
    const p: Plan = { deliver: true, delayMs: 0, copies: 1, corrupt: false };
    if (this.blocked.has(`${from}\u0000${to}`)) {
      this.stats.blocked++;
      return { ...p, deliver: false };
    }
    const rng = this.opts.rng;
    for (const r of this.rules) {
      if ((r.from !== undefined && r.from !== from) || (r.to !== undefined && r.to !== to)) continue;
      if (r.drop && rng.next() < r.drop) {
        this.stats.dropped++;
        return { ...p, deliver: false };
      }
      const delay = (r.delayMs ?? 0) + (r.jitterMs ? rng.next() * r.jitterMs : 0);
      if (delay > 0) this.stats.delayed++;
      p.delayMs += delay;
      if (r.reorder && rng.next() < r.reorder) {
        this.stats.reordered++;
        p.delayMs += r.reorderDelayMs ?? 2 * ((r.delayMs ?? 0) + (r.jitterMs ?? 0)) + 5;
      }
      if (r.duplicate && rng.next() < r.duplicate) {
        this.stats.duplicated++;
        p.copies = 2;
      }
      if (r.corrupt && rng.next() < r.corrupt) p.corrupt = true;
    }
    return p;
  }

  /** Flips one random byte (never a no-op). */
  corrupt(bytes: Uint8Array): Uint8Array {
    this.stats.corrupted++;
    const out = bytes.slice();
    const i = this.opts.rng.int(out.length);
    out[i] = out[i]! ^ (1 + this.opts.rng.int(255));
    return out;
  }

  /** Runs `fn` after `ms` on the injected clock (immediately when 0). */
  after(ms: number, fn: () => void): void {
    if (ms <= 0) fn();
    else this.opts.clock.setTimer(ms, fn);
  }

  async listen(address: string, handler: PeerHandler): Promise<Listener> {
    return this.inner.listen(address, {
      onRequest: async (from, payload) => {
        const body = unseal(payload);
        if (!body) {
          this.stats.rejected++;
          throw new TransportError("request failed its integrity check and was rejected", "refused");
        }
        return seal(await handler.onRequest(from, body));
      },
      onMessage: (from, payload) => {
        const body = unseal(payload);
        if (body) handler.onMessage(from, body);
        else this.stats.rejected++;
      },
    });
  }

  connect(address: string, localAddress: string): Link {
    return new FaultyLink(this, this.inner.connect(address, localAddress), localAddress, address, this.opts);
  }
}

class FaultyLink implements Link {
  private readonly waiting = new Set<(e: TransportError) => void>();
  private closed = false;

  constructor(
    private readonly net: FaultyTransport,
    private readonly inner: Link,
    private readonly from: string,
    private readonly to: string,
    private readonly opts: FaultyOptions,
  ) {}

  send(payload: Uint8Array): void {
    if (this.closed) return;
    const plan = this.net.plan(this.from, this.to);
    if (!plan.deliver) return;
    const sealed = seal(payload);
    const wire = plan.corrupt ? this.net.corrupt(sealed) : sealed;
    for (let i = 0; i < plan.copies; i++) this.net.after(plan.delayMs, () => this.closed || this.inner.send(wire));
  }

  request(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError(`link to ${this.to} is closed`, "closed"));
    const ms = timeoutMs ?? this.opts.requestTimeoutMs ?? 5000;
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        timer.cancel();
        this.waiting.delete(fail);
        fn();
      };
      const fail = (e: TransportError) => finish(() => reject(e));
      const timer = this.opts.clock.setTimer(ms, () =>
        fail(new TransportError(`request to ${this.to} timed out after ${ms} ms`, "timeout")),
      );
      this.waiting.add(fail);
      const out = this.net.plan(this.from, this.to);
      if (!out.deliver) return; // lost on the way: only the timeout answers
      const sealed = seal(payload);
      const wire = out.corrupt ? this.net.corrupt(sealed) : sealed;
      const onReply = (reply: Uint8Array) => {
        const back = this.net.plan(this.to, this.from);
        if (!back.deliver) return;
        const got = unseal(back.corrupt ? this.net.corrupt(reply) : reply);
        this.net.after(back.delayMs, () => {
          if (got) finish(() => resolve(got));
          else {
            this.net.stats.rejected++;
            fail(new TransportError("response failed its integrity check and was rejected", "refused"));
          }
        });
      };
      for (let i = 0; i < out.copies; i++) {
        this.net.after(out.delayMs, () => {
          if (done) return;
          this.inner.request(wire, ms).then(onReply, (e) => {
            if (i === 0) finish(() => reject(e));
          });
        });
      }
    });
  }

  onDown(listener: () => void): void {
    this.inner.onDown?.(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
    for (const fail of [...this.waiting]) fail(new TransportError(`link to ${this.to} was closed locally`, "closed"));
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function seal(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32(body));
  return out;
}

/** The body when the CRC trailer matches, else undefined. */
function unseal(wire: Uint8Array): Uint8Array | undefined {
  if (wire.length < 4) return undefined;
  const body = wire.subarray(0, wire.length - 4);
  const sum = new DataView(wire.buffer, wire.byteOffset + body.length, 4).getUint32(0);
  return sum === crc32(body) ? body : undefined;
}
