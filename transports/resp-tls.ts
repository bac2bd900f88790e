/**
 * RESP over TLS (`--tls-port`, `--tls-cert`, `--tls-key`, optional `--tls-ca`):
 * the same socket handler and ClientSession as the plain listener in
 * resp-server.ts, behind Bun.listen's TLS. With a CA, clients must present a
 * certificate that chains to it; without one, any client may connect (and
 * still needs AUTH when a password is set). `redis-cli --tls` works.
 */
import type { ShoalNode } from "../core/node.ts";
import { type RespConn, type RespListener, respSocketHandler } from "./resp-server.ts";

/** PEM material of the TLS client port. */
export interface RespTlsOptions {
  cert: string;
  key: string;
  /** When set, clients must present a certificate signed by this CA. */
  ca?: string;
}

/** Serves RESP over TLS on `hostname:port` (0 picks a free port). */
export function listenRespTls(node: ShoalNode, hostname: string, port: number, tls: RespTlsOptions): RespListener {
  const requireClientCert = tls.ca !== undefined;
  const server = Bun.listen<RespConn>({
    hostname,
    port,
    tls: { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: requireClientCert, rejectUnauthorized: requireClientCert },
    socket: respSocketHandler(node),
  });
  return { port: server.port, stop: () => server.stop(true) };
}
