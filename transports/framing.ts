/**
 * A framed, back-pressured channel over one stream socket (Bun TCP or TLS).
 * Writes are queued, coalesced per microtask, and resumed on `drain` when the
 * kernel buffer is full (Bun's `socket.write` may accept only part of a
 * buffer); reads go through {@link FrameReader}. Shared by tcp.ts and tls.ts.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { TransportError } from "../core/transport.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  type Frame,
  FrameReader,
  type FrameSigner,
  type FrameTypeCode,
  MAC_BYTES,
} from "../core/wire/framing.ts";

/** The part of a Bun socket the channel needs. */
export interface StreamSocket {
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(): void;
}

/** Framing options shared by the stream transports. */
export interface ChannelOptions {
  /** Largest accepted payload in bytes (default 64 MiB). */
  maxFrameBytes?: number;
  /** Authenticates every frame with the shared cluster key when set. */
  auth?: FrameSigner;
}

/** Callbacks from a {@link PeerChannel}. */
export interface ChannelEvents {
  onFrame(frame: Frame): void;
  /** The inbound stream is unusable; the channel has already ended the socket. */
  onError(error: TransportError): void;
}

const COALESCE_LIMIT = 256 * 1024;

/** One framed connection. */
export class PeerChannel {
  readonly maxFrameBytes: number;
  private readonly reader: FrameReader;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private sealChain: Promise<void> = Promise.resolve();
  private sealing = 0;
  private ended = false;

  constructor(
    private readonly socket: StreamSocket,
    private readonly opts: ChannelOptions,
    events: ChannelEvents,
  ) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.reader = new FrameReader({
      maxFrameBytes: this.maxFrameBytes,
      auth: opts.auth,
      onFrame: events.onFrame,
      onError: (e) => {
        this.end();
        events.onError(e);
      },
    });
  }

  /** Bytes accepted by {@link sendFrame} but not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Feeds bytes read from the socket. */
  onData(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }

  /** Call from the socket's `drain` handler. */
  onDrain(): void {
    this.flush();
  }

  /**
   * Queues one frame. Throws TransportError("too-large") synchronously when
   * the payload exceeds the max frame size. Frames keep their call order.
   */
  sendFrame(type: FrameTypeCode, id: number, payload: Uint8Array): void {
    if (this.ended) return;
    const auth = this.opts.auth;
    const frame = encodeFrame(type, id, payload, auth !== undefined, this.maxFrameBytes);
    if (!auth) {
      this.enqueue(frame);
      return;
    }
    const sealed = auth.seal(frame);
    if (sealed instanceof Uint8Array && this.sealing === 0) {
      this.enqueue(sealed);
      return;
    }
    this.sealing++;
    this.sealChain = this.sealChain.then(async () => {
      const ready = await sealed;
      this.sealing--;
      this.enqueue(ready);
    });
  }

  /** Stops writing and half-closes the socket. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue = [];
    this.queued = 0;
    this.socket.end();
  }

  private enqueue(frame: Uint8Array): void {
    if (this.ended) return;
    this.queue.push(frame);
    this.queued += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.ended) {
      const chunk = this.nextChunk();
      const written = this.socket.write(chunk);
      if (written < 0) {
        this.end();
        return;
      }
      this.queued -= written;
      if (written < chunk.length) {
        this.queue.unshift(chunk.subarray(written));
        return; // kernel buffer full: resume in onDrain
      }
    }
  }

  /** Takes the head of the queue, merging small frames into one write. */
  private nextChunk(): Uint8Array {
    const head = this.queue.shift()!;
    if (head.length >= COALESCE_LIMIT || this.queue.length === 0 || this.queue[0]!.length >= COALESCE_LIMIT) {
      return head;
    }
    let total = head.length;
    let count = 0;
    while (count < this.queue.length && total + this.queue[count]!.length <= COALESCE_LIMIT) {
      total += this.queue[count]!.length;
      count++;
    }
    if (count === 0) return head;
    const merged = new Uint8Array(total);
    merged.set(head, 0);
    let at = head.length;
    for (const part of this.queue.splice(0, count)) {
      merged.set(part, at);
      at += part.length;
    }
    return merged;
  }
}

/**
 * Synchronous HMAC-SHA256 {@link FrameSigner} on node:crypto (Bun and Deno
 * both provide it): same MACs as the WebCrypto FrameAuthenticator, without a
 * promise hop per frame.
 */
export class NodeHmacSigner implements FrameSigner {
  private readonly secret: Uint8Array;

  constructor(secret: string | Uint8Array) {
    this.secret = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
    if (this.secret.length === 0) throw new TypeError("cluster key must not be empty");
  }

  seal(frame: Uint8Array): Uint8Array {
    const mac = createHmac("sha256", this.secret).update(frame.subarray(0, frame.length - MAC_BYTES)).digest();
    frame.set(mac, frame.length - MAC_BYTES);
    return frame;
  }

  verify(body: Uint8Array, mac: Uint8Array): boolean {
    const expected = createHmac("sha256", this.secret).update(body).digest();
    return mac.length === expected.length && timingSafeEqual(expected, mac);
  }
}
