/**
 * Builds the peer transport chosen by `--peer-transport` (tcp, tls or quic)
 * from the configuration, reading PEM files and the cluster key file with
 * node:fs. The config schema has already checked that the needed flags are set.
 */
import { readFileSync } from "node:fs";
import type { ShoalConfig } from "../core/config.ts";
import type { Transport } from "../core/transport.ts";
import { QuicTransport } from "../transports/quic.ts";
import { TcpTransport } from "../transports/tcp.ts";
import { TlsTransport } from "../transports/tls.ts";

/** The fields of {@link ShoalConfig} that choose and configure the peer transport. */
export type PeerTransportConfig = Pick<
  ShoalConfig,
  "peerTransport" | "clusterKey" | "clusterKeyFile" | "peerTlsCert" | "peerTlsKey" | "peerTlsCa" | "peerTimeoutMs"
>;

/** Reads a file that a flag names; the error names the flag (never the file's content). */
function readFlagFile(flag: string, path: string | undefined): string {
  if (path === undefined) throw new Error(`${flag} is required for this peer transport`);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${flag} ${path}: ${(e as Error).message}`);
  }
}

/** The cluster key from `--cluster-key` or `--cluster-key-file` (trailing newline trimmed), or undefined. */
export function clusterKeyOf(cfg: PeerTransportConfig): string | undefined {
  if (cfg.clusterKey !== undefined) return cfg.clusterKey;
  if (cfg.clusterKeyFile === undefined) return undefined;
  const key = readFlagFile("--cluster-key-file", cfg.clusterKeyFile).trim();
  if (key === "") throw new Error(`--cluster-key-file ${cfg.clusterKeyFile} is empty`);
  return key;
}

/** Creates the peer transport described by `cfg`; throws a clear error when a file is missing or unreadable. */
export function createPeerTransport(cfg: PeerTransportConfig, onRefused?: (reason: string, remote: string) => void): Transport {
  const clusterKey = clusterKeyOf(cfg);
  const requestTimeoutMs = cfg.peerTimeoutMs;
  switch (cfg.peerTransport) {
    case "tcp":
      return new TcpTransport({ requestTimeoutMs, clusterKey, onRefused });
    case "tls":
      return new TlsTransport({
        requestTimeoutMs,
        clusterKey,
        onRefused,
        cert: readFlagFile("--peer-tls-cert", cfg.peerTlsCert),
        key: readFlagFile("--peer-tls-key", cfg.peerTlsKey),
        ca: readFlagFile("--peer-tls-ca", cfg.peerTlsCa),
      });
    case "quic":
      if (clusterKey === undefined) throw new Error("--peer-transport quic needs --cluster-key or --cluster-key-file");
      return new QuicTransport({
        requestTimeoutMs,
        clusterKey,
        onRefused,
        cert: readFlagFile("--peer-tls-cert", cfg.peerTlsCert),
        key: readFlagFile("--peer-tls-key", cfg.peerTlsKey),
      });
  }
}
