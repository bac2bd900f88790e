/**
 * Connection limits of the client port on the compiled binary, each with
 * real sockets: per-IP connections, idle timeout, half-open (slowloris)
 * frame timeout on the TLS port, the query buffer limit, the pub/sub output
 * buffer limit for a subscriber that stops reading, and the per-connection
 * command rate. Every refusal leaves a structured log line.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { generateDevCerts } from "../fixtures/certs.ts";
import { freePort, sleep } from "../helpers/ports.ts";
import { type ServerProcess, startShoal } from "../helpers/processes.ts";
import { RawClient } from "../helpers/raw-client.ts";
import { requireBinary } from "./binary.ts";

const BIN = requireBinary();
const procs: ServerProcess[] = [];
const certs = generateDevCerts();
afterAll(async () => {
  for (const p of procs) await p.stop(1000);
  rmSync(certs.dir, { recursive: true, force: true });
});

async function start(args: string[]): Promise<ServerProcess> {
  const p = await startShoal({ binary: BIN, args });
  procs.push(p);
  return p;
}

/** Waits until `cond` holds, polling every 50 ms, at most `ms`. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

describe(`client limits (${BIN})`, () => {
  test("--max-clients-per-ip 3: the 4th connection from 127.0.0.1 is refused with an error and a log line", async () => {
    const node = await start(["--max-clients-per-ip", "3"]);
    const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(node.port)));
    try {
      for (const c of clients) expect(await c.call(["PING"])).toBe("+PONG\r\n");
      const extra = await RawClient.connect(node.port);
      expect((await extra.readReply(5000)).toString()).toBe("-ERR max number of clients from this IP address reached\r\n");
      expect(await extra.waitClosed(5000)).toBe(true);
      clients.pop()!.close();
      await sleep(200);
      const again = await RawClient.connect(node.port);
      expect(await again.call(["PING"])).toBe("+PONG\r\n");
      again.close();
    } finally {
      for (const c of clients) c.close();
    }
    expect(node.output()).toContain("client refused: max number of clients from this IP address reached");
  });

  test("--idle-timeout 1s closes an idle client; a busy one stays", async () => {
    const node = await start(["--idle-timeout", "1s"]);
    const idle = await RawClient.connect(node.port);
    const busy = await RawClient.connect(node.port);
    expect(await idle.call(["PING"])).toBe("+PONG\r\n");
    const t0 = Date.now();
    let closedAt = 0;
    idle.closed.then(() => {
      closedAt = Date.now();
    });
    for (let i = 0; i < 40 && closedAt === 0; i++) {
      expect(await busy.call(["PING"])).toBe("+PONG\r\n");
      await sleep(100);
    }
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt - t0).toBeGreaterThanOrEqual(900);
    expect(closedAt - t0).toBeLessThan(3500);
    expect(await busy.call(["PING"])).toBe("+PONG\r\n");
    busy.close();
  });

  test("half-open TLS client (stalls mid-frame) is closed after --frame-timeout", async () => {
    const tlsPort = await freePort();
    const node = await start([
      "--frame-timeout",
      "1s",
      "--tls-port",
      String(tlsPort),
      "--tls-cert",
      join(certs.dir, "node.crt"),
      "--tls-key",
      join(certs.dir, "node.key"),
    ]);
    const s = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const sock = tls.connect({ host: "127.0.0.1", port: tlsPort, ca: certs.ca, servername: "localhost" }, () => resolve(sock));
      sock.once("error", reject);
    });
    let closed = false;
    s.on("close", () => {
      closed = true;
    });
    s.on("error", () => {});
    s.write("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\npartial");
    expect(await until(() => closed, 4000)).toBe(true);
    expect(node.output()).toContain("incomplete frame timeout");
  });

  test("--tls-ca: a client with a foreign certificate is refused and logged; one from the CA works", async () => {
    const tlsPort = await freePort();
    const node = await start(["--tls-port", String(tlsPort), "--tls-cert", join(certs.dir, "node.crt"), "--tls-key", join(certs.dir, "node.key"), "--tls-ca", join(certs.dir, "ca.crt")]);
    const pem = (f: string) => readFileSync(join(certs.dir, f), "utf8");
    const attempt = (cert: string, key: string) =>
      new Promise<string>((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port: tlsPort, ca: certs.ca, servername: "localhost", cert: pem(cert), key: pem(key) }, () => s.write("PING\r\n"));
        const t = setTimeout(() => finish("timeout"), 5000);
        function finish(r: string) {
          clearTimeout(t);
          s.destroy();
          resolve(r);
        }
        s.once("data", (d) => finish(d.toString()));
        s.once("error", () => finish("error"));
        s.once("close", () => finish("closed"));
      });
    expect(await attempt("node2.crt", "node2.key")).toBe("+PONG\r\n");
    expect(await attempt("stranger.crt", "stranger.key")).not.toBe("+PONG\r\n");
    expect(await until(() => node.output().includes("client refused: TLS handshake failed"), 3000)).toBe(true);
  });

  test("--max-query-buffer-bytes 64kb: a client that sends more of one unfinished command is cut off", async () => {
    const node = await start(["--max-query-buffer-bytes", "64kb"]);
    const c = await RawClient.connect(node.port);
    c.send(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${200 * 1024}\r\n`);
    for (let i = 0; i < 5; i++) c.send(Buffer.alloc(20 * 1024, 120));
    expect((await c.readReply(5000)).toString()).toStartWith("-ERR Protocol error: query buffer limit reached");
    expect(await c.waitClosed(5000)).toBe(true);
    const ok = await RawClient.connect(node.port);
    expect(await ok.call(["EXISTS", "k"])).toBe(":0\r\n");
    ok.close();
  });

  test("--max-pubsub-output-buffer-bytes 256kb: a subscriber that stops reading is disconnected, the publisher is not", async () => {
    const node = await start(["--max-pubsub-output-buffer-bytes", "256kb"]);
    const sub = net.connect(node.port, "127.0.0.1");
    await new Promise<void>((resolve) => sub.once("connect", () => resolve()));
    let closed = false;
    sub.on("close", () => {
      closed = true;
    });
    sub.on("error", () => {});
    sub.write("*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n");
    await new Promise<void>((resolve) => sub.once("data", () => resolve()));
    sub.pause(); // stop reading: the kernel buffers fill, then shoal's queue grows
    const pub = await RawClient.connect(node.port);
    const payload = Buffer.alloc(64 * 1024, 97);
    let receivers = ":1\r\n";
    for (let i = 0; i < 400 && receivers === ":1\r\n"; i++) receivers = await pub.call(["PUBLISH", "ch", payload]);
    expect(receivers).toBe(":0\r\n");
    expect(await pub.call(["PING"])).toBe("+PONG\r\n");
    pub.close();
    sub.resume();
    expect(await until(() => closed, 5000)).toBe(true);
    expect(node.output()).toContain("client refused: output buffer limit reached");
  });

  test("--max-commands-per-second 100: a pipelined burst of 300 gets errors past the limit", async () => {
    const node = await start(["--max-commands-per-second", "100"]);
    const c = await RawClient.connect(node.port);
    c.send("PING\r\n".repeat(300));
    let got = "";
    for (let i = 0; i < 300; i++) got += (await c.readReply(5000)).toString();
    const pongs = got.split("+PONG\r\n").length - 1;
    const limited = got.split("-ERR max commands per second reached").length - 1;
    expect(pongs + limited).toBe(300);
    expect(pongs).toBeGreaterThanOrEqual(100);
    expect(pongs).toBeLessThanOrEqual(200); // at most two one-second windows in this burst
    c.close();
  });
});
