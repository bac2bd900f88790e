/** `--peer-transport` config validation and the transport factory in cmd/peer-transport.ts. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redact } from "../../../cmd/log.ts";
import { clusterKeyOf, createPeerTransport } from "../../../cmd/peer-transport.ts";
import { defaultConfig } from "../../../core/config.ts";
import { generateDevCerts } from "../../fixtures/certs.ts";

const certs = generateDevCerts();
const dir = mkdtempSync(join(tmpdir(), "shoal-pt-"));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const cert = file("node.crt", certs.node.cert);
const key = file("node.key", certs.node.key);
const ca = file("ca.crt", certs.ca);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});

describe("peer transport config", () => {
  test("defaults to tcp without a key", () => {
    const cfg = defaultConfig();
    expect(cfg.peerTransport).toBe("tcp");
    expect(cfg.tlsPort).toBe(0);
    expect(createPeerTransport(cfg).name).toBe("tcp");
  });

  test("tls without cert/key/ca names every missing flag", () => {
    expect(() => defaultConfig({ peerTransport: "tls" })).toThrow(/--peer-tls-cert, --peer-tls-key, --peer-tls-ca/);
    expect(() => defaultConfig({ peerTransport: "tls", peerTlsCert: cert, peerTlsKey: key })).toThrow(/needs --peer-tls-ca/);
  });

  test("quic without a cluster key explains why the key is required", () => {
    expect(() => defaultConfig({ peerTransport: "quic", peerTlsCert: cert, peerTlsKey: key })).toThrow(/only peer authentication/);
  });

  test("--tls-port needs a cert and key and its own port", () => {
    expect(() => defaultConfig({ tlsPort: 7000 })).toThrow(/--tls-port needs --tls-cert, --tls-key/);
    expect(() => defaultConfig({ tlsPort: 3320, tlsCert: cert, tlsKey: key })).toThrow(/must differ from --port/);
  });

  test("builds tls and quic transports from files, key from a file", () => {
    expect(createPeerTransport(defaultConfig({ peerTransport: "tls", peerTlsCert: cert, peerTlsKey: key, peerTlsCa: ca })).name).toBe("tls");
    const keyFile = file("cluster.key", "s3cret-key\n");
    const quic = defaultConfig({ peerTransport: "quic", peerTlsCert: cert, peerTlsKey: key, clusterKeyFile: keyFile });
    expect(clusterKeyOf(quic)).toBe("s3cret-key");
    expect(createPeerTransport(quic).name).toBe("quic");
  });

  test("an unreadable file gives an error naming the flag", () => {
    const cfg = defaultConfig({ peerTransport: "tls", peerTlsCert: join(dir, "missing.crt"), peerTlsKey: key, peerTlsCa: ca });
    expect(() => createPeerTransport(cfg)).toThrow(/cannot read --peer-tls-cert/);
  });

  test("the cluster key is redacted from logged fields", () => {
    const cfg = defaultConfig({ clusterKey: "s3cret-key" });
    expect(JSON.stringify(redact(cfg))).not.toContain("s3cret-key");
  });
});
