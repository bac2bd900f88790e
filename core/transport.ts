/**
 * Peer transport seam. Peer traffic is message-oriented RPC: a node listens
 * with a handler, and connects to peers to get a {@link Link}. Implementations
 * live in transports/ (memory, tcp, tls, quic, faulty).
 */

/** Handles one inbound request; the returned bytes are the response. */
export type RequestHandler = (from: string, payload: Uint8Array) => Promise<Uint8Array> | Uint8Array;
/** Handles one inbound one-way message. */
export type MessageHandler = (from: string, payload: Uint8Array) => void;

/** What a listening endpoint does with inbound traffic. */
export interface PeerHandler {
  onRequest: RequestHandler;
  onMessage: MessageHandler;
}

/** A connection to one peer. */
export interface Link {
  /** Sends a request and resolves with the response; rejects with TransportError on timeout or close. */
  request(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
  /** Sends a one-way message; best effort. */
  send(payload: Uint8Array): void;
  close(): void;
  /**
   * Optional: calls `listener` whenever an established connection of this
   * link drops without a local close (the peer process died, or its host
   * reset the connection): failure detection can check on the peer at once
   * instead of at its next probe. Transports without connections omit it.
   */
  onDown?(listener: () => void): void;
}

/** A listening endpoint. */
export interface Listener {
  /** The address peers use to reach this listener ("host:port" or a memory name). */
  readonly address: string;
  close(): Promise<void>;
}

/** A pluggable peer transport. */
export interface Transport {
  readonly name: string;
  listen(address: string, handler: PeerHandler): Promise<Listener>;
  connect(address: string, localAddress: string): Link;
}

/** Raised when a peer cannot be reached, times out, or the link closed. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: "timeout" | "closed" | "unreachable" | "too-large" | "refused",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "TransportError";
  }
}
