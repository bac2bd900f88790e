/**
 * The chaos workload's view of one node: a RESP connection (cmd/resp-client.ts)
 * with a per-command deadline, reconnecting after any failure, and a
 * classification of every answer into Jepsen outcomes: `ok`, `fail` (surely
 * not applied: refused before anything ran) or `unknown` (may have been
 * applied: timeout, closed connection, -WRITEQUORUM whose local write
 * stays, a forward whose owner may have run it).
 */
import { RespClient, RespError, type RespReply } from "../../cmd/resp-client.ts";

/** One attempt's result. */
export type Attempt =
  | { outcome: "ok"; reply: RespReply }
  | { outcome: "fail" | "unknown"; error: string; /** worth trying again (another node, a bit later) */ retry: boolean };

/** Classifies an error reply of a command that writes (`write`) or only reads. */
export function classifyError(message: string, write: boolean): Attempt {
  const code = message.split(" ", 1)[0] ?? "";
  const error = message.length > 160 ? `${message.slice(0, 160)}…` : message;
  switch (code) {
    case "CLUSTERQUORUM": // refused before running
      return { outcome: "fail", error, retry: true };
    case "CLUSTERDOWN":
      // "not ready yet" is answered before routing; an unreachable owner may have run a forwarded write
      if (/not ready/.test(message) || !write) return { outcome: "fail", error, retry: true };
      return { outcome: "unknown", error, retry: true };
    case "WRITEQUORUM": // the owner's local write stays
      return { outcome: write ? "unknown" : "fail", error, retry: true };
    case "READQUORUM":
    case "LOADING":
    case "TRYAGAIN":
      return { outcome: "fail", error, retry: true };
    default:
      return { outcome: write ? "unknown" : "fail", error, retry: false };
  }
}

/** A lazily (re)connected client for one node address. */
export class NodeConnection {
  private client: RespClient | null = null;
  private connecting: Promise<RespClient> | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    /** AUTH password (the nodes' --requirepass), if any. */
    private readonly password?: string,
  ) {}

  /**
   * Sends `args` and waits at most `timeoutMs` (connect included). A refused
   * connection is `fail` (nothing was sent); a timeout or a connection lost
   * after sending is `unknown` for writes. Any failure drops the connection.
   */
  async call(args: (string | number)[], timeoutMs: number, write: boolean): Promise<Attempt> {
    let sent = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(1, timeoutMs));
    });
    try {
      const client = await Promise.race([this.connect(timeoutMs), deadline]);
      if (client === "timeout") {
        this.drop();
        return { outcome: "fail", error: `connect to ${this.host}:${this.port} timed out`, retry: true };
      }
      sent = true;
      const reply = await Promise.race([client.send(args), deadline]);
      if (reply === "timeout") {
        this.drop();
        return { outcome: write ? "unknown" : "fail", error: `no answer within ${timeoutMs} ms`, retry: true };
      }
      if (reply instanceof RespError) return classifyError(reply.message, write);
      return { outcome: "ok", reply };
    } catch (err) {
      this.drop();
      const msg = err instanceof Error ? err.message : String(err);
      return { outcome: sent && write ? "unknown" : "fail", error: msg, retry: true };
    } finally {
      clearTimeout(timer);
    }
  }

  private connect(timeoutMs: number): Promise<RespClient> {
    if (this.client) return Promise.resolve(this.client);
    if (!this.connecting) {
      const p = RespClient.connect({ host: this.host, port: this.port, timeoutMs: Math.min(timeoutMs, 2000), ...(this.password ? { password: this.password } : {}) });
      this.connecting = p;
      p.then(
        (c) => {
          if (this.connecting !== p) {
            c.close();
            return;
          }
          this.client = c;
          this.connecting = null;
          void c.closed.then(() => {
            if (this.client === c) this.client = null;
          });
        },
        () => {
          if (this.connecting === p) this.connecting = null;
        },
      );
    }
    return this.connecting;
  }

  /** Closes the connection (pending commands fail). */
  drop(): void {
    const c = this.client;
    this.client = null;
    this.connecting = null;
    c?.close();
  }
}
