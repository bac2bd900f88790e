/**
 * Runs several peer protocols (membership, data) over one {@link Transport}
 * address: each channel prefixes its payloads with a one-byte tag, and one
 * shared listener dispatches inbound traffic by tag. A transport can listen
 * on an address only once, so this is how SWIM and the data protocol share
 * the peer port.
 */
import type { Link, Listener, PeerHandler, Transport } from "../transport.ts";
import { TransportError } from "../transport.ts";

/** Splits one transport into tagged channels that share a listener. */
export class TransportMux {
  private readonly handlers = new Map<number, PeerHandler>();
  private listening: Promise<Listener> | undefined;
  private address = "";

  constructor(private readonly base: Transport) {}

  /** The transport for channel `tag` (0–255). */
  channel(tag: number): Transport {
    return {
      name: `${this.base.name}#${tag}`,
      listen: (address, handler) => this.listen(tag, address, handler),
      connect: (address, local) => new TaggedLink(this.base.connect(address, local), tag),
    };
  }

  private async listen(tag: number, address: string, handler: PeerHandler): Promise<Listener> {
    if (this.handlers.has(tag)) throw new TransportError(`channel ${tag} already listens`, "refused");
    if (this.listening && this.address !== address) {
      throw new TransportError(`mux listens on ${this.address}, not ${address}`, "refused");
    }
    this.handlers.set(tag, handler);
    if (!this.listening) {
      this.address = address;
      this.listening = this.base.listen(address, {
        onRequest: (from, bytes) => {
          const h = this.handlers.get(bytes[0]!);
          if (!h) throw new TransportError(`no handler for channel ${bytes[0]}`, "refused");
          return h.onRequest(from, bytes.subarray(1));
        },
        onMessage: (from, bytes) => this.handlers.get(bytes[0]!)?.onMessage(from, bytes.subarray(1)),
      });
      this.listening.catch(() => {
        this.listening = undefined;
        this.handlers.delete(tag);
      });
    }
    const inner = await this.listening;
    return {
      address: inner.address,
      close: async () => {
        if (this.handlers.get(tag) !== handler) return;
        this.handlers.delete(tag);
        if (this.handlers.size === 0 && this.listening) {
          this.listening = undefined;
          await inner.close();
        }
      },
    };
  }
}

function tagged(tag: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = tag;
  out.set(payload, 1);
  return out;
}

class TaggedLink implements Link {
  constructor(
    private readonly inner: Link,
    private readonly tag: number,
  ) {}

  request(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    return this.inner.request(tagged(this.tag, payload), timeoutMs);
  }

  send(payload: Uint8Array): void {
    this.inner.send(tagged(this.tag, payload));
  }

  close(): void {
    this.inner.close();
  }

  onDown(listener: () => void): void {
    this.inner.onDown?.(listener);
  }
}
