/**
 * Node-to-node TLS 1.3 with mutual authentication. Every node presents a
 * certificate signed by the cluster CA and requires one from its peers: a
 * dialer without a valid client certificate is refused during the handshake.
 * Framing, multiplexing and reconnects are the TCP transport's.
 */
import { constants } from "node:crypto";
import { TcpTransport, type TcpTransportOptions } from "./tcp.ts";

/** PEM material for mutual TLS (`--peer-tls-cert/--peer-tls-key/--peer-tls-ca`). */
export interface PeerTlsOptions extends Omit<TcpTransportOptions, "tlsServer" | "tlsClient"> {
  /** This node's certificate chain (PEM), used as server and client certificate. */
  cert: string;
  /** This node's private key (PEM). */
  key: string;
  /** The cluster CA (PEM) that peer certificates must chain to. */
  ca: string;
  /** Name to check in the server certificate; defaults to the host in the address. */
  serverName?: string;
}

/** Refuses TLS 1.0-1.2: only TLS 1.3 handshakes succeed. */
const TLS13_ONLY =
  (constants.SSL_OP_NO_TLSv1 ?? 0x04000000) |
  (constants.SSL_OP_NO_TLSv1_1 ?? 0x10000000) |
  (constants.SSL_OP_NO_TLSv1_2 ?? 0x08000000);

/** Creates the mutual-TLS peer transport. */
export class TlsTransport extends TcpTransport {
  constructor(options: PeerTlsOptions) {
    const { cert, key, ca, serverName, ...rest } = options;
    super(
      {
        ...rest,
        tlsServer: { cert, key, ca, requestCert: true, rejectUnauthorized: true, secureOptions: TLS13_ONLY },
        tlsClient: { cert, key, ca, rejectUnauthorized: true, serverName, secureOptions: TLS13_ONLY },
      },
      "tls",
    );
  }
}
