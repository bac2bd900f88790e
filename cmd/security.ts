/**
 * Security wiring of `shoal serve` that reads files: the ACL file
 * (`--acl-file`), PEM material for the TLS listeners, and certificate reload
 * on SIGHUP. Kept apart from serve.ts so the listeners' start-up stays short.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Server } from "bun";
import type { ShoalConfig } from "../core/config.ts";
import type { Logger } from "../core/discovery.ts";
import type { NodeSettings, ShoalNode } from "../core/node.ts";
import { RespGuard } from "../transports/resp-server.ts";
import { listenRespTls, type ReloadableRespListener, type RespTlsOptions } from "../transports/resp-tls.ts";
import { type Fetch, idleTimeoutSeconds } from "./http-limits.ts";
import { listening } from "./listen-errors.ts";

/** Reads a file named by `flag`; the error names the flag and path, never the content. */
export function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The ACL settings of the node: the lines of --acl-file (Redis ACL file syntax). */
export function aclSettings(cfg: ShoalConfig): Partial<NodeSettings> {
  if (cfg.aclFile === undefined) return {};
  return { aclLines: readFlagFile("--acl-file", cfg.aclFile).split(/\r?\n/), aclSource: cfg.aclFile };
}

/** PEM material of the client-facing TLS listeners (--tls-cert, --tls-key, --tls-ca). */
export function clientTlsMaterial(cfg: ShoalConfig): RespTlsOptions | null {
  if (cfg.tlsCert === undefined || cfg.tlsKey === undefined) return null;
  return {
    cert: readFlagFile("--tls-cert", cfg.tlsCert),
    key: readFlagFile("--tls-key", cfg.tlsKey),
    ca: cfg.tlsCa === undefined ? undefined : readFlagFile("--tls-ca", cfg.tlsCa),
  };
}

/** Serial number (hex) of the first certificate in `pem`, for log lines; "?" when unreadable. */
export function certSerial(pem: string): string {
  try {
    return new X509Certificate(pem).serialNumber;
  } catch {
    return "?";
  }
}

/** Connection limits of the RESP ports (plain and TLS share one per-IP table). */
export function respGuard(cfg: ShoalConfig, log: Logger): RespGuard {
  return new RespGuard(
    {
      maxClientsPerIp: cfg.maxClientsPerIp,
      maxOutputBufferBytes: cfg.maxOutputBufferBytes,
      maxPubsubOutputBufferBytes: cfg.maxPubsubOutputBufferBytes,
    },
    log,
  );
}


/**
 * The client-facing TLS listeners: RESP over TLS (--tls-port) and HTTPS for
 * the HTTP API (--http-tls-port, with HTTP/3 on the same port unless
 * --http3 false; Bun advertises it with `Alt-Svc: h3=":port"`). With
 * --tls-ca, HTTPS clients must present a certificate too, and HTTP/3 is off
 * (Bun's HTTP/3 cannot request client certificates).
 *
 * {@link reload} (SIGHUP) re-reads the files and serves new handshakes with
 * them while open connections carry on: each listener is re-opened on the
 * same port with SO_REUSEPORT and the old one stops accepting.
 */
export class ClientTls {
  private constructor(
    private readonly cfg: ShoalConfig,
    private readonly log: Logger,
    private readonly fetch: Fetch,
    readonly respTls: ReloadableRespListener | null,
    private https: Server<undefined> | null,
    readonly httpsPort: number,
  ) {}

  /** Opens the listeners the configuration asks for; on failure none stays open. */
  static start(node: ShoalNode, cfg: ShoalConfig, guard: RespGuard, fetch: Fetch, log: Logger): ClientTls {
    const pem = cfg.tlsPort > 0 || cfg.httpTlsPort > 0 ? clientTlsMaterial(cfg) : null;
    if (pem === null) return new ClientTls(cfg, log, fetch, null, null, 0);
    const respTls = cfg.tlsPort > 0 ? listening("TLS", cfg.bind, cfg.tlsPort, "--tls-port", () => listenRespTls(node, cfg.bind, cfg.tlsPort, pem, guard)) : null;
    let https: Server<undefined> | null = null;
    try {
      https = cfg.httpTlsPort > 0 ? listening("HTTPS", cfg.bind, cfg.httpTlsPort, "--http-tls-port", () => serveHttps(cfg, pem, fetch, cfg.httpTlsPort)) : null;
    } catch (e) {
      respTls?.stop();
      throw e;
    }
    if (https && cfg.http3 && pem.ca !== undefined) log.warn("HTTP/3 is off: --tls-ca asks for client certificates, which Bun's HTTP/3 cannot request", {});
    return new ClientTls(cfg, log, fetch, respTls, https, https?.port ?? 0);
  }

  /** Re-reads --tls-cert/--tls-key/--tls-ca; new handshakes use them, open connections keep going. Never throws. */
  reload(): void {
    if (this.respTls === null && this.https === null) return;
    let pem: RespTlsOptions | null;
    try {
      pem = clientTlsMaterial(this.cfg);
      if (pem === null) return;
      this.respTls?.reload(pem);
      if (this.https) {
        const fresh = serveHttps(this.cfg, pem, this.fetch, this.httpsPort);
        void this.https.stop(false);
        this.https = fresh;
      }
    } catch (e) {
      this.log.error("TLS certificate reload failed; still serving the previous certificate", { error: (e as Error).message });
      return;
    }
    this.log.info("TLS certificates reloaded", { serial: certSerial(pem.cert) });
  }

  /** Closes the listeners and their connections. */
  async stop(): Promise<void> {
    this.respTls?.stop();
    await this.https?.stop(true);
  }
}

/** Bun.serve for HTTPS (+ HTTP/3) on `port`; SO_REUSEPORT so a reload can open the next one beside it. */
function serveHttps(cfg: ShoalConfig, pem: RespTlsOptions, fetch: Fetch, port: number): Server<undefined> {
  const clientCerts = pem.ca !== undefined;
  return Bun.serve({
    hostname: cfg.bind,
    port,
    reusePort: true,
    http3: cfg.http3 && !clientCerts,
    tls: { cert: pem.cert, key: pem.key, ca: pem.ca, requestCert: clientCerts, rejectUnauthorized: clientCerts },
    fetch,
    idleTimeout: idleTimeoutSeconds(cfg),
    maxRequestBodySize: cfg.maxValueBytes + 1,
  });
}

/**
 * Re-reads --acl-file (SIGHUP): users, passwords and rules change for open
 * connections too; connections of users that were removed or turned off are
 * closed, as Redis does. A file with an error is logged and ignored.
 */
export function reloadAclFile(node: ShoalNode, cfg: ShoalConfig, log: Logger): void {
  if (cfg.aclFile === undefined) return;
  try {
    const { aclLines, aclSource } = aclSettings(cfg);
    node.acl.load(aclLines ?? [], aclSource ?? cfg.aclFile);
    if (cfg.requirepass) node.acl.setUser("default", ["resetpass", `>${cfg.requirepass}`]);
  } catch (e) {
    log.error("ACL file reload failed; the previous users stay", { error: (e as Error).message });
    return;
  }
  let closed = 0;
  for (const s of [...node.sessions]) {
    const u = node.acl.users.get(s.user);
    if (u === undefined || !u.enabled) {
      s.close();
      closed++;
    }
  }
  log.info("ACL file reloaded", { users: node.acl.users.size, closedConnections: closed });
}
