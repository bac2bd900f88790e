/**
 * Small pipelining RESP client over Bun.connect, used by `shoal cli`,
 * `shoal stats` and `shoal bench`. Replies come back in order; error replies
 * resolve as RespError values (use {@link RespClient.call} to throw instead).
 */
import type { Socket } from "bun";
import { connectFailure } from "./connect-errors.ts";
import { encodeCommand, RespError, RespParser, type RespReply } from "./resp-parser.ts";

export { encodeCommand, RespError, RespMap, RespParser, type RespReply, RespSimple, replyText } from "./resp-parser.ts";

/** Connection options. */
export interface ConnectOptions {
  host?: string;
  port?: number;
  /** Sent with AUTH right after connecting. */
  password?: string;
  /** ACL user for AUTH (with `password`); default: the default user. */
  user?: string;
  /** Connect over TLS (redis-cli --tls); CA and client certificate as PEM text. */
  tls?: ClientTlsOptions;
  /** Connect (and AUTH) deadline in ms. Default 5000. */
  timeoutMs?: number;
}

/** TLS settings of a client connection. */
export interface ClientTlsOptions {
  /** CA certificates to trust (PEM); default: the system's. */
  ca?: string;
  /** Client certificate and key (PEM), for servers started with --tls-ca. */
  cert?: string;
  key?: string;
  /** Skip verifying the server's certificate (redis-cli --insecure). */
  insecure?: boolean;
  /** Server name to verify (redis-cli --sni); default the host. */
  serverName?: string;
}

type Waiter = (reply: RespReply | Error) => void;

/** A connected client; commands may be pipelined freely. */
export class RespClient {
  private readonly parser = new RespParser();
  private readonly waiters: Waiter[] = [];
  private head = 0;
  private queue: Uint8Array[] = [];
  private socket: Socket<undefined> | null = null;
  private closedError: Error | null = null;
  /** Resolves when the connection closes (by either side). */
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  private constructor() {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** Connects, optionally authenticates. Rejects with a readable message on failure or timeout. */
  static async connect(opts: ConnectOptions = {}): Promise<RespClient> {
    const host = opts.host ?? "127.0.0.1";
    const port = opts.port ?? 3320;
    const timeoutMs = opts.timeoutMs ?? 5000;
    const client = new RespClient();
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "TIMEOUT" })), timeoutMs);
    });
    const t = opts.tls;
    let handshake: Promise<void> = Promise.resolve();
    let settle: (err?: Error) => void = () => {};
    if (t) handshake = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
    try {
      client.socket = await Promise.race([
        Bun.connect({
          hostname: host,
          port,
          tls: t ? { ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: t.insecure !== true, serverName: t.serverName } : undefined,
          socket: {
            data: (_s, chunk) => client.onData(chunk),
            drain: (s) => client.flush(s),
            close: () => {
              settle(Object.assign(new Error("the server closed the connection during the TLS handshake"), { code: "ECONNRESET" }));
              client.onClose(new Error("connection closed"));
            },
            error: (_s, err) => {
              settle(err);
              client.onClose(err);
            },
            handshake: (_s, ok, authError) => settle(ok && (authError === null || t?.insecure) ? undefined : (authError ?? new Error("TLS handshake failed"))),
          },
        }),
        deadline,
      ]);
      await Promise.race([handshake, deadline]);
    } catch (err) {
      client.close();
      clearTimeout(timer);
      throw new Error(connectFailure(address, err, t !== undefined));
    }
    try {
      client.socket.setNoDelay(true);
      if (opts.password !== undefined) {
        const auth = opts.user === undefined ? ["AUTH", opts.password] : ["AUTH", opts.user, opts.password];
        const reply = await Promise.race([client.send(auth), deadline]);
        if (reply instanceof RespError) throw new Error(`AUTH failed: ${reply.message}`);
      }
      return client;
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Number of replies still awaited. */
  get inFlight(): number {
    return this.waiters.length - this.head;
  }

  /** Sends one command; resolves with its reply (RespError for error replies). */
  send(args: readonly (string | number | Uint8Array)[]): Promise<RespReply> {
    return new Promise((resolve, reject) => {
      this.writeRaw(encodeCommand(args), [(r) => (r instanceof Error ? reject(r) : resolve(r))]);
    });
  }

  /** Sends one command and throws on an error reply. */
  async call(...args: (string | number | Uint8Array)[]): Promise<RespReply> {
    const reply = await this.send(args);
    if (reply instanceof RespError) throw new Error(reply.message);
    return reply;
  }

  /** Pipelines several commands in one write; resolves with every reply in order. */
  sendMany(commands: readonly (readonly (string | number | Uint8Array)[])[]): Promise<RespReply[]> {
    return Promise.all(commands.map((c) => this.send(c)));
  }

  /**
   * Low-level: writes pre-encoded bytes holding `waiters.length` commands; each
   * waiter gets its reply (or the connection error). Used by bench.
   */
  writeRaw(bytes: Uint8Array, waiters: Waiter[]): void {
    if (this.closedError) {
      for (const w of waiters) w(this.closedError);
      return;
    }
    for (const w of waiters) this.waiters.push(w);
    if (this.queue.length > 0) {
      this.queue.push(bytes);
      return;
    }
    const n = this.socket!.write(bytes);
    if (n < bytes.length) this.queue.push(bytes.subarray(Math.max(0, n)));
  }

  /** Closes the connection; pending commands fail. */
  close(): void {
    this.socket?.end();
    this.onClose(new Error("connection closed"));
  }

  private flush(socket: Socket<undefined>): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = socket.write(head);
      if (n < head.length) {
        this.queue[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.queue.shift();
    }
  }

  private onData(chunk: Uint8Array): void {
    this.parser.push(chunk);
    for (;;) {
      let reply: RespReply | undefined;
      try {
        reply = this.parser.next();
      } catch (err) {
        this.onClose(err as Error);
        this.socket?.end();
        return;
      }
      if (reply === undefined) break;
      const waiter = this.waiters[this.head++];
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
      waiter?.(reply);
    }
  }

  private onClose(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    const pending = this.waiters.slice(this.head);
    this.waiters.length = 0;
    this.head = 0;
    for (const w of pending) w(err);
    this.markClosed();
  }
}
