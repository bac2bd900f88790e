import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Link, Listener } from "../../../core/transport.ts";
import { TcpTransport } from "../../../transports/tcp.ts";
import { TlsTransport } from "../../../transports/tls.ts";
import { generateDevCerts } from "../../fixtures/certs.ts";
import { codeOf, runTransportContract } from "./contract.ts";

const certs = generateDevCerts();
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

let flip = 0;
const member = () => new TlsTransport({ ...(flip++ % 2 ? certs.node2 : certs.node), ca: certs.ca });
runTransportContract("tls (mTLS 1.3)", member);

const enc = new TextEncoder();

describe("tls specifics", () => {
  const listeners: Listener[] = [];
  const links: Link[] = [];
  afterEach(async () => {
    for (const l of links.splice(0)) l.close();
    for (const l of listeners.splice(0)) await l.close();
  });

  async function guarded() {
    const seen: string[] = [];
    const l = await member().listen("127.0.0.1:0", {
      onRequest: (from, p) => {
        seen.push(from);
        return p;
      },
      onMessage: (from) => seen.push(from),
    });
    listeners.push(l);
    return { l, seen };
  }

  test("a peer with a certificate from another CA is refused", async () => {
    const { l, seen } = await guarded();
    // The stranger trusts our CA (so it would accept our server) but its own cert is foreign.
    const link = new TlsTransport({ ...certs.stranger, ca: certs.ca }).connect(l.address, "stranger");
    links.push(link);
    link.send(enc.encode("inject"));
    expect(await codeOf(link.request(enc.encode("x"), 3000))).not.toBe("resolved");
    expect(seen).toEqual([]);
  });

  test("a peer without any client certificate is refused", async () => {
    const { l, seen } = await guarded();
    const bare = new TcpTransport({ tlsClient: { ca: certs.ca, rejectUnauthorized: true } });
    const link = bare.connect(l.address, "anonymous");
    links.push(link);
    expect(await codeOf(link.request(enc.encode("x"), 3000))).not.toBe("resolved");
    expect(seen).toEqual([]);
  });

  test("plaintext peers cannot talk to a TLS listener", async () => {
    const { l, seen } = await guarded();
    const link = new TcpTransport().connect(l.address, "plain");
    links.push(link);
    expect(await codeOf(link.request(enc.encode("x"), 3000))).not.toBe("resolved");
    expect(seen).toEqual([]);
  });

  test("a node refuses a server whose certificate is not from the cluster CA", async () => {
    const rogue = await new TlsTransport({ ...certs.stranger, ca: certs.ca }).listen("127.0.0.1:0", {
      onRequest: (_f, p) => p,
      onMessage: () => {},
    });
    listeners.push(rogue);
    const link = member().connect(rogue.address, "victim");
    links.push(link);
    expect(await codeOf(link.request(enc.encode("secret"), 3000))).not.toBe("resolved");
  });

  test("only TLS 1.3 is negotiated (openssl s_client)", async () => {
    const { l } = await guarded();
    // Async spawn: the listener runs in this process, so blocking here would deadlock the handshake.
    const sClient = async (version: string) => {
      const proc = Bun.spawn(
        [
          "openssl", "s_client", "-connect", l.address, version, "-brief",
          "-cert", join(certs.dir, "node.crt"), "-key", join(certs.dir, "node.key"), "-CAfile", join(certs.dir, "ca.crt"),
        ],
        { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 5000 },
      );
      const exitCode = await proc.exited;
      const text = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
      return { exitCode, text };
    };
    const v13 = await sClient("-tls1_3");
    expect(v13.text).toContain("TLSv1.3");
    expect(v13.exitCode).toBe(0);
    const v12 = await sClient("-tls1_2");
    expect(v12.exitCode).not.toBe(0);
  });

  test("mTLS and the cluster key combine: a valid certificate with the wrong key is still refused", async () => {
    const keyed = (node: typeof certs.node, clusterKey: string) => new TlsTransport({ ...node, ca: certs.ca, clusterKey });
    const seen: string[] = [];
    const l = await keyed(certs.node, "cluster-key-A-0123456789").listen("127.0.0.1:0", {
      onRequest: (from, p) => {
        seen.push(from);
        return p;
      },
      onMessage: () => {},
    });
    listeners.push(l);
    const good = keyed(certs.node2, "cluster-key-A-0123456789").connect(l.address, "good");
    const wrong = keyed(certs.node2, "cluster-key-B-0123456789").connect(l.address, "wrong");
    links.push(good, wrong);
    expect((await good.request(enc.encode("abc"))).length).toBe(3);
    expect(await codeOf(wrong.request(enc.encode("x"), 3000))).toBe("closed");
    expect(seen).toEqual(["good"]);
  });
});
