/**
 * RESP over TLS (`--tls-port`, `--tls-cert`, `--tls-key`, optional `--tls-ca`):
 * the same socket handler and ClientSession as the plain listener in
 * resp-server.ts, behind Bun.listen's TLS. With a CA, clients must present a
 * certificate that chains to it; without one, any client may connect (and
 * still needs AUTH when a password is set). `redis-cli --tls` works.
 *
 * Certificate reload (SIGHUP): Bun cannot swap the certificate of a running
 * listener, so {@link ReloadableRespListener.reload} opens a second listener
 * on the same port with SO_REUSEPORT and the new material, then stops the old
 * one from accepting (`stop(false)`): connections it already accepted keep
 * going on the old certificate, new handshakes get the new one. A bad
 * certificate throws and leaves the old listener serving.
 */
import { joinHostPort } from "../core/net-address.ts";
import type { ShoalNode } from "../core/node.ts";
import { type RespConn, RespGuard, type RespListener, respSocketHandler } from "./resp-server.ts";

/** PEM material of the TLS client port. */
export interface RespTlsOptions {
  cert: string;
  key: string;
  /** When set, clients must present a certificate signed by this CA. */
  ca?: string;
}

/** A TLS listener whose certificate can be replaced without dropping connections. */
export interface ReloadableRespListener extends RespListener {
  /** Starts serving new handshakes with `tls`; throws (old certificate stays) when Bun rejects it. */
  reload(tls: RespTlsOptions): void;
}

/** Serves RESP over TLS on `hostname:port` (0 picks a free port). */
export function listenRespTls(node: ShoalNode, hostname: string, port: number, tls: RespTlsOptions, guard?: RespGuard): ReloadableRespListener {
  const g = guard ?? new RespGuard({ maxClientsPerIp: 0, maxOutputBufferBytes: 0, maxPubsubOutputBufferBytes: 0 }, node.log);
  const base = respSocketHandler(node, g);
  const open = (p: number, t: RespTlsOptions) => {
    const requireClientCert = t.ca !== undefined;
    const socket: Bun.SocketHandler<RespConn> = {
      ...base,
      handshake(s, success, authorizationError) {
        if (success && (!requireClientCert || s.authorized)) return;
        const remote = joinHostPort(s.remoteAddress, (s as { remotePort?: number }).remotePort ?? 0);
        g.refusals.refuse("TLS handshake failed", { remote, error: authorizationError?.message ?? "no valid client certificate" });
        s.end();
      },
    };
    return Bun.listen<RespConn>({
      hostname,
      port: p,
      // lets reload() bind the same port next to the running listener
      reusePort: true,
      tls: { cert: t.cert, key: t.key, ca: t.ca, requestCert: requireClientCert, rejectUnauthorized: requireClientCert },
      socket,
    } as Bun.TCPSocketListenOptions<RespConn>);
  };
  let server = open(port, tls);
  const bound = server.port;
  return {
    port: bound,
    stop: () => server.stop(true),
    reload(next) {
      const fresh = open(bound, next);
      server.stop(false);
      server = fresh;
    },
  };
}
