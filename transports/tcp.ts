/**
 * TCP peer transport on Bun.listen / Bun.connect (and TLS when `tls` is set;
 * see tls.ts). One connection per peer link multiplexes requests by id; the
 * dialer's first frame is a hello carrying its own listen address, which the
 * listener reports as `from`. A closed link reconnects on the next request.
 */
import type { Socket, TLSOptions } from "bun";
import { joinHostPort, splitHostPort } from "../core/net-address.ts";
import type { Link, Listener, PeerHandler, Transport } from "../core/transport.ts";
import { TransportError } from "../core/transport.ts";
import { FrameType, type FrameTypeCode } from "../core/wire/framing.ts";
import { keyBytes, PeerChannel } from "./framing.ts";

/** Options for {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** Largest payload in bytes (default 64 MiB); larger requests fail with TransportError("too-large"). */
  maxFrameBytes?: number;
  /** Default request timeout in milliseconds (default 5000). */
  requestTimeoutMs?: number;
  /**
   * Shared cluster key: every frame carries an HMAC-SHA256 under a per-connection
   * session key; peers without the key are cut off and captured frames cannot be replayed.
   */
  clusterKey?: string | Uint8Array;
  /** Server-side TLS options (cert, key, ca, requestCert, rejectUnauthorized). */
  tlsServer?: TLSOptions;
  /** Client-side TLS options (cert, key, ca, serverName). */
  tlsClient?: TLSOptions;
  /** Inbound responses queued above this many bytes pause reading from that peer (default 8 MiB). */
  highWaterBytes?: number;
  /** A dialer that has not sent its hello within this many ms is cut off (slowloris guard; default 10000). */
  helloTimeoutMs?: number;
  /** Inbound connections accepted at once per listener; extra ones are closed (default 1024). */
  maxConnections?: number;
  /**
   * Per link: frames are encoded into the socket queue only while it holds less
   * than this many bytes (default 4 MiB); later ones wait, unencoded, until the
   * peer reads. This is how a slow receiver slows its senders.
   */
  sendBufferBytes?: number;
  /** Per link: one-way messages waiting beyond this many bytes are dropped (best effort; default 256 MiB). */
  maxParkedBytes?: number;
  /**
   * Called when the listener cuts off an inbound peer: failed TLS handshake
   * (no or foreign certificate), bad frame or MAC (wrong cluster key), no
   * hello in time, too many connections. `remote` is "ip:port"; no secrets.
   */
  onRefused?: (reason: string, remote: string) => void;
}

type ServerState = {
  channel?: PeerChannel;
  from?: string;
  inflight: number;
  paused: boolean;
  helloTimer?: ReturnType<typeof setTimeout>;
  /** "ip:port" of the dialer, taken at accept (for refusal reports). */
  remote?: string;
};

/** Splits "host:port" or "[v6]:port" (the hostname comes back without brackets). @throws TypeError on anything else. */
export function parseHostPort(address: string): { hostname: string; port: number } {
  try {
    const { host, port } = splitHostPort(address, undefined, 0);
    return { hostname: host, port };
  } catch (e) {
    throw new TypeError(`peer address must be host:port, got "${address}" (${(e as Error).message})`);
  }
}

/** Peer transport over plain TCP (or TLS with the tls* options). */
export class TcpTransport implements Transport {
  readonly name: string;
  /** The cluster key as bytes (undefined without one). */
  readonly clusterKey?: Uint8Array;

  constructor(
    readonly options: TcpTransportOptions = {},
    name = "tcp",
  ) {
    this.name = name;
    if (options.clusterKey !== undefined) this.clusterKey = keyBytes(options.clusterKey);
  }

  async listen(address: string, handler: PeerHandler): Promise<Listener> {
    const { hostname, port } = parseHostPort(address);
    const clusterKey = this.clusterKey;
    const max = this.options.maxFrameBytes;
    const highWater = this.options.highWaterBytes ?? 8 * 1024 * 1024;
    const helloTimeoutMs = this.options.helloTimeoutMs ?? 10_000;
    const maxConnections = this.options.maxConnections ?? 1024;
    const sockets = new Set<Socket<ServerState>>();
    const relieve = (s: Socket<ServerState>) => {
      const st = s.data;
      if (st.paused && st.inflight < 512 && (st.channel?.queuedBytes ?? 0) < highWater / 2) {
        st.paused = false;
        s.resume();
      }
    };
    const squeeze = (s: Socket<ServerState>) => {
      const st = s.data;
      if (!st.paused && (st.inflight >= 1024 || (st.channel?.queuedBytes ?? 0) >= highWater)) {
        st.paused = true;
        s.pause();
      }
    };
    const onFrame = (s: Socket<ServerState>, type: number, id: number, payload: Uint8Array) => {
      const st = s.data;
      const channel = st.channel!;
      if (st.from === undefined) {
        if (type !== FrameType.hello) return channel.end();
        st.from = new TextDecoder().decode(payload);
        clearTimeout(st.helloTimer);
        return;
      }
      const from = st.from;
      if (type === FrameType.oneway) {
        try {
          handler.onMessage(from, payload);
        } catch {
          // A failing message handler must not take the connection down.
        }
      } else if (type === FrameType.request) {
        st.inflight++;
        squeeze(s);
        Promise.resolve()
          .then(() => handler.onRequest(from, payload))
          .then(
            (reply) => channel.sendFrame(FrameType.response, id, reply),
            (err) => channel.sendFrame(FrameType.error, id, new TextEncoder().encode(String(err?.message ?? err))),
          )
          .catch((err) => channel.sendFrame(FrameType.error, id, new TextEncoder().encode(String(err?.message ?? err))))
          .finally(() => {
            st.inflight--;
            relieve(s);
          });
      } else {
        channel.end();
      }
    };
    const onRefused = this.options.onRefused;
    const refuse = (s: { data: ServerState; remoteAddress: string }, reason: string): void =>
      onRefused?.(reason, s.data?.remote ?? s.remoteAddress);
    const server = Bun.listen<ServerState>({
      hostname,
      port,
      tls: this.options.tlsServer,
      socket: {
        open(s) {
          s.data = { inflight: 0, paused: false, remote: joinHostPort(s.remoteAddress, (s as { remotePort?: number }).remotePort ?? 0) };
          if (sockets.size >= maxConnections) {
            refuse(s, "too many peer connections");
            s.end();
            return;
          }
          sockets.add(s);
          s.data.helloTimer = setTimeout(() => {
            if (s.data.from !== undefined) return;
            refuse(s, "no hello in time");
            s.end();
          }, helloTimeoutMs);
          s.data.channel = new PeerChannel(
            s,
            { maxFrameBytes: max, clusterKey, role: "listener" },
            {
              onFrame: (f) => onFrame(s, f.type, f.id, f.payload),
              onError: (e) => {
                refuse(s, clusterKey === undefined ? `bad frame: ${e.message}` : `bad frame or wrong cluster key: ${e.message}`);
                s.end();
              },
            },
          );
        },
        data(s, chunk) {
          s.data.channel?.onData(chunk);
        },
        drain(s) {
          s.data.channel?.onDrain();
          relieve(s);
        },
        close(s) {
          sockets.delete(s);
          clearTimeout(s.data?.helloTimer);
          s.data.channel?.end();
        },
        handshake(s, success, authorizationError) {
          if (!success || !s.authorized) {
            refuse(s, `TLS handshake failed: ${authorizationError?.message ?? "no valid client certificate"}`);
            s.end();
          }
        },
        error() {},
      },
    });
    const bound = joinHostPort(hostname, server.port);
    return {
      address: bound,
      async close() {
        server.stop(true);
        for (const s of sockets) s.terminate();
        sockets.clear();
      },
    };
  }

  connect(address: string, localAddress: string): Link {
    return new TcpLink(this, address, localAddress);
  }
}

type Pending = { resolve(b: Uint8Array): void; reject(e: Error): void; timer: ReturnType<typeof setTimeout> };
type ClientState = { link: TcpLink };

/** A multiplexed request/response link to one peer; reconnects lazily. */
class TcpLink implements Link {
  private channel?: PeerChannel;
  private socket?: Socket<ClientState>;
  private connecting?: Promise<void>;
  /** Frames waiting for a connection or for the socket queue to shrink, in call order. */
  private outbox: Array<[FrameTypeCode, number, Uint8Array]> = [];
  private parked = 0;
  /** One-way messages dropped because too many bytes were waiting. */
  dropped = 0;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private readonly downListeners: (() => void)[] = [];

  constructor(
    private readonly transport: TcpTransport,
    private readonly address: string,
    private readonly localAddress: string,
  ) {}

  request(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new TransportError(`link to ${this.address} is closed`, "closed"));
    const max = this.transport.options.maxFrameBytes ?? 64 * 1024 * 1024;
    if (payload.length > max) {
      return Promise.reject(
        new TransportError(`request of ${payload.length} bytes exceeds max frame size ${max} bytes`, "too-large"),
      );
    }
    const id = this.nextId;
    this.nextId = this.nextId >= 0xfffffffe ? 1 : this.nextId + 1;
    const ms = timeoutMs ?? this.transport.options.requestTimeoutMs ?? 5000;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TransportError(`request to ${this.address} timed out after ${ms} ms`, "timeout"));
      }, ms);
      this.pending.set(id, { resolve, reject, timer });
      this.write(FrameType.request, id, payload);
    });
  }

  send(payload: Uint8Array): void {
    if (this.closed) return;
    const max = this.transport.options.maxFrameBytes ?? 64 * 1024 * 1024;
    if (payload.length > max) {
      throw new TransportError(`message of ${payload.length} bytes exceeds max frame size ${max} bytes`, "too-large");
    }
    this.write(FrameType.oneway, 0, payload);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.end();
    this.dropConnection(new TransportError(`link to ${this.address} was closed locally`, "closed"));
  }

  onDown(listener: () => void): void {
    this.downListeners.push(listener);
  }

  /** Bytes encoded and queued on the socket but not yet written (back-pressure gauge). */
  get bufferedBytes(): number {
    return this.channel?.queuedBytes ?? 0;
  }

  /** Bytes of frames waiting to be encoded. */
  get parkedBytes(): number {
    return this.parked;
  }

  private write(type: FrameTypeCode, id: number, payload: Uint8Array): void {
    const o = this.transport.options;
    if (this.channel && this.outbox.length === 0 && this.channel.queuedBytes < (o.sendBufferBytes ?? 4 << 20)) {
      this.channel.sendFrame(type, id, payload);
      return;
    }
    if (type === FrameType.oneway && this.parked + payload.length > (o.maxParkedBytes ?? 256 << 20)) {
      this.dropped++;
      return;
    }
    this.outbox.push([type, id, payload]);
    this.parked += payload.length;
    if (!this.channel) this.connecting ??= this.open();
  }

  /** Moves waiting frames to the socket while it has room; skips requests that already timed out. */
  private pump(): void {
    const limit = this.transport.options.sendBufferBytes ?? 4 << 20;
    while (this.channel && this.outbox.length > 0 && this.channel.queuedBytes < limit) {
      const [type, id, payload] = this.outbox.shift()!;
      this.parked -= payload.length;
      if (type !== FrameType.request || this.pending.has(id)) this.channel.sendFrame(type, id, payload);
    }
  }

  private async open(): Promise<void> {
    const { hostname, port } = parseHostPort(this.address);
    try {
      const socket = await Bun.connect<ClientState>({
        hostname,
        port,
        tls: this.transport.options.tlsClient,
        data: { link: this },
        socket: {
          data: (_s, chunk) => this.channel?.onData(chunk),
          drain: () => this.channel?.onDrain(),
          close: (s) => {
            if (s === this.socket) this.dropConnection(new TransportError(`connection to ${this.address} closed`, "closed"));
          },
          error: () => {},
        },
      });
      if (this.closed) {
        socket.end();
        return;
      }
      this.socket = socket;
      this.channel = new PeerChannel(
        socket,
        { maxFrameBytes: this.transport.options.maxFrameBytes, clusterKey: this.transport.clusterKey, role: "dialer" },
        {
          onFrame: (f) => this.onFrame(f.type, f.id, f.payload),
          onError: (e) => this.dropConnection(e),
          onWritable: () => this.pump(),
        },
      );
      this.channel.sendFrame(FrameType.hello, 0, new TextEncoder().encode(this.localAddress));
      this.pump();
    } catch (cause) {
      this.outbox = [];
      this.parked = 0;
      this.connecting = undefined;
      this.rejectAll(new TransportError(`cannot reach peer ${this.address}`, "unreachable", { cause }));
      return;
    }
    this.connecting = undefined;
  }

  private onFrame(type: number, id: number, payload: Uint8Array): void {
    const p = this.pending.get(id);
    if (!p) return; // late reply after timeout
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (type === FrameType.response) p.resolve(payload);
    else if (type === FrameType.error) p.reject(new Error(`peer ${this.address}: ${new TextDecoder().decode(payload)}`));
  }

  private dropConnection(error: TransportError): void {
    const established = this.channel !== undefined;
    this.outbox = [];
    this.parked = 0;
    this.channel?.end();
    this.channel = undefined;
    this.socket = undefined;
    this.rejectAll(error);
    if (established && !this.closed) for (const fn of this.downListeners) fn();
  }

  private rejectAll(error: TransportError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }
}
