import type { Logger } from "../core/discovery.ts";
import { joinHostPort } from "../core/net-address.ts";
import type { ShoalNode } from "../core/node.ts";
import { ClientSession } from "../core/protocol/session.ts";

/** Per-socket state of a RESP connection: the session and bytes the kernel did not take yet. */
export interface RespConn {
  session: ClientSession | null;
  queue: Uint8Array[];
  /** Bytes in `queue` (the client's output buffer). */
  queued: number;
  closing: boolean;
  /** Remote IP counted in the per-IP table, "" when not counted. */
  ip: string;
}

const enc = new TextEncoder();
const MAX_CLIENTS_REPLY = enc.encode("-ERR max number of clients reached\r\n");
const MAX_PER_IP_REPLY = enc.encode("-ERR max number of clients from this IP address reached\r\n");

/** A running RESP listener. */
export interface RespListener {
  port: number;
  stop(): void;
}

/** Connection limits of the client port (see README "Running in production"). Sizes in bytes. */
export interface RespLimits {
  /** Connections from one IP address (plain and TLS together); 0 = unlimited. */
  maxClientsPerIp: number;
  /** Unsent reply bytes before a client is closed; 0 = unlimited. */
  maxOutputBufferBytes: number;
  /** The same for a client in subscribed (pub/sub) mode; 0 = unlimited. */
  maxPubsubOutputBufferBytes: number;
}

/**
 * Logs refused clients at most once per reason and second (a flood of
 * refusals must not flood the log); the next line says how many were
 * suppressed. Never logs credentials.
 */
export class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  /** @param who what is refused, first word of the log line ("client", "peer"). */
  constructor(
    private readonly log: Logger,
    private readonly who = "client",
  ) {}

  refuse(reason: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const entry = this.last.get(reason);
    if (entry && now - entry.at < 1000) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(reason, { at: now, suppressed: 0 });
    this.log.warn(`${this.who} refused: ${reason}`, suppressed > 0 ? { ...fields, suppressed } : fields);
  }
}

/** State shared by the plain and TLS listeners of one node: limits, per-IP counts, refusal log. */
export class RespGuard {
  private readonly perIp = new Map<string, number>();
  readonly refusals: RefusalLog;

  constructor(
    readonly limits: RespLimits,
    log: Logger,
  ) {
    this.refusals = new RefusalLog(log);
  }

  /** Counts a connection from `ip`; false when the per-IP limit is reached. */
  admit(ip: string): boolean {
    const n = this.perIp.get(ip) ?? 0;
    if (this.limits.maxClientsPerIp > 0 && n >= this.limits.maxClientsPerIp) return false;
    this.perIp.set(ip, n + 1);
    return true;
  }

  release(ip: string): void {
    const n = (this.perIp.get(ip) ?? 0) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
  }

  /** Output-buffer limit for a session (pub/sub clients have their own). */
  outputLimit(s: ClientSession | null): number {
    return s?.subscribed ? this.limits.maxPubsubOutputBufferBytes : this.limits.maxOutputBufferBytes;
  }
}

const NO_LIMITS: RespLimits = { maxClientsPerIp: 0, maxOutputBufferBytes: 0, maxPubsubOutputBufferBytes: 0 };

/**
 * The Bun socket handler shared by the plain and TLS RESP listeners: one
 * ClientSession per socket, writes that the kernel cannot take right away
 * are queued and sent on drain; total, per-IP and output-buffer limits.
 */
export function respSocketHandler(node: ShoalNode, guard = new RespGuard(NO_LIMITS, node.log)): Bun.SocketHandler<RespConn> {
  const closeConn = (conn: RespConn): void => {
    conn.session?.onClose();
    if (conn.ip !== "") guard.release(conn.ip);
    conn.ip = "";
  };
  return {
    open(socket) {
      const conn: RespConn = { session: null, queue: [], queued: 0, closing: false, ip: "" };
      socket.data = conn;
      const ip = socket.remoteAddress;
      const remote = joinHostPort(ip, (socket as { remotePort?: number }).remotePort ?? 0);
      if (!node.acceptsClient()) {
        node.stats.rejectedConnections++;
        guard.refusals.refuse("max number of clients reached", { remote, maxclients: node.config.maxClients });
        socket.write(MAX_CLIENTS_REPLY);
        socket.end();
        return;
      }
      if (!guard.admit(ip)) {
        node.stats.rejectedConnections++;
        guard.refusals.refuse("max number of clients from this IP address reached", { remote, maxClientsPerIp: guard.limits.maxClientsPerIp });
        socket.write(MAX_PER_IP_REPLY);
        socket.end();
        return;
      }
      conn.ip = ip;
      socket.setNoDelay(true);
      conn.session = new ClientSession(node, {
        remote,
        write(bytes) {
          if (conn.closing) return;
          if (conn.queue.length === 0) {
            const n = socket.write(bytes);
            if (n >= bytes.length) return;
            bytes = bytes.subarray(Math.max(0, n));
          }
          conn.queue.push(bytes.slice());
          conn.queued += bytes.length;
          const limit = guard.outputLimit(conn.session);
          if (limit > 0 && conn.queued > limit) {
            guard.refusals.refuse("output buffer limit reached", { remote, queuedBytes: conn.queued, limit, subscribed: conn.session?.subscribed ?? false });
            conn.queue = [];
            conn.queued = 0;
            conn.closing = true;
            socket.terminate();
            closeConn(conn);
          }
        },
        close() {
          conn.closing = true;
          if (conn.queue.length === 0) socket.end();
        },
      });
    },
    data(socket, data) {
      socket.data.session?.onData(data);
    },
    drain(socket) {
      const conn = socket.data;
      while (conn.queue.length > 0) {
        const head = conn.queue[0]!;
        const n = socket.write(head);
        if (n < head.length) {
          const sent = Math.max(0, n);
          conn.queue[0] = head.subarray(sent);
          conn.queued -= sent;
          return;
        }
        conn.queue.shift();
        conn.queued -= head.length;
      }
      if (conn.closing) socket.end();
    },
    close(socket) {
      closeConn(socket.data);
    },
    error(socket) {
      closeConn(socket.data);
    },
  };
}

/** Serves RESP over TCP with Bun.listen (see {@link respSocketHandler}). */
export function listenResp(node: ShoalNode, hostname: string, port: number, guard?: RespGuard): RespListener {
  const server = Bun.listen<RespConn>({ hostname, port, socket: respSocketHandler(node, guard) });
  return { port: server.port, stop: () => server.stop(true) };
}
