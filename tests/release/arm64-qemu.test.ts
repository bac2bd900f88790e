/**
 * The linux-arm64 release binary runs: extracted from its archive and run
 * under qemu-aarch64-static (Debian qemu-user-static, with the arm64 C
 * library from libc6-arm64-cross as QEMU_LD_PREFIX), `shoal version` says
 * linux-arm64 and `shoal serve` answers a real RESP PING (and SET/GET) over
 * a TCP socket, and /healthz over HTTP.
 */
import { afterAll, expect } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { freePorts, sleep } from "../helpers/ports.ts";
import { firstMissing, missingProgram, testIf } from "../helpers/prerequisites.ts";
import { RawClient } from "../helpers/raw-client.ts";
import { headCommit, requireRelease, run, tempDir, VERSION } from "./release-dir.ts";

const QEMU_LD_PREFIX = "/usr/aarch64-linux-gnu";
const missing = firstMissing(
  missingProgram("qemu-aarch64-static", "qemu-user-static"),
  existsSync(`${QEMU_LD_PREFIX}/lib/ld-linux-aarch64.so.1`) ? null : `${QEMU_LD_PREFIX}/lib/ld-linux-aarch64.so.1 is missing (apt-get install libc6-arm64-cross)`,
);
const tmp = tempDir("shoal-arm64-");
const procs: Bun.Subprocess[] = [];
afterAll(async () => {
  for (const p of procs) {
    p.kill("SIGKILL");
    await p.exited;
  }
  tmp.remove();
});

/** The arm64 binary, extracted from its release archive. */
async function arm64Binary(): Promise<string> {
  const dir = requireRelease();
  const x = await run(["tar", "-xzf", join(dir, `shoal-${VERSION}-linux-arm64.tar.gz`), "-C", tmp.dir]);
  expect(x.code).toBe(0);
  return join(tmp.dir, `shoal-${VERSION}-linux-arm64`, "shoal");
}

const qemu = (bin: string, args: string[]) => ["qemu-aarch64-static", bin, ...args];
const qemuEnv = () => ({ ...(process.env as Record<string, string>), QEMU_LD_PREFIX });

testIf(missing)(
  "linux-arm64 under qemu: version says linux-arm64 and the commit; serve answers PING, SET and GET over RESP and /healthz over HTTP",
  async () => {
    const bin = await arm64Binary();
    const file = await run(["file", "-b", bin]);
    expect(file.stdout).toContain("ARM aarch64");

    const v = await run(qemu(bin, ["version", "--json"]), { env: qemuEnv(), timeoutMs: 60_000 });
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ version: VERSION, commit: headCommit(), platform: "linux-arm64" });

    const [port, httpPort] = await freePorts(2);
    const started = performance.now();
    const proc = Bun.spawn(qemu(bin, ["serve", "--bind", "127.0.0.1", "--port", String(port!), "--http-port", String(httpPort!)]), {
      env: qemuEnv(),
      stdout: "pipe",
      stderr: "pipe",
    });
    procs.push(proc);
    let client: RawClient | undefined;
    for (let i = 0; i < 240 && !client; i++) {
      if (proc.exitCode !== null) throw new Error(`arm64 shoal exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
      client = await RawClient.connect(port!, "127.0.0.1", 1000).catch(() => undefined);
      if (!client) await sleep(250);
    }
    if (!client) throw new Error("arm64 shoal under qemu did not open its RESP port within 60 s");
    try {
      expect(await client.call(["PING"], 30_000)).toBe("+PONG\r\n");
      console.log(`arm64 under qemu: PONG ${((performance.now() - started) / 1000).toFixed(1)} s after start`);
      expect(await client.call(["SET", "arch", "aarch64"], 10_000)).toBe("+OK\r\n");
      expect(await client.call(["GET", "arch"], 10_000)).toBe("$7\r\naarch64\r\n");
    } finally {
      client.close();
    }
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(10_000) });
    expect(health.status).toBe(200);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  },
  180_000,
);
