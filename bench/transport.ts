/**
 * Peer transport benchmark: request/response throughput and latency (p50/p99)
 * for tcp, tcp with the cluster key (HMAC per frame), mutual TLS 1.3 and
 * QUIC (HTTP/3, with the cluster key).
 * The echo server runs in a child process so client and server do not share
 * an event loop.
 *
 *   bun bench/transport.ts [seconds=3] [concurrency=64] [payloadBytes=100]
 *   KINDS=tcp,tls bun bench/transport.ts   # a subset
 */
import { readFileSync, rmSync } from "node:fs";
import type { Transport } from "../core/transport.ts";
import { generateDevCerts } from "../tests/fixtures/certs.ts";
import { QuicTransport } from "../transports/quic.ts";
import { TcpTransport } from "../transports/tcp.ts";
import { TlsTransport } from "../transports/tls.ts";

const KEY = "bench-cluster-key-0123456789abcdef";

function make(kind: string, certDir?: string): Transport {
  if (kind === "tcp") return new TcpTransport();
  if (kind === "tcp+hmac") return new TcpTransport({ clusterKey: KEY });
  const read = (f: string) => readFileSync(`${certDir}/${f}`, "utf8");
  if (kind.startsWith("quic")) return new QuicTransport({ cert: read("node.crt"), key: read("node.key"), clusterKey: KEY });
  const node = kind === "tls-server" ? "node" : "node2";
  return new TlsTransport({ cert: read(`${node}.crt`), key: read(`${node}.key`), ca: read("ca.crt") });
}

if (process.argv[2] === "--serve") {
  const kind = process.argv[3]!;
  const t = make(kind === "tls" ? "tls-server" : kind, process.argv[4]);
  process.on("SIGTERM", () => process.exit(0));
  const l = await t.listen("127.0.0.1:0", { onRequest: (_f, p) => p, onMessage: () => {} });
  console.log(l.address);
} else {
  const seconds = Number(process.argv[2] ?? 3);
  const concurrency = Number(process.argv[3] ?? 64);
  const size = Number(process.argv[4] ?? 100);
  const certs = generateDevCerts();
  console.log(`peer transport bench: ${seconds}s per run, payload ${size} B, bun ${Bun.version}, ${new Date().toISOString()}`);
  console.log("transport   conc   req/s      p50 ms  p99 ms");
  for (const kind of (process.env.KINDS ?? "tcp,tcp+hmac,tls,quic+hmac").split(",")) {
    for (const conc of [1, concurrency]) {
      const server = Bun.spawn([process.execPath, import.meta.path, "--serve", kind, certs.dir], { stdout: "pipe" });
      const reader = server.stdout.getReader();
      const address = new TextDecoder().decode((await reader.read()).value).trim();
      const link = make(kind, certs.dir).connect(address, "bench-client");
      const payload = new Uint8Array(size).fill(7);
      for (let i = 0; i < 200; i++) await link.request(payload); // warm-up
      const lat: number[] = [];
      const end = performance.now() + seconds * 1000;
      const worker = async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          await link.request(payload);
          lat.push(performance.now() - t0);
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: conc }, worker));
      const elapsed = (performance.now() - t0) / 1000;
      lat.sort((a, b) => a - b);
      const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(3);
      console.log(
        `${kind.padEnd(11)} ${String(conc).padStart(4)} ${String(Math.round(lat.length / elapsed)).padStart(8)}   ${q(0.5).padStart(7)} ${q(0.99).padStart(7)}`,
      );
      link.close();
      server.kill();
      await server.exited;
    }
  }
  rmSync(certs.dir, { recursive: true, force: true });
}
