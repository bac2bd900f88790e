/**
 * A framed, back-pressured channel over one stream socket (Bun TCP or TLS).
 * Writes are queued, coalesced per microtask, and resumed on `drain` when the
 * kernel buffer is full (Bun's `socket.write` may accept only part of a
 * buffer); reads go through {@link FrameReader}. Shared by tcp.ts and tls.ts.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { TransportError } from "../core/transport.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  type Frame,
  FrameReader,
  type FrameSigner,
  FrameType,
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
  /**
   * Shared cluster key. When set, both ends open with a nonce frame and every
   * later frame carries an HMAC under a per-connection session key with a
   * per-direction sequence number: strangers cannot inject, and captured
   * frames cannot be replayed, reordered or reflected.
   */
  clusterKey?: Uint8Array;
  /** Which end of the connection this is (separates the two MAC directions). */
  role: "dialer" | "listener";
}

/** Callbacks from a {@link PeerChannel}. */
export interface ChannelEvents {
  onFrame(frame: Frame): void;
  /** The inbound stream is unusable; the channel has already ended the socket. */
  onError(error: TransportError): void;
  /** Called after each flush to the socket, so a producer can top the queue up again. */
  onWritable?(): void;
}

const COALESCE_LIMIT = 256 * 1024;

/** One framed connection. */
export class PeerChannel {
  readonly maxFrameBytes: number;
  private readonly reader: FrameReader;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private flushScheduled = false;
  private ended = false;
  private readonly localNonce = new Uint8Array(NONCE_BYTES);
  private signer?: SessionSigner;
  /** Frames sent before the peer's nonce arrived; sealed once the session key exists. */
  private early: Uint8Array[] = [];
  private earlyBytes = 0;

  constructor(
    private readonly socket: StreamSocket,
    private readonly opts: ChannelOptions,
    private readonly events: ChannelEvents,
  ) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.reader = new FrameReader({
      maxFrameBytes: this.maxFrameBytes,
      requireMac: opts.clusterKey !== undefined,
      onFrame: (f) => (f.type === FrameType.nonce ? this.onNonce(f.payload) : events.onFrame(f)),
      onError: (e) => this.fail(e),
    });
    if (opts.clusterKey !== undefined) {
      crypto.getRandomValues(this.localNonce);
      this.enqueue(encodeFrame(FrameType.nonce, 0, this.localNonce, false));
    }
  }

  /** Bytes accepted by {@link sendFrame} but not yet taken by the kernel. */
  get queuedBytes(): number {
    return this.queued + this.earlyBytes;
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
    const keyed = this.opts.clusterKey !== undefined;
    const frame = encodeFrame(type, id, payload, keyed, this.maxFrameBytes);
    if (!keyed) this.enqueue(frame);
    else if (this.signer) this.enqueue(this.signer.seal(frame));
    else {
      this.early.push(frame);
      this.earlyBytes += frame.length;
    }
  }

  private onNonce(remote: Uint8Array): void {
    const key = this.opts.clusterKey;
    if (!key) return this.fail(new TransportError("peer requires a cluster key; configure the same key on every node", "refused"));
    if (this.signer || remote.length !== NONCE_BYTES) return this.fail(new TransportError("unexpected nonce frame", "refused"));
    const dialer = this.opts.role === "dialer";
    this.signer = new SessionSigner(key, dialer ? remote : this.localNonce, dialer ? this.localNonce : remote, this.opts.role);
    this.reader.auth = this.signer;
    for (const frame of this.early) this.enqueue(this.signer.seal(frame));
    this.early = [];
    this.earlyBytes = 0;
  }

  private fail(error: TransportError): void {
    this.end();
    this.events.onError(error);
  }

  /** Stops writing and half-closes the socket. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.early = [];
    this.earlyBytes = 0;
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
        break; // kernel buffer full: resume in onDrain
      }
    }
    if (!this.ended) this.events.onWritable?.();
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
 * promise hop per frame. Stateless: used where each message stands alone (quic).
 */
export class NodeHmacSigner implements FrameSigner {
  private readonly secret: Uint8Array;

  constructor(secret: string | Uint8Array) {
    this.secret = keyBytes(secret);
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

/** Bytes of each side's session nonce. */
export const NONCE_BYTES = 16;

/**
 * Per-connection signer: key = HMAC(clusterKey, label | listenerNonce |
 * dialerNonce); each MAC covers direction, a 64-bit sequence number and the
 * frame, so a frame is valid exactly once, in one direction, on one connection.
 * Seal and verify must be called in wire order (PeerChannel does).
 */
export class SessionSigner implements FrameSigner {
  private readonly key: Uint8Array;
  private sendSeq = 0;
  private recvSeq = 0;
  private readonly outDir: number;
  private readonly prefix = new Uint8Array(9);
  private readonly prefixView = new DataView(this.prefix.buffer);

  constructor(clusterKey: Uint8Array, listenerNonce: Uint8Array, dialerNonce: Uint8Array, role: "dialer" | "listener") {
    this.key = createHmac("sha256", clusterKey)
      .update("shoal-peer-session-v1")
      .update(listenerNonce)
      .update(dialerNonce)
      .digest();
    this.outDir = role === "dialer" ? 1 : 2;
  }

  seal(frame: Uint8Array): Uint8Array {
    const mac = this.mac(this.outDir, this.sendSeq++, frame.subarray(0, frame.length - MAC_BYTES));
    frame.set(mac, frame.length - MAC_BYTES);
    return frame;
  }

  verify(body: Uint8Array, mac: Uint8Array): boolean {
    const expected = this.mac(3 - this.outDir, this.recvSeq++, body);
    return mac.length === expected.length && timingSafeEqual(expected, mac);
  }

  private mac(direction: number, seq: number, body: Uint8Array): Uint8Array {
    const prefix = this.prefix;
    prefix[0] = direction;
    this.prefixView.setUint32(1, Math.floor(seq / 0x100000000));
    this.prefixView.setUint32(5, seq >>> 0);
    return hmacSha256(this.key, prefix, body);
  }
}

/** HMAC-SHA256(key, a | b): Bun's native hasher when present (about 2.5x faster than createHmac), else node:crypto. */
function hmacSha256(key: Uint8Array, a: Uint8Array, b: Uint8Array): Uint8Array {
  if (typeof Bun !== "undefined") return new Bun.CryptoHasher("sha256", key).update(a).update(b).digest();
  return createHmac("sha256", key).update(a).update(b).digest();
}

/** The cluster key as bytes; rejects an empty key. */
export function keyBytes(secret: string | Uint8Array): Uint8Array {
  const bytes = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  if (bytes.length === 0) throw new TypeError("cluster key must not be empty");
  return bytes;
}
