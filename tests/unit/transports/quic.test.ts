import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { TransportError } from "../../../core/transport.ts";
import { QuicTransport } from "../../../transports/quic.ts";
import { generateDevCerts } from "../../fixtures/certs.ts";
import { runTransportContract } from "./contract.ts";

const certs = generateDevCerts();
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));
const KEY = "quic-contract-cluster-key-0123456789";

runTransportContract("quic (HTTP/3) + cluster key", () => new QuicTransport({ ...certs.node, clusterKey: KEY }));

describe("quic specifics", () => {
  test("a peer without the cluster key, or with another key, is refused and never reaches the handler", async () => {
    const seen: string[] = [];
    const l = await new QuicTransport({ ...certs.node, clusterKey: KEY }).listen("127.0.0.1:0", {
      onRequest: (from, p) => {
        seen.push(from);
        return p;
      },
      onMessage: (from) => seen.push(from),
    });
    try {
      for (const key of [undefined, "a-guessed-cluster-key-xyz"]) {
        const link = new QuicTransport({ ...certs.stranger, clusterKey: key }).connect(l.address, "stranger");
        const err = await link.request(new Uint8Array([1]), 3000).then(
          () => undefined,
          (e) => e,
        );
        expect(err).toBeInstanceOf(TransportError);
        expect((err as TransportError).code).toBe("refused");
        link.close();
      }
      expect(seen).toEqual([]);
    } finally {
      await l.close();
    }
  });
});
