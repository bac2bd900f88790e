import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { run } from "../../../cmd/shoal.ts";

const dir = mkdtempSync(join(tmpdir(), "shoal-certs-cmd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), env: {}, lines: async function* () {}, isTTY: false, prompt() {} },
  };
}

describe("shoal certs", () => {
  test("--help", async () => {
    const c = io();
    expect(await run(["certs", "--help"], c.io)).toBe(0);
    expect(c.out.join("")).toContain("Usage: shoal certs --out <dir>");
  });

  test("writes a CA, node and client certificates that chain and serve TLS; refuses to overwrite without --force", async () => {
    const out = join(dir, "set");
    const c = io();
    expect(await run(["certs", "--out", out, "--hosts", "127.0.0.1,localhost,node-a", "--nodes", "2"], c.io)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["ca.crt", "ca.key", "ca.srl", "client.crt", "client.key", "node1.crt", "node1.key", "node2.crt", "node2.key"]);
    expect(statSync(join(out, "node1.key")).mode & 0o777).toBe(0o600);
    const san = Bun.spawnSync(["openssl", "x509", "-in", join(out, "node2.crt"), "-noout", "-ext", "subjectAltName"]).stdout.toString();
    expect(san).toContain("IP Address:127.0.0.1");
    expect(san).toContain("DNS:node-a");
    expect(san).toContain("DNS:node2");
    const verify = Bun.spawnSync(["openssl", "verify", "-CAfile", join(out, "ca.crt"), join(out, "node1.crt"), join(out, "client.crt")]);
    expect(verify.exitCode).toBe(0);

    // a TLS server with node1 is trusted by a client that only knows ca.crt, and it accepts the client cert
    const pem = (f: string) => readFileSync(join(out, f), "utf8");
    const server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      tls: { cert: pem("node1.crt"), key: pem("node1.key"), ca: pem("ca.crt"), requestCert: true, rejectUnauthorized: true },
      socket: { data: (s, d) => void s.write(d) },
    });
    try {
      const echoed = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port: server.port, ca: pem("ca.crt"), cert: pem("client.crt"), key: pem("client.key"), servername: "localhost" }, () =>
          s.write("hi"),
        );
        s.once("data", (d) => {
          resolve(d.toString());
          s.destroy();
        });
        s.once("error", reject);
      });
      expect(echoed).toBe("hi");
    } finally {
      server.stop(true);
    }

    const again = io();
    expect(await run(["certs", "--out", out], again.io)).toBe(2);
    expect(again.err.join("")).toContain("pass --force");
    expect(await run(["certs", "--out", out, "--force", "--nodes", "1"], io().io)).toBe(0);
  });

  test("bad usage exits 2", async () => {
    expect(await run(["certs"], io().io)).toBe(2);
    expect(await run(["certs", "--out", dir, "--hosts", "bad host"], io().io)).toBe(2);
    expect(await run(["certs", "--out", dir, "--nodes", "0"], io().io)).toBe(2);
  });
});
