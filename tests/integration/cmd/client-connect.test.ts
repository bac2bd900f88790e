/**
 * Issue 21 part 3: `shoal cli`, `stats` and `bench` that cannot connect say
 * so with the address and the reason and suggest `shoal serve` or
 * -h/-p; they speak TLS (--tls, --cacert, --cert/--key, --insecure, --sni)
 * and log in as an ACL user (--user/--pass), like redis-cli. The exact
 * lines are pinned. Server: a real node (`bun cmd/shoal.ts serve`) with a
 * TLS port and an ACL file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../../../cmd/shoal.ts";
import { generateDevCerts } from "../../fixtures/certs.ts";
import { freePorts } from "../../helpers/ports.ts";
import { type ServerProcess, startShoal } from "../../helpers/processes.ts";
import { captureIO } from "../../unit/cmd/fake-server.ts";

const certs = generateDevCerts();
const ca = join(certs.dir, "ca.crt");
let node: ServerProcess;
let tlsPort = 0;
let closedPort = 0;

beforeAll(async () => {
  const acl = join(certs.dir, "users.acl");
  writeFileSync(acl, "user default off\nuser alice on >alicepw ~alice:* +@all\n");
  [tlsPort, closedPort] = (await freePorts(2)) as [number, number];
  const tls = ["--tls-port", String(tlsPort), "--tls-cert", join(certs.dir, "node.crt"), "--tls-key", join(certs.dir, "node.key")];
  node = await startShoal({ args: [...tls, "--acl-file", acl, "--log-level", "warn"] });
});
afterAll(async () => {
  await node?.stop(1000);
  rmSync(certs.dir, { recursive: true, force: true });
});

async function shoal(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const io = captureIO(env);
  const code = await run(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

const refused = (port: number) =>
  `could not connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED); is a node running there? Start one with 'shoal serve', or point at it with -h/--host and -p/--port\n`;

describe("client subcommands that cannot connect", () => {
  test.each([
    ["cli", ["PING"]],
    ["stats", []],
    ["bench", ["-n", "10", "-q"]],
  ])("%s against a port with nothing on it", async (sub, extra) => {
    expect(await shoal([sub, "-p", String(closedPort), ...extra])).toEqual({ code: 1, out: "", err: refused(closedPort) });
  });

  test("a host that does not resolve", async () => {
    expect(await shoal(["cli", "-h", "no-such-host.invalid", "PING"])).toEqual({
      code: 1,
      out: "",
      err: "could not connect to no-such-host.invalid:3320: host not found (ENOTFOUND); check -h/--host\n",
    });
  });

  test("TLS to a plain port, and a server certificate from an unknown CA", async () => {
    const plain = await shoal(["cli", "--tls", "--cacert", ca, "-p", String(node.port), "PING"]);
    expect(plain.code).toBe(1);
    expect(plain.err).toStartWith(`could not connect to 127.0.0.1:${node.port} over TLS: `);
    const unknown = await shoal(["cli", "--tls", "-p", String(tlsPort), "PING"]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toStartWith(`could not connect to 127.0.0.1:${tlsPort} over TLS: `);
    expect(unknown.err).toEndWith("; check --tls-port, --cacert (or --insecure)\n");
  });

  test("usage errors exit 2", async () => {
    expect(await shoal(["cli", "--user", "alice", "PING"])).toEqual({
      code: 2,
      out: "",
      err: "shoal: --user needs a password: add --pass <password> (or -a)\nRun 'shoal cli --help' for usage.\n",
    });
    expect(await shoal(["stats", "--cacert", "/no/such/ca.crt"])).toEqual({
      code: 2,
      out: "",
      err: "shoal: --cacert: cannot read /no/such/ca.crt: ENOENT\nRun 'shoal stats --help' for usage.\n",
    });
    expect((await shoal(["bench", "--cert", ca])).err).toBe("shoal: --cert and --key go together (the client certificate and its key)\nRun 'shoal bench --help' for usage.\n");
  });
});

describe("--tls and --user/--pass like redis-cli", () => {
  const tls = () => ["--tls", "--cacert", ca, "-p", String(tlsPort)];

  test("cli over TLS as an ACL user", async () => {
    expect(await shoal(["cli", ...tls(), "--user", "alice", "--pass", "alicepw", "SET", "alice:1", "v"])).toEqual({ code: 0, out: "OK\n", err: "" });
    expect(await shoal(["cli", ...tls(), "--user", "alice", "-a", "alicepw", "GET", "alice:1"])).toEqual({ code: 0, out: '"v"\n', err: "" });
    expect((await shoal(["cli", ...tls(), "--user", "alice", "--pass", "alicepw", "GET", "bob:1"])).out).toBe(
      "(error) NOPERM this user has no permissions to access one of the keys used as arguments\n",
    );
    expect(await shoal(["cli", ...tls(), "--user", "alice", "--pass", "nope", "PING"])).toEqual({
      code: 1,
      out: "",
      err: "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n",
    });
    // without a user, `default` is off here
    expect((await shoal(["cli", ...tls(), "PING"])).out).toBe("(error) NOAUTH Authentication required.\n");
  });

  test("--insecure skips verification; stats and bench speak TLS too", async () => {
    expect(await shoal(["cli", "--tls", "--insecure", "-p", String(tlsPort), "--user", "alice", "--pass", "alicepw", "PING"])).toEqual({
      code: 0,
      out: "PONG\n",
      err: "",
    });
    const stats = await shoal(["stats", ...tls(), "--user", "alice", "--pass", "alicepw"]);
    expect(stats.code).toBe(0);
    expect(stats.out).toContain("shoal_version");
    const bench = await shoal(["bench", ...tls(), "--user", "alice", "--pass", "alicepw", "-n", "200", "-c", "4", "-t", "ping", "-q"]);
    expect(bench.code).toBe(0);
    expect(bench.out).toContain("PING");
  });
});
