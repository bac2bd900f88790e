/**
 * Issue 13 part 1 and 5 at the configuration level: a node whose peer port is
 * reachable from other hosts (a bind that is not loopback, wildcard included)
 * needs peer authentication — a cluster key or mutual TLS — or the explicit
 * --allow-insecure-peers; QUIC peers are refused off loopback. `shoal serve`
 * exits 2 with a line naming --cluster-key-file and shoal keygen. And
 * `shoal keygen` makes fresh random keys (0600 with --out).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../../cmd/shoal.ts";
import { ConfigError, INSECURE_PEERS_MESSAGE, isLoopbackBind, loadConfig } from "../../../core/config.ts";
import { captureIO } from "../cmd/fake-server.ts";

const dir = mkdtempSync(join(tmpdir(), "shoal-peer-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (argv: string[], env: Record<string, string> = {}, yaml?: string) =>
  loadConfig({ argv, env, readFile: (p) => (p === "shoal.yaml" && yaml !== undefined ? yaml : null), hostname: "box" });

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

const PEERS = ["--peers", "10.0.0.2:3322"];

describe("a reachable peer port needs peer authentication", () => {
  test.each(["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])("%s is loopback", (b) => expect(isLoopbackBind(b)).toBe(true));
  test.each(["0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "fe80::1", "shoal-0.example", "::ffff:10.0.0.1"])("%s is not", (b) =>
    expect(isLoopbackBind(b)).toBe(false),
  );

  test.each(["0.0.0.0", "10.0.0.1", "::"])("--bind %s with peers and no key is refused, naming --cluster-key-file", (bind) => {
    expect(problems(() => load(["--bind", bind, ...PEERS]))).toEqual([`--cluster-key-file: ${INSECURE_PEERS_MESSAGE(bind)}`]);
  });

  test("the refusal names the fix", () => {
    const line = INSECURE_PEERS_MESSAGE("0.0.0.0");
    expect(line).toContain("shoal keygen --out cluster.key");
    expect(line).toContain("--cluster-key-file cluster.key");
    expect(line).toContain("--allow-insecure-peers");
    expect(line).toContain("--peer-transport tls");
  });

  test("a discovery plugin counts as a cluster; a single node without peers opens no peer port", () => {
    expect(problems(() => load(["--bind", "0.0.0.0", "--discovery", "dns", "--dns-name", "x.example"]))).toHaveLength(1);
    expect(load(["--bind", "0.0.0.0"]).bind).toBe("0.0.0.0");
  });

  test("loopback clusters need no key", () => {
    expect(load(["--bind", "127.0.0.1", "--peers", "127.0.0.1:3323"]).peers).toEqual(["127.0.0.1:3323"]);
  });

  test("a cluster key (flag, file, env or yaml) or mutual TLS is enough", () => {
    expect(load(["--bind", "0.0.0.0", ...PEERS, "--cluster-key-file", "/k"]).clusterKeyFile).toBe("/k");
    expect(load(["--bind", "0.0.0.0", ...PEERS], { SHOAL_CLUSTER_KEY: "s3cret" }).clusterKey).toBe("s3cret");
    expect(load([], {}, "bind: 0.0.0.0\npeers: [10.0.0.2:3322]\ncluster_key_file: /k\n").clusterKeyFile).toBe("/k");
    const tls = ["--peer-transport", "tls", "--peer-tls-cert", "c", "--peer-tls-key", "k", "--peer-tls-ca", "ca"];
    expect(load(["--bind", "0.0.0.0", ...PEERS, ...tls]).peerTransport).toBe("tls");
  });

  test("--allow-insecure-peers (flag, env, yaml) is the explicit opt-out", () => {
    expect(load(["--bind", "0.0.0.0", ...PEERS, "--allow-insecure-peers"]).allowInsecurePeers).toBe(true);
    expect(load(["--bind", "0.0.0.0", ...PEERS], { SHOAL_ALLOW_INSECURE_PEERS: "true" }).allowInsecurePeers).toBe(true);
    expect(load([], {}, "bind: 0.0.0.0\npeers: [10.0.0.2:3322]\nallow_insecure_peers: true\n").allowInsecurePeers).toBe(true);
  });

  test("quic is refused off loopback, even with a key, and kept on loopback", () => {
    const quic = ["--peer-transport", "quic", "--peer-tls-cert", "c", "--peer-tls-key", "k", "--cluster-key", "s"];
    expect(problems(() => load(["--bind", "10.0.0.1", ...PEERS, ...quic]))).toEqual([
      "--peer-transport: quic is for loopback test clusters only (--bind 10.0.0.1 is reachable from other hosts): QUIC peers cannot verify each other's certificates and a captured QUIC frame can be replayed; use --peer-transport tls (mutual TLS) or tcp with --cluster-key-file",
    ]);
    expect(problems(() => load(["--bind", "10.0.0.1", ...PEERS, ...quic, "--allow-insecure-peers"]))).toHaveLength(1);
    expect(load(["--bind", "127.0.0.1", "--peers", "127.0.0.1:3323", ...quic]).peerTransport).toBe("quic");
  });

  test("shoal serve exits 2 with the line", async () => {
    const io = captureIO();
    expect(await run(["serve", "--bind", "0.0.0.0", ...PEERS], io)).toBe(2);
    expect(io.stderr).toBe(
      `shoal: invalid configuration:\n  --cluster-key-file: ${INSECURE_PEERS_MESSAGE("0.0.0.0")}\nRun 'shoal serve --help' for the list of settings.\n`,
    );
  });
});

describe("shoal keygen", () => {
  test("prints a new 32-byte base64url key each time", async () => {
    const keys = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const io = captureIO();
      expect(await run(["keygen"], io)).toBe(0);
      expect(io.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
      expect(Buffer.from(io.stdout.trim(), "base64url")).toHaveLength(32);
      keys.add(io.stdout);
    }
    expect(keys.size).toBe(5);
  });

  test("--out writes a 0600 file and never prints the key; refuses to overwrite without --force", async () => {
    const path = join(dir, "cluster.key");
    const io = captureIO();
    expect(await run(["keygen", "--out", path], io)).toBe(0);
    const key = readFileSync(path, "utf8");
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(io.stdout).toBe(
      `wrote a new cluster key to ${path} (mode 0600); copy it to every node and start each with --cluster-key-file ${path}\n`,
    );
    expect(io.stdout).not.toContain(key.trim());

    const again = captureIO();
    expect(await run(["keygen", "--out", path], again)).toBe(1);
    expect(again.stderr).toBe(`shoal keygen: ${path} already exists; keep it (every node needs the same key) or pass --force to replace it\n`);
    expect(readFileSync(path, "utf8")).toBe(key);

    writeFileSync(path, "old\n", { mode: 0o644 });
    expect(await run(["keygen", "--out", path, "--force"], captureIO())).toBe(0);
    expect(readFileSync(path, "utf8")).not.toBe("old\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test("--help, and bad usage exits 2", async () => {
    const io = captureIO();
    expect(await run(["keygen", "--help"], io)).toBe(0);
    expect(io.stdout).toContain("Usage: shoal keygen [--out <file>] [--force]");
    const bad = captureIO();
    expect(await run(["keygen", "--bytes", "3"], bad)).toBe(2);
    expect(bad.stderr).toBe("shoal: unknown option --bytes\nRun 'shoal keygen --help' for usage.\n");
  });
});
