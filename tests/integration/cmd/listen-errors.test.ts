/**
 * Issue 21 part 1: every listen failure prints one line naming the listener,
 * address:port, the OS reason and the setting that changes it, and exits 1;
 * the ports opened before the failing one are closed first. Real processes
 * (`bun cmd/shoal.ts serve`) against ports held by another process, an
 * address this host does not have, and (as an unprivileged user) port 80.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { ListenError, listenError } from "../../../cmd/listen-errors.ts";
import { createLogger } from "../../../cmd/log.ts";
import { startServer } from "../../../cmd/serve.ts";
import { defaultConfig } from "../../../core/config.ts";
import { generateDevCerts } from "../../fixtures/certs.ts";
import { freePorts } from "../../helpers/ports.ts";
import { firstMissing, missingProgram, missingRoot, testIf } from "../../helpers/prerequisites.ts";
import { childEnv, shoalCommand } from "../../helpers/processes.ts";

const certs = generateDevCerts();
const held: { stop(closeActive?: boolean): void }[] = [];
afterAll(() => {
  for (const h of held) h.stop(true);
  rmSync(certs.dir, { recursive: true, force: true });
});

/** Holds 127.0.0.1:port with a plain TCP listener (another "process" for the node). */
function hold(port: number): void {
  held.push(Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }));
}

async function serve(args: string[], opts: { asNobody?: boolean } = {}): Promise<{ code: number; stderr: string }> {
  const argv = [...shoalCommand(), "serve", "--log-level", "warn", ...args];
  const cmd = opts.asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...argv] : argv;
  const p = Bun.spawn(cmd, { env: childEnv(), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stderr };
}

const inUse = (listener: string, port: number, flag: string) =>
  `shoal: ${listener} listener: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE); stop the process that holds it or pick another port with ${flag}\n`;

describe("listen failures name the listener, address, reason and setting", () => {
  test("each listener's port in use: one line, exit 1", async () => {
    const [taken, p1, p2, p3] = (await freePorts(4)) as [number, number, number, number];
    hold(taken);
    const tls = ["--tls-cert", `${certs.dir}/node.crt`, "--tls-key", `${certs.dir}/node.key`];
    const cases: [string[], string][] = [
      [["--port", String(taken), "--http-port", String(p1)], inUse("RESP", taken, "--port")],
      [["--port", String(p1), "--http-port", String(taken)], inUse("HTTP", taken, "--http-port")],
      [["--port", String(p1), "--http-port", String(p2), "--peer-port", String(taken), "--peers", `127.0.0.1:${p3}`], inUse("peer", taken, "--peer-port")],
      [["--port", String(p1), "--http-port", String(p2), "--tls-port", String(taken), ...tls], inUse("TLS", taken, "--tls-port")],
      [["--port", String(p1), "--http-port", String(p2), "--http-tls-port", String(taken), "--http3", "false", ...tls], inUse("HTTPS", taken, "--http-tls-port")],
    ];
    for (const [args, line] of cases) {
      const r = await serve(args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 1, stderr: line });
    }
  }, 60_000);

  test("an address this host does not have: EADDRNOTAVAIL names --bind", async () => {
    const [p1, p2] = (await freePorts(2)) as [number, number];
    const r = await serve(["--bind", "10.255.255.1", "--port", String(p1), "--http-port", String(p2)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `shoal: RESP listener: cannot listen on 10.255.255.1:${p1}: address not available (EADDRNOTAVAIL); 10.255.255.1 is not an address of this host: give one of its addresses, or 0.0.0.0 for all, with --bind\n`,
    );
  });

  // dropping to an unprivileged user needs root and setpriv (util-linux)
  testIf(firstMissing(missingRoot(), missingProgram("setpriv", "util-linux")))("a port below 1024 without privileges: EACCES", async () => {
    const [p2] = (await freePorts(1)) as [number];
    const r = await serve(["--port", "80", "--http-port", String(p2)], { asNobody: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "shoal: RESP listener: cannot listen on 127.0.0.1:80: permission denied (EACCES); ports below 1024 need root or CAP_NET_BIND_SERVICE: pick a port from 1024 up with --port\n",
    );
  });

  test("ports opened before the failing one are closed first", async () => {
    const [resp, http, peer, other] = (await freePorts(4)) as [number, number, number, number];
    hold(peer);
    const log = createLogger({ format: "json", level: "error", write: () => undefined });
    const cfg = defaultConfig({ port: resp, httpPort: http, peerPort: peer, peers: [`127.0.0.1:${other}`], preset: "local" });
    const err = await startServer(cfg, log).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).listener).toBe("peer");
    // the RESP and HTTP ports it had opened are free again
    for (const port of [resp, http]) {
      const again = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      again.stop(true);
    }
  });

  test("other failures keep the runtime's words and name the settings to check", () => {
    const e = listenError("HTTP", "::1", 8080, "--http-port", Object.assign(new Error("Failed to start server"), { code: "EWEIRD" }));
    expect(e.message).toBe("HTTP listener: cannot listen on [::1]:8080: EWEIRD: Failed to start server; check --bind and --http-port");
    expect(listenError("peer", "h", 1, "--peer-port", new Error("boom")).message).toBe("peer listener: cannot listen on h:1: boom; check --bind and --peer-port");
  });
});
