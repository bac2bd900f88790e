import type { ShoalNode } from "../core/node.ts";
import { ClientSession } from "../core/protocol/session.ts";

/** Per-socket state of a RESP connection: the session and bytes the kernel did not take yet. */
export interface RespConn {
  session: ClientSession | null;
  queue: Uint8Array[];
  closing: boolean;
}

const MAX_CLIENTS_REPLY = new TextEncoder().encode("-ERR max number of clients reached\r\n");

/** A running RESP listener. */
export interface RespListener {
  port: number;
  stop(): void;
}

/**
 * The Bun socket handler shared by the plain and TLS RESP listeners: one
 * ClientSession per socket, writes that the kernel cannot take right away
 * are queued and sent on drain.
 */
export function respSocketHandler(node: ShoalNode): Bun.SocketHandler<RespConn> {
  return {
    open(socket) {
      const conn: RespConn = { session: null, queue: [], closing: false };
      socket.data = conn;
      if (!node.acceptsClient()) {
        node.stats.rejectedConnections++;
        socket.write(MAX_CLIENTS_REPLY);
        socket.end();
        return;
      }
      socket.setNoDelay(true);
      conn.session = new ClientSession(node, {
        remote: `${socket.remoteAddress}:${(socket as { remotePort?: number }).remotePort ?? 0}`,
        write(bytes) {
          if (conn.queue.length > 0) {
            conn.queue.push(bytes.slice());
            return;
          }
          const n = socket.write(bytes);
          if (n < bytes.length) conn.queue.push(bytes.slice(Math.max(0, n)));
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
          conn.queue[0] = head.subarray(Math.max(0, n));
          return;
        }
        conn.queue.shift();
      }
      if (conn.closing) socket.end();
    },
    close(socket) {
      socket.data.session?.onClose();
    },
    error(socket) {
      socket.data.session?.onClose();
    },
  };
}

/** Serves RESP over TCP with Bun.listen (see {@link respSocketHandler}). */
export function listenResp(node: ShoalNode, hostname: string, port: number): RespListener {
  const server = Bun.listen<RespConn>({ hostname, port, socket: respSocketHandler(node) });
  return { port: server.port, stop: () => server.stop(true) };
}
