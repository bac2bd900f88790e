/**
 * QUIC peer transport over Bun's HTTP/3 (RFC 9114 on RFC 9000 QUIC):
 * `Bun.serve({ http3: true, http1: false })` listens on UDP and peers call it
 * with `fetch(url, { protocol: "http3" })`. Each request is one POST whose
 * body is two shoal frames (hello carrying the caller's address, then the
 * request or one-way frame); the response body is one response/error frame.
 *
 * Limits of Bun 1.4.5's HTTP/3 client, checked with small scripts: `fetch`
 * with `protocol: "http3"` fails with HTTP3Unsupported as soon as `tls` has a
 * custom `ca` or a client `cert/key` (`serverName` is documented as rejected),
 * and works only with `rejectUnauthorized: false`; a server with
 * `requestCert: true` resets every such stream. So neither side can verify
 * the other's certificate. Peer authentication therefore comes from the cluster key:
 * with `clusterKey` every frame in both directions carries an HMAC-SHA256
 * and unauthenticated requests are refused. QUIC still encrypts the traffic,
 * but without the key anyone can talk to the listener and an active
 * man-in-the-middle can read it; always set the key. Unlike tcp/tls, messages
 * are not bound to a connection, so such a man-in-the-middle could also replay
 * a request it has read. Prefer the tls transport on untrusted networks.
 */
import { joinHostPort } from "../core/net-address.ts";
import type { Link, Listener, PeerHandler, Transport } from "../core/transport.ts";
import { TransportError } from "../core/transport.ts";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, type Frame, FrameReader, FrameType, type FrameTypeCode } from "../core/wire/framing.ts";
import { NodeHmacSigner } from "./framing.ts";
import { parseHostPort } from "./tcp.ts";

/** Options for {@link QuicTransport}. */
export interface QuicTransportOptions {
  /** Listener certificate and key (PEM); QUIC requires TLS 1.3. */
  cert: string;
  key: string;
  /** Shared cluster key; strongly recommended (it is the only peer authentication on this transport). */
  clusterKey?: string | Uint8Array;
  maxFrameBytes?: number;
  requestTimeoutMs?: number;
  /** Called when the listener refuses a request (bad frame or wrong cluster key); `remote` is "ip:port". */
  onRefused?: (reason: string, remote: string) => void;
}

/** Peer transport on HTTP/3 over QUIC. */
export class QuicTransport implements Transport {
  readonly name = "quic";
  readonly signer?: NodeHmacSigner;
  readonly max: number;

  constructor(readonly options: QuicTransportOptions) {
    if (options.clusterKey !== undefined) this.signer = new NodeHmacSigner(options.clusterKey);
    this.max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Encodes (and seals) frames into one body. */
  pack(frames: Array<[FrameTypeCode, Uint8Array]>): Uint8Array<ArrayBuffer> {
    const parts = frames.map(([type, payload]) => {
      const f = encodeFrame(type, 0, payload, this.signer !== undefined, this.max);
      return this.signer ? this.signer.seal(f) : f;
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Decodes exactly `count` authenticated frames or throws TransportError("refused"/"too-large"). */
  unpack(body: Uint8Array, count: number): Frame[] {
    const frames: Frame[] = [];
    let error: TransportError | undefined;
    const reader = new FrameReader({
      maxFrameBytes: this.max,
      auth: this.signer,
      onFrame: (f) => frames.push(f),
      onError: (e) => (error = e),
    });
    reader.push(body);
    if (error) throw error;
    if (frames.length !== count) throw new TransportError("malformed peer message", "refused");
    return frames;
  }

  async listen(address: string, handler: PeerHandler): Promise<Listener> {
    const { hostname, port } = parseHostPort(address);
    const reply = (type: FrameTypeCode, payload: Uint8Array) => new Response(this.pack([[type, payload]]));
    const server = Bun.serve({
      hostname,
      port,
      http3: true,
      http1: false,
      tls: { cert: this.options.cert, key: this.options.key },
      maxRequestBodySize: this.max * 2 + 1024,
      fetch: async (req, srv) => {
        let frames: Frame[];
        try {
          frames = this.unpack(new Uint8Array(await req.arrayBuffer()), 2);
        } catch (e) {
          const ip = srv.requestIP(req);
          this.options.onRefused?.(`bad frame or wrong cluster key: ${(e as Error).message}`, ip ? joinHostPort(ip.address, ip.port) : "?");
          return new Response(null, { status: 401 });
        }
        const [hello, msg] = frames as [Frame, Frame];
        if (hello.type !== FrameType.hello) return new Response(null, { status: 400 });
        const from = new TextDecoder().decode(hello.payload);
        if (msg.type === FrameType.oneway) {
          try {
            handler.onMessage(from, msg.payload);
          } catch {
            // a failing message handler is the receiver's problem, not the sender's
          }
          return new Response(null, { status: 204 });
        }
        try {
          return reply(FrameType.response, await handler.onRequest(from, msg.payload));
        } catch (err) {
          return reply(FrameType.error, new TextEncoder().encode(String((err as Error)?.message ?? err)));
        }
      },
    });
    return {
      address: joinHostPort(hostname, server.port ?? 0),
      close: async () => {
        await server.stop(true);
      },
    };
  }

  connect(address: string, localAddress: string): Link {
    return new QuicLink(this, address, localAddress);
  }
}

class QuicLink implements Link {
  private readonly url: string;
  private readonly inflight = new Set<AbortController>();
  private sendChain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly t: QuicTransport,
    private readonly address: string,
    private readonly from: string,
  ) {
    this.url = `https://${address}/peer`;
  }

  async request(payload: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    const body = this.body(FrameType.request, payload);
    const res = await this.post(body, timeoutMs ?? this.t.options.requestTimeoutMs ?? 5000);
    const [frame] = this.t.unpack(res, 1) as [Frame];
    if (frame.type === FrameType.response) return frame.payload;
    throw new Error(`peer ${this.address}: ${new TextDecoder().decode(frame.payload)}`);
  }

  send(payload: Uint8Array): void {
    if (this.closed) return;
    const body = this.body(FrameType.oneway, payload); // throws too-large synchronously
    // One stream per message would let messages overtake each other: chain them to keep order.
    this.sendChain = this.sendChain.then(() => this.post(body, this.t.options.requestTimeoutMs ?? 5000)).catch(() => {});
  }

  close(): void {
    this.closed = true;
    for (const c of this.inflight) c.abort(new TransportError(`link to ${this.address} was closed locally`, "closed"));
  }

  private body(type: FrameTypeCode, payload: Uint8Array): Uint8Array<ArrayBuffer> {
    if (this.closed) throw new TransportError(`link to ${this.address} is closed`, "closed");
    return this.t.pack([
      [FrameType.hello, new TextEncoder().encode(this.from)],
      [type, payload],
    ]);
  }

  private async post(body: Uint8Array<ArrayBuffer>, ms: number): Promise<Uint8Array> {
    const ctrl = new AbortController();
    const timer = setTimeout(
      () => ctrl.abort(new TransportError(`request to ${this.address} timed out after ${ms} ms`, "timeout")),
      ms,
    );
    this.inflight.add(ctrl);
    try {
      const res = await fetch(this.url, {
        method: "POST",
        body,
        protocol: "http3",
        tls: { rejectUnauthorized: false },
        signal: ctrl.signal,
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (res.status === 401) throw new TransportError(`peer ${this.address} refused the message: cluster key mismatch`, "refused");
      if (!res.ok) throw new TransportError(`peer ${this.address} answered HTTP ${res.status}`, "refused");
      return bytes;
    } catch (err) {
      if (err instanceof TransportError) throw err;
      if (ctrl.signal.aborted && ctrl.signal.reason instanceof TransportError) throw ctrl.signal.reason;
      throw new TransportError(`connection to ${this.address} failed: ${(err as Error)?.message}`, "closed", { cause: err });
    } finally {
      clearTimeout(timer);
      this.inflight.delete(ctrl);
    }
  }
}
