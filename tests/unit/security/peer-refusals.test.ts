/**
 * The peer listeners report every refused peer through `onRefused` (serve
 * logs it): wrong cluster key (tcp, quic), missing or foreign certificate
 * (tls). The reason never holds the key.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { Listener } from "../../../core/transport.ts";
import { QuicTransport } from "../../../transports/quic.ts";
import { TcpTransport } from "../../../transports/tcp.ts";
import { TlsTransport } from "../../../transports/tls.ts";
import { generateDevCerts } from "../../fixtures/certs.ts";

const certs = generateDevCerts();
const listeners: Listener[] = [];
afterAll(async () => {
  for (const l of listeners) await l.close();
  rmSync(certs.dir, { recursive: true, force: true });
});
const echo = { onRequest: async (_from: string, p: Uint8Array) => p, onMessage() {} };
const KEY = "the-right-cluster-key";

async function refusedBy(make: (onRefused: (r: string, remote: string) => void) => { server: TcpTransport | QuicTransport }, intruder: TcpTransport | QuicTransport, addr = "127.0.0.1:0") {
  const seen: Array<[string, string]> = [];
  const { server } = make((r, remote) => seen.push([r, remote]));
  const l = await server.listen(addr, echo);
  listeners.push(l);
  const link = intruder.connect(l.address, "127.0.0.1:1");
  await link.request(new Uint8Array([1, 2, 3]), 1500).then(
    () => {
      throw new Error("the intruder got an answer");
    },
    () => undefined,
  );
  link.close();
  for (let i = 0; i < 40 && seen.length === 0; i++) await Bun.sleep(50);
  return seen;
}

describe("peer refusals are reported", () => {
  test("tcp: a peer with the wrong cluster key", async () => {
    const seen = await refusedBy((onRefused) => ({ server: new TcpTransport({ clusterKey: KEY, onRefused }) }), new TcpTransport({ clusterKey: "wrong-key" }));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]![0]).toContain("wrong cluster key");
    expect(seen[0]![1]).toStartWith("127.0.0.1:");
    expect(JSON.stringify(seen)).not.toContain(KEY);
  });

  test("tls: a peer whose certificate comes from another CA", async () => {
    const seen = await refusedBy(
      (onRefused) => ({ server: new TlsTransport({ cert: certs.node.cert, key: certs.node.key, ca: certs.ca, onRefused }) }),
      new TlsTransport({ cert: certs.stranger.cert, key: certs.stranger.key, ca: certs.ca }),
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]![0]).toStartWith("TLS handshake failed");
  });

  test("quic: a peer with the wrong cluster key", async () => {
    const seen = await refusedBy(
      (onRefused) => ({ server: new QuicTransport({ cert: certs.node.cert, key: certs.node.key, clusterKey: KEY, onRefused }) }),
      new QuicTransport({ cert: certs.node2.cert, key: certs.node2.key, clusterKey: "wrong-key" }),
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]![0]).toContain("wrong cluster key");
    expect(JSON.stringify(seen)).not.toContain(KEY);
  });
});
