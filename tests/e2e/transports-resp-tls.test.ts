/**
 * RESP over TLS on the compiled binary (`--tls-port`): `redis-cli --tls` and
 * ioredis with `tls: { ca }` work and share data with the plain port; a
 * plaintext client gets no reply on the TLS port; with `--tls-ca` a client
 * without a certificate, or with one from another CA, is refused.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { generateDevCerts } from "../fixtures/certs.ts";
import { freePort } from "../helpers/ports.ts";
import { missingProgram, testIf } from "../helpers/prerequisites.ts";
import { redisCliPath, runCommand, type ServerProcess, startShoal } from "../helpers/processes.ts";
import { RawClient } from "../helpers/raw-client.ts";

const BIN = process.env.SHOAL_BIN ?? "dist/shoal";
const certs = generateDevCerts();
// generateDevCerts already wrote every certificate and key to certs.dir
const inCerts = (name: string): string => join(certs.dir, name);
const f = {
  cert: inCerts("node.crt"),
  key: inCerts("node.key"),
  ca: inCerts("ca.crt"),
  clientCert: inCerts("node2.crt"),
  clientKey: inCerts("node2.key"),
  strangerCert: inCerts("stranger.crt"),
  strangerKey: inCerts("stranger.key"),
};
const procs: ServerProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop(500);
  rmSync(certs.dir, { recursive: true, force: true });
});

/** Starts the binary with a TLS client port; returns the process and that port. */
async function startTls(extra: string[] = []): Promise<{ node: ServerProcess; tlsPort: number }> {
  const tlsPort = await freePort();
  const node = await startShoal({ binary: BIN, args: ["--tls-port", String(tlsPort), "--tls-cert", f.cert, "--tls-key", f.key, ...extra] });
  procs.push(node);
  return { node, tlsPort };
}

const cli = redisCliPath();
const cliTls = (port: number, ...args: string[]) =>
  runCommand([cli!, "-h", "127.0.0.1", "-p", String(port), "--tls", "--cacert", f.ca, ...args], { timeoutMs: 10_000 });

describe(`RESP over TLS (${BIN})`, () => {
  testIf(missingProgram("redis-cli", "redis-tools"))("redis-cli --tls: PING, SET over TLS, GET over the plain port; plaintext on the TLS port gets no reply", async () => {
    const { node, tlsPort } = await startTls();
    expect((await cliTls(tlsPort, "PING")).stdout.trim()).toBe("PONG");
    expect((await cliTls(tlsPort, "SET", "tls:k", "over-tls")).stdout.trim()).toBe("OK");
    const plain = await RawClient.connect(node.port);
    try {
      expect(await plain.call(["GET", "tls:k"])).toBe("$8\r\nover-tls\r\n");
    } finally {
      plain.close();
    }
    const wrong = await runCommand([cli!, "-h", "127.0.0.1", "-p", String(tlsPort), "PING"], { timeoutMs: 5000 });
    expect(wrong.stdout.trim()).not.toBe("PONG");
  });

  test("ioredis with tls: { ca }", async () => {
    const { tlsPort } = await startTls();
    const client = new Redis({ host: "127.0.0.1", port: tlsPort, tls: { ca: certs.ca }, maxRetriesPerRequest: 1, retryStrategy: () => null });
    try {
      expect(await client.set("io:k", "v1")).toBe("OK");
      expect(await client.get("io:k")).toBe("v1");
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.disconnect();
    }
  });

  testIf(missingProgram("redis-cli", "redis-tools"))("--tls-ca requires a client certificate from that CA", async () => {
    const { tlsPort } = await startTls(["--tls-ca", f.ca]);
    expect((await cliTls(tlsPort, "--cert", f.clientCert, "--key", f.clientKey, "PING")).stdout.trim()).toBe("PONG");
    expect((await cliTls(tlsPort, "PING")).stdout.trim()).not.toBe("PONG");
    expect((await cliTls(tlsPort, "--cert", f.strangerCert, "--key", f.strangerKey, "PING")).stdout.trim()).not.toBe("PONG");
  });
});
