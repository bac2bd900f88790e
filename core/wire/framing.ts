/**
 * Peer wire framing: length-prefixed frames with a fixed 12-byte header and an
 * optional HMAC-SHA256 trailer keyed by the shared cluster key.
 *
 * Layout (big endian):
 *   0  u8  magic 0xA5
 *   1  u8  type (see {@link FrameType})
 *   2  u8  flags (bit 0: 32-byte HMAC trailer present)
 *   3  u8  reserved (0)
 *   4  u32 request id (0 for one-way and hello)
 *   8  u32 payload length in bytes
 *  12  payload
 *  ..  [32-byte HMAC-SHA256 over header + payload]
 *
 * Runtime-neutral: uses only WebCrypto (`crypto.subtle`) and typed arrays.
 */
import { TransportError } from "../transport.ts";

/** Frame kinds carried on a peer connection. */
export const FrameType = {
  request: 1,
  response: 2,
  oneway: 3,
  /** First frame of a connection: the dialer's own listen address (UTF-8). */
  hello: 4,
  /** Response whose payload is a UTF-8 error message from the remote handler. */
  error: 5,
  /**
   * With a cluster key, the first frame each side sends: a fresh random
   * nonce (no MAC). Both nonces bind the session's MACs to this connection,
   * so frames captured from another connection cannot be replayed.
   */
  nonce: 6,
} as const;
/** One of the {@link FrameType} codes. */
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** A decoded (and, with a key, authenticated) frame. */
export interface Frame {
  type: FrameTypeCode;
  id: number;
  payload: Uint8Array;
}

/** Bytes of the fixed header. */
export const HEADER_BYTES = 12;
/** Bytes of the HMAC trailer when a cluster key is used. */
export const MAC_BYTES = 32;
/** Default maximum payload size: 64 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const MAGIC = 0xa5;
const FLAG_MAC = 1;

/**
 * Seals and verifies frames under the shared cluster key. Implementations may
 * answer synchronously (faster: no promise hop per frame) or asynchronously.
 */
export interface FrameSigner {
  /** Fills the trailer of a frame built by {@link encodeFrame} with its MAC. */
  seal(frame: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** True when `mac` authenticates `body`, compared in constant time. */
  verify(body: Uint8Array, mac: Uint8Array): boolean | Promise<boolean>;
}

/** Runtime-neutral HMAC-SHA256 {@link FrameSigner} on WebCrypto (`crypto.subtle`). */
export class FrameAuthenticator implements FrameSigner {
  private constructor(private readonly key: CryptoKey) {}

  /** Derives an authenticator from a shared secret (string or bytes; at least 16 bytes recommended). */
  static async fromSecret(secret: string | Uint8Array): Promise<FrameAuthenticator> {
    const raw = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
    if (raw.length === 0) throw new TypeError("cluster key must not be empty");
    const key = await crypto.subtle.importKey("raw", raw as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    return new FrameAuthenticator(key);
  }

  /** Fills the trailer of a frame built by {@link encodeFrame} with its MAC. */
  async seal(frame: Uint8Array): Promise<Uint8Array> {
    const body = frame.subarray(0, frame.length - MAC_BYTES);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", this.key, body as BufferSource));
    frame.set(mac, frame.length - MAC_BYTES);
    return frame;
  }

  /** True when `mac` authenticates `body` (constant-time comparison by WebCrypto). */
  async verify(body: Uint8Array, mac: Uint8Array): Promise<boolean> {
    return crypto.subtle.verify("HMAC", this.key, mac as BufferSource, body as BufferSource);
  }
}

/**
 * Builds one frame. With `withMac` the trailer is left zeroed for
 * {@link FrameAuthenticator.seal}. Throws TransportError("too-large") when the
 * payload exceeds `maxFrameBytes`.
 */
export function encodeFrame(
  type: FrameTypeCode,
  id: number,
  payload: Uint8Array,
  withMac: boolean,
  maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
): Uint8Array {
  if (payload.length > maxFrameBytes) {
    throw new TransportError(
      `frame of ${payload.length} bytes exceeds the peer max frame size of ${maxFrameBytes} bytes; send smaller values or raise maxFrameBytes`,
      "too-large",
    );
  }
  const out = new Uint8Array(HEADER_BYTES + payload.length + (withMac ? MAC_BYTES : 0));
  const view = new DataView(out.buffer);
  out[0] = MAGIC;
  out[1] = type;
  out[2] = withMac ? FLAG_MAC : 0;
  view.setUint32(4, id >>> 0);
  view.setUint32(8, payload.length);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Options for {@link FrameReader}. */
export interface FrameReaderOptions {
  maxFrameBytes?: number;
  /** When set, every frame must carry a valid MAC or the stream is rejected. */
  auth?: FrameSigner;
  /**
   * Keyed session: the first frame must be an unauthenticated nonce frame,
   * after which the owner installs {@link FrameReader.auth} (from `onFrame`)
   * and every later frame must carry a valid MAC.
   */
  requireMac?: boolean;
  onFrame(frame: Frame): void;
  /** Called once when the stream is unusable (oversized, malformed, unauthenticated); no frames follow. */
  onError(error: TransportError): void;
}

/**
 * Incremental frame parser for a byte stream. Frames are delivered in stream
 * order, after MAC verification when a key is configured.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private failed = false;
  private verifyChain: Promise<void> = Promise.resolve();
  /** Async verifications still running; while > 0 later frames queue behind them. */
  private verifying = 0;
  private readonly max: number;
  private seen = 0;
  /** Verifies MACs; may be installed after construction (see {@link FrameReaderOptions.requireMac}). */
  auth?: FrameSigner;

  constructor(private readonly opts: FrameReaderOptions) {
    this.max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.auth = opts.auth;
  }

  /** Feeds bytes received from the stream. */
  push(chunk: Uint8Array): void {
    if (this.failed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (!this.failed && this.buffered >= HEADER_BYTES) {
      const header = this.peek(HEADER_BYTES);
      const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
      const type = header[1] as FrameTypeCode;
      const hasMac = (header[2]! & FLAG_MAC) !== 0;
      const length = view.getUint32(8);
      const id = view.getUint32(4);
      if (header[0] !== MAGIC || type < FrameType.request || type > FrameType.nonce || header[2]! > FLAG_MAC) {
        this.fail(new TransportError("malformed peer frame header; is the peer speaking the shoal peer protocol?", "refused"));
        return;
      }
      if (length > this.max) {
        this.fail(
          new TransportError(`peer frame of ${length} bytes exceeds max frame size ${this.max} bytes`, "too-large"),
        );
        return;
      }
      const keyed = this.auth !== undefined || this.opts.requireMac === true;
      const opening = this.opts.requireMac === true && this.auth === undefined && this.seen === 0;
      if (keyed && (hasMac ? this.auth === undefined : !(opening && type === FrameType.nonce))) {
        this.fail(new TransportError("unauthenticated peer frame refused: cluster key required", "refused"));
        return;
      }
      const total = HEADER_BYTES + length + (hasMac ? MAC_BYTES : 0);
      if (this.buffered < total) return;
      const bytes = this.take(total);
      const frame: Frame = { type, id, payload: bytes.subarray(HEADER_BYTES, HEADER_BYTES + length) };
      this.seen++;
      if (this.auth && hasMac) this.deliverVerified(frame, bytes, this.auth);
      else this.opts.onFrame(frame);
    }
  }

  private deliverVerified(frame: Frame, bytes: Uint8Array, auth: FrameSigner): void {
    const body = bytes.subarray(0, bytes.length - MAC_BYTES);
    const mac = bytes.subarray(bytes.length - MAC_BYTES);
    const check = auth.verify(body, mac);
    if (typeof check === "boolean" && this.verifying === 0) {
      this.verdict(frame, check);
      return;
    }
    this.verifying++;
    this.verifyChain = this.verifyChain.then(async () => {
      const ok = await check;
      this.verifying--;
      this.verdict(frame, ok);
    });
  }

  private verdict(frame: Frame, ok: boolean): void {
    if (this.failed) return;
    if (ok) this.opts.onFrame(frame);
    else this.fail(new TransportError("peer frame failed HMAC check: wrong cluster key or tampering", "refused"));
  }

  private fail(error: TransportError): void {
    if (this.failed) return;
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.opts.onError(error);
  }

  /** Returns the first `n` buffered bytes without consuming them (merging chunks if needed). */
  private peek(n: number): Uint8Array {
    if (this.chunks[0]!.length < n) this.chunks = [concat(this.chunks, this.buffered)];
    return this.chunks[0]!;
  }

  /** Consumes and returns exactly `n` bytes as a fresh copy. */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0]!;
      const need = n - filled;
      if (head.length <= need) {
        out.set(head, filled);
        filled += head.length;
        this.chunks.shift();
      } else {
        out.set(head.subarray(0, need), filled);
        this.chunks[0] = head.subarray(need);
        filled += need;
      }
    }
    this.buffered -= n;
    return out;
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
