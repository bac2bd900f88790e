/**
 * A raw RESP client over a plain TCP socket: sends exact bytes and returns
 * exact reply bytes, so tests can compare servers byte for byte and feed
 * malformed input. Every wait is bounded by a timeout.
 */
import { connect, type Socket } from "node:net";
import { encodeCommand, replyEnd, showBytes } from "./resp.ts";

/** Thrown when a reply does not arrive in time or the connection closes first. */
export class ReplyTimeout extends Error {}

/** One TCP connection that reads RESP replies as raw bytes. */
export class RawClient {
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private closedFlag = false;
  /** Resolves when the server (or we) closed the connection. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    let onClose: () => void = () => {};
    this.closed = new Promise((resolve) => {
      onClose = resolve;
    });
    socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    const finish = () => {
      this.closedFlag = true;
      this.wake();
      onClose();
    };
    socket.on("close", finish);
    socket.on("end", finish);
    socket.on("error", finish);
  }

  /** Connects to host:port; rejects after `timeoutMs`. */
  static connect(port: number, host = "127.0.0.1", timeoutMs = 5000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new RawClient(socket));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** True once the connection is closed. */
  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Bytes received and not yet consumed by a read. */
  get pending(): Buffer {
    return this.buffer;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private waitForData(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0 || this.closedFlag) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(false);
      }, left);
      this.waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** Writes raw bytes (ignored once closed). */
  send(bytes: Uint8Array | string): void {
    if (this.closedFlag) return;
    this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  /** Reads exactly one complete reply's bytes; throws ReplyTimeout when none arrives in time. */
  async readReply(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.length > 0 ? replyEnd(this.buffer) : -1;
      if (end >= 0) {
        const reply = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end);
        return Buffer.from(reply);
      }
      if (this.closedFlag) throw new ReplyTimeout(`connection closed; partial reply ${showBytes(this.buffer)}`);
      const more = await this.waitForData(deadline);
      if (!more && !this.closedFlag && Date.now() >= deadline) {
        throw new ReplyTimeout(`no complete reply within ${timeoutMs} ms; have ${showBytes(this.buffer)}`);
      }
    }
  }

  /** Sends one command (as a RESP array) and returns its reply bytes. */
  async command(args: readonly (string | Uint8Array)[], timeoutMs = 5000): Promise<Buffer> {
    this.send(encodeCommand(args));
    return this.readReply(timeoutMs);
  }

  /** Same as {@link command} but returns the reply decoded as latin1 text (handy in assertions). */
  async call(args: readonly (string | Uint8Array)[], timeoutMs = 5000): Promise<string> {
    return (await this.command(args, timeoutMs)).toString("latin1");
  }

  /** Waits until the server closes the connection; true when it did within `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Closes the connection. */
  close(): void {
    this.closedFlag = true;
    this.socket.destroy();
    this.wake();
  }
}
