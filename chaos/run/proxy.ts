/**
 * A Toxiproxy-style TCP proxy in front of one node port (RESP or HTTP):
 * listens on loopback, opens one upstream connection per client connection
 * and applies the {@link ClientFaults} in force (read live from a shared
 * {@link ClientFaultState}, so a change applies to open connections at once):
 * - request path (client → node): `timeout` swallows everything on a silent
 *   connection; `reset` resets the connection instead of forwarding a chunk;
 * - reply path (node → client): silent connections swallow; each chunk is
 *   released at max(previous release, arrival + latency ± jitter) so order is
 *   kept; then written in slices (`slice`, `slice-delay`) and paced to
 *   `bandwidth` bytes per second.
 * Backpressure both ways (a full client pauses the node side and vice versa).
 * {@link ToxicProxy.close} closes the listener and every connection.
 */
import net from "node:net";
import type { ClientFaults } from "./client-faults.ts";

/** The faults in force for a set of proxies, and their counters. */
export class ClientFaultState {
  /** Counters over every proxy sharing this state. */
  readonly stats = { connections: 0, refusedUpstream: 0, resets: 0, silencedConnections: 0, delayedChunks: 0, slicedChunks: 0, bytesToNode: 0, bytesToClient: 0 };

  constructor(
    public faults: ClientFaults,
    /** Seeded random source in [0, 1) for jitter, resets, silence and slice sizes. */
    readonly random: () => number,
  ) {}
}

/** Replies queued past this many bytes pause the node side of a connection. */
const HIGH_WATER = 1024 * 1024;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** One proxied client connection. */
class ProxiedConnection {
  /** Fixed per connection: it is silent while `draw * 100 < timeoutPct`. */
  private readonly draw: number;
  private readonly queue: { data: Buffer; releaseAt: number }[] = [];
  private queuedBytes = 0;
  private pumping = false;
  private lastRelease = 0;
  private upstreamEnded = false;
  private closed = false;
  private wasSilent = false;

  constructor(
    private readonly client: net.Socket,
    private readonly upstream: net.Socket,
    private readonly state: ClientFaultState,
    private readonly onClose: () => void,
  ) {
    this.draw = state.random();
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on("data", (d: Buffer) => this.fromClient(d));
    upstream.on("data", (d: Buffer) => this.fromNode(d));
    client.on("end", () => {
      if (!this.silent()) upstream.end();
    });
    upstream.on("end", () => {
      this.upstreamEnded = true;
      if (!this.pumping) this.finishClient();
    });
    client.on("drain", () => upstream.resume());
    upstream.on("drain", () => client.resume());
    for (const s of [client, upstream]) {
      s.on("error", () => this.close());
      s.on("close", () => {
        // the node going away ends the client side once queued replies are out; the client going away ends everything
        if (s === client) this.close();
        else if (!this.pumping) this.finishClient();
      });
    }
  }

  private silent(): boolean {
    const on = this.draw * 100 < this.state.faults.timeoutPct;
    if (on && !this.wasSilent) {
      this.wasSilent = true;
      this.state.stats.silencedConnections++;
    }
    return on;
  }

  private fromClient(d: Buffer): void {
    if (this.closed || this.silent()) return;
    const f = this.state.faults;
    if (f.resetPct > 0 && this.state.random() * 100 < f.resetPct) {
      this.state.stats.resets++;
      this.reset();
      return;
    }
    this.state.stats.bytesToNode += d.length;
    if (!this.upstream.write(d)) this.client.pause();
  }

  private fromNode(d: Buffer): void {
    if (this.closed || this.silent()) return;
    const f = this.state.faults;
    const now = performance.now();
    const delay = f.latencyMs + (f.jitterMs > 0 ? (2 * this.state.random() - 1) * f.jitterMs : 0);
    if (delay > 0) this.state.stats.delayedChunks++;
    this.lastRelease = Math.max(this.lastRelease, now + Math.max(0, delay));
    this.queue.push({ data: d, releaseAt: this.lastRelease });
    this.queuedBytes += d.length;
    if (this.queuedBytes > HIGH_WATER) this.upstream.pause();
    if (!this.pumping) void this.pump();
  }

  /** Writes queued replies in order, each at its release time, sliced and paced as configured. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const head = this.queue[0]!;
        // timers may fire a little early: sleep until the release time has really passed
        for (let wait = head.releaseAt - performance.now(); wait > 0 && !this.closed; wait = head.releaseAt - performance.now()) await sleep(wait);
        if (this.closed) return;
        this.queue.shift();
        this.queuedBytes -= head.data.length;
        if (this.silent()) continue;
        await this.deliver(head.data);
        if (this.queuedBytes <= HIGH_WATER / 2) this.upstream.resume();
      }
    } finally {
      this.pumping = false;
    }
    if (this.upstreamEnded || this.upstream.destroyed) this.finishClient();
  }

  private async deliver(data: Buffer): Promise<void> {
    const f = this.state.faults;
    if (f.sliceBytes === 0 && f.bandwidthBps === 0) {
      await this.write(data);
      return;
    }
    if (f.sliceBytes > 0) this.state.stats.slicedChunks++;
    let off = 0;
    while (off < data.length && !this.closed) {
      const cur = this.state.faults;
      // a piece: a slice (±50%), or 1/20 s worth of bandwidth, whichever is smaller
      let n = data.length - off;
      if (cur.sliceBytes > 0) n = Math.min(n, Math.max(1, Math.round(cur.sliceBytes * (0.5 + this.state.random()))));
      if (cur.bandwidthBps > 0) n = Math.min(n, Math.max(1, Math.floor(cur.bandwidthBps / 20)));
      const piece = data.subarray(off, off + n);
      off += n;
      await this.write(piece);
      let pause = cur.bandwidthBps > 0 ? (1000 * n) / cur.bandwidthBps : 0;
      if (cur.sliceBytes > 0 && off < data.length) pause = Math.max(pause, cur.sliceDelayMs);
      if (pause > 0) await sleep(pause);
    }
  }

  private write(data: Buffer): Promise<void> {
    this.state.stats.bytesToClient += data.length;
    if (this.client.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.client.off("drain", done);
        this.client.off("close", done);
        resolve();
      };
      this.client.on("drain", done);
      this.client.on("close", done);
    });
  }

  private finishClient(): void {
    if (this.closed || this.silent()) return;
    this.client.end();
  }

  /** A TCP reset to the client (SO_LINGER 0), the node side closed. */
  reset(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.resetAndDestroy();
    this.upstream.destroy();
    this.onClose();
  }

  /** Closes both sides at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
    this.onClose();
  }
}

/** A proxy for one target address. */
export class ToxicProxy {
  private readonly conns = new Set<ProxiedConnection>();
  /** Client sockets whose node connection is still being opened. */
  private readonly pending = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    /** The address clients connect to. */
    readonly host: string,
    readonly port: number,
    /** The node address it forwards to. */
    readonly target: { host: string; port: number },
  ) {}

  /** Listens on `host` (port 0 = any free one) and forwards to `target` under the faults of `state`. */
  static async start(target: { host: string; port: number }, state: ClientFaultState, host = "127.0.0.1", port = 0): Promise<ToxicProxy> {
    let self: ToxicProxy | undefined;
    const server = net.createServer({ pauseOnConnect: true }, (client) => {
      state.stats.connections++;
      self?.pending.add(client);
      const upstream = net.connect({ host: target.host, port: target.port });
      let up = false;
      upstream.once("connect", () => {
        up = true;
        self?.pending.delete(client);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        const conn = new ProxiedConnection(client, upstream, state, () => self?.conns.delete(conn));
        self?.conns.add(conn);
        client.resume();
      });
      upstream.once("error", () => {
        if (up) return;
        self?.pending.delete(client);
        state.stats.refusedUpstream++;
        // the node is down: the client sees its connection closed, as with a dead node behind a load balancer
        client.destroy();
      });
      client.on("error", () => upstream.destroy());
      client.on("close", () => {
        self?.pending.delete(client);
        if (!up) upstream.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as net.AddressInfo;
    self = new ToxicProxy(server, host, addr.port, target);
    return self;
  }

  /** Open proxied connections. */
  get connections(): number {
    return this.conns.size;
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const c of [...this.conns]) c.close();
    for (const s of [...this.pending]) s.destroy();
    await closed;
  }
}
