/**
 * Three compiled binaries form a cluster over each peer transport — tcp with
 * a cluster key, tls (mutual TLS 1.3) and quic (HTTP/3, cluster key) — and a
 * key written through node A reads back through node C. A fourth node with a
 * wrong cluster key (tcp, quic) or a certificate from another CA (tls) is
 * started against the same seeds and must never join: no node ever reports
 * `"members":4`. The cluster key must never appear in the output.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateDevCerts } from "../fixtures/certs.ts";
import { freePorts, sleep } from "../helpers/ports.ts";
import { type ServerProcess, spawnShoal } from "../helpers/processes.ts";
import { RawClient } from "../helpers/raw-client.ts";

const BIN = process.env.SHOAL_BIN ?? "dist/shoal";
const KEY = "right-cluster-key-7f3a";
const WRONG = "wrong-cluster-key-0c1d";
const certs = generateDevCerts();
const dir = mkdtempSync(join(tmpdir(), "shoal-e2e-transports-"));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
// generateDevCerts already wrote every certificate and key to certs.dir
const inCerts = (name: string): string => join(certs.dir, name);
const f = {
  cert: inCerts("node.crt"),
  key: inCerts("node.key"),
  ca: inCerts("ca.crt"),
  strangerCert: inCerts("stranger.crt"),
  strangerKey: inCerts("stranger.key"),
  clusterKey: file("cluster.key", `${KEY}\n`),
  wrongKey: file("wrong.key", `${WRONG}\n`),
};
const procs: ServerProcess[] = [];
const clients: RawClient[] = [];
const figures: string[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of procs) await p.stop(500);
  rmSync(dir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
  if (figures.length > 0) console.log(`cluster formation: ${figures.join(", ")}`);
});

/** Polls `fn` until true or `limitMs` passes. */
async function until(fn: () => Promise<boolean> | boolean, limitMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return false;
}

const tableLines = (n: ServerProcess): string[] => n.output().split("\n").filter((l) => l.includes("partition table rebuilt"));
const lastTableHas = (n: ServerProcess, members: number): boolean => tableLines(n).at(-1)?.includes(`"members":${members}`) ?? false;
const everHad = (n: ServerProcess, members: number): boolean => tableLines(n).some((l) => l.includes(`"members":${members}`));

interface Case {
  transport: "tcp" | "tls" | "quic";
  /** Flags (or env) of a cluster member. */
  good: { args: string[]; env?: Record<string, string> };
  /** Flags (or env) of the intruder. */
  bad: { args: string[]; env?: Record<string, string> };
}

const cases: Case[] = [
  {
    transport: "tcp",
    good: { args: [], env: { SHOAL_CLUSTER_KEY: KEY } },
    bad: { args: [], env: { SHOAL_CLUSTER_KEY: WRONG } },
  },
  {
    transport: "tls",
    good: { args: ["--peer-tls-cert", f.cert, "--peer-tls-key", f.key, "--peer-tls-ca", f.ca] },
    bad: { args: ["--peer-tls-cert", f.strangerCert, "--peer-tls-key", f.strangerKey, "--peer-tls-ca", f.ca] },
  },
  {
    transport: "quic",
    good: { args: ["--peer-tls-cert", f.cert, "--peer-tls-key", f.key, "--cluster-key-file", f.clusterKey] },
    bad: { args: ["--peer-tls-cert", f.cert, "--peer-tls-key", f.key, "--cluster-key-file", f.wrongKey] },
  },
];

describe(`three binaries (${BIN}) form a cluster over each peer transport`, () => {
  for (const c of cases) {
    test(`${c.transport}: forms, routes a key A→C, refuses an intruder`, async () => {
      const ports = await freePorts(12);
      const peerAddrs = [0, 1, 2].map((i) => `127.0.0.1:${ports[8 + i]}`);
      const argsOf = (i: number, extra: string[]): string[] => [
        "serve",
        ...["--bind", "127.0.0.1", "--port", String(ports[i]), "--http-port", String(ports[4 + i]), "--peer-port", String(ports[8 + i])],
        ...["--peers", peerAddrs.join(","), "--preset", "local", "--log-format", "json", "--peer-transport", c.transport],
        ...extra,
      ];
      const started = Date.now();
      const nodes: ServerProcess[] = [];
      for (let i = 0; i < 3; i++) {
        const n = await spawnShoal({ binary: BIN, port: ports[i]!, httpPort: ports[4 + i]!, args: argsOf(i, c.good.args), env: c.good.env });
        nodes.push(n);
        procs.push(n);
      }
      const formed = await until(() => nodes.every((n) => lastTableHas(n, 3)), 20_000);
      if (!formed) throw new Error(`${c.transport}: no 3-member cluster:\n${nodes.map((n) => n.output().slice(-1500)).join("\n---\n")}`);
      figures.push(`${c.transport} ${Date.now() - started} ms`);

      const a = await RawClient.connect(nodes[0]!.port);
      const cc = await RawClient.connect(nodes[2]!.port);
      clients.push(a, cc);
      // several keys so that some are owned by a node other than C
      for (let k = 0; k < 20; k++) expect(await a.call(["SET", `${c.transport}:k${k}`, `v${k}`], 10_000)).toBe("+OK\r\n");
      for (let k = 0; k < 20; k++) expect(await cc.call(["GET", `${c.transport}:k${k}`], 10_000)).toBe(`$${`v${k}`.length}\r\nv${k}\r\n`);

      const intruder = await spawnShoal({ binary: BIN, port: ports[3]!, httpPort: ports[7]!, args: argsOf(3, c.bad.args), env: c.bad.env });
      procs.push(intruder);
      // a legitimate fourth node joins well within this window (formation of three took the time above)
      await sleep(Math.max(3000, 2 * (Date.now() - started)));
      const intruderAlive = await Promise.race([intruder.exited.then(() => false), sleep(10).then(() => true)]);
      expect(intruderAlive).toBe(true);
      for (const n of [...nodes, intruder]) expect(everHad(n, 4)).toBe(false);
      for (const n of nodes) expect(lastTableHas(n, 3)).toBe(true);
      for (const n of [...nodes, intruder]) {
        expect(n.output()).not.toContain(KEY);
        expect(n.output()).not.toContain(WRONG);
      }
    }, 60_000);
  }
});
