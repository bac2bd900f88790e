/**
 * Deno smoke test: `deno task start` serves RESP and HTTP from the same
 * sources, honouring SHOAL_PORT/SHOAL_HTTP_PORT and the client limits, stops
 * on SIGTERM, and refuses (exit 2) every setting it would otherwise ignore.
 * Without deno the tests skip off CI and fail in CI (prerequisites.ts).
 */
import { afterAll, expect } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testIf } from "../../helpers/prerequisites.ts";

const local = "node_modules/.bin/deno";
const deno = process.env.DENO_BIN ?? (existsSync(local) ? local : Bun.which("deno"));
const procs: Bun.Subprocess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill(9);
});

/** Sends raw bytes over a fresh TCP socket and collects the reply until it has `expectBytes` bytes. */
function exchange(port: number, payload: string, expectBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let got = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(got)}`));
    }, 5000);
    socket.on("connect", () => socket.write(payload));
    socket.on("data", (d) => {
      got += d.toString("latin1");
      if (got.length >= expectBytes) {
        clearTimeout(timer);
        socket.end();
        resolve(got);
      }
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const missingDeno = deno ? null : "deno is not installed (npm ci installs node_modules/.bin/deno; or set DENO_BIN)";

/** `deno task start` with `args` on random ports; resolves once it printed "listening" (4 attempts on port clashes). */
async function startDeno(args: string[] = []): Promise<{ proc: Bun.Subprocess<"ignore", "pipe", "pipe">; port: number; httpPort: number }> {
  let started: { proc: Bun.Subprocess<"ignore", "pipe", "pipe">; port: number; httpPort: number } | undefined;
  for (let attempt = 0; attempt < 4 && !started; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const proc = Bun.spawn([deno!, "task", "start", ...args], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, SHOAL_PORT: String(port), SHOAL_HTTP_PORT: String(port + 1), NO_COLOR: "1" },
    });
    procs.push(proc);
    const reader = proc.stdout.getReader();
    let out = "";
    const deadline = Date.now() + 30_000;
    // one read stays pending across ticks: racing a fresh read() each tick would drop the chunk an abandoned read resolves with
    let pending = reader.read();
    while (Date.now() < deadline && !out.includes("listening")) {
      const chunk = await Promise.race([pending, Bun.sleep(250).then(() => null)]);
      if (chunk === null) {
        if (proc.exitCode !== null) break;
        continue;
      }
      if (chunk.done) break;
      out += new TextDecoder().decode(chunk.value);
      pending = reader.read();
    }
    // keep draining stdout so the child never blocks on a full pipe
    void (async () => {
      while (!(await pending.catch(() => ({ done: true }))).done) pending = reader.read();
    })();
    if (out.includes("listening")) {
      expect(out).toContain(`resp=127.0.0.1:${port}`);
      expect(out).toContain("runtime=deno");
      started = { proc, port, httpPort: port + 1 };
    } else {
      proc.kill(9);
      await proc.exited;
      const err = await Promise.race([new Response(proc.stderr).text(), Bun.sleep(2000).then(() => "(stderr still open)")]);
      console.warn(`deno attempt ${attempt} failed: ${out}${err}`);
    }
  }
  if (!started) throw new Error("deno task start did not print 'listening' in 4 attempts");
  return started;
}

testIf(missingDeno)("deno task start serves PING/SET/GET and HTTP, stops on SIGTERM", async () => {
  const { proc, port, httpPort } = await startDeno();

  expect(await exchange(port, "*1\r\n$4\r\nPING\r\n", 7)).toBe("+PONG\r\n");
  const pipelined = "*3\r\n$3\r\nSET\r\n$5\r\nfish!\r\n$5\r\nshoal\r\n*2\r\n$3\r\nGET\r\n$5\r\nfish!\r\n";
  expect(await exchange(port, pipelined, 16)).toBe("+OK\r\n$5\r\nshoal\r\n");
  expect(await exchange(port, "*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n", 5)).toBe("$-1\r\n");

  const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
  expect(health.status).toBe(200);
  const viaHttp = await fetch(`http://127.0.0.1:${httpPort}/v1/maps/default/keys/fish!`);
  expect(await viaHttp.text()).toBe("shoal");

  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
  await expect(exchange(port, "*1\r\n$4\r\nPING\r\n", 7)).rejects.toThrow();
}, 60_000);

testIf(missingDeno)("deno refuses every flag, SHOAL_* variable and shoal.yaml key it would ignore (cluster, discovery, TLS, edge) with exit 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "shoal-deno-"));
  try {
    const yaml = join(dir, "shoal.yaml");
    writeFileSync(yaml, "replica_count: 2\nmaps:\n  sessions:\n    write_quorum: 2\n");
    const proc = Bun.spawn([deno!, "task", "start", "--peers", "127.0.0.1:9", "--tls-port", "7443", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--origin", "http://127.0.0.1:9", "--config", yaml], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, SHOAL_DISCOVERY: "dns", SHOAL_DNS_NAME: "peers.example", NO_COLOR: "1" },
    });
    procs.push(proc);
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(2);
    expect(stdout).not.toContain("listening");
    expect(stderr).toContain("shoal (deno): these settings do not work on Deno and would be ignored:");
    for (const label of ["--peers", "--tls-port", "--tls-cert", "--tls-key", "--origin", "SHOAL_DISCOVERY", "SHOAL_DNS_NAME", `${yaml}: replica_count`, `${yaml}: maps.sessions.write_quorum`]) {
      expect(stderr).toContain(`\n  ${label}: `);
    }
    expect(stderr).toContain("Run the shoal binary for them");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

testIf(missingDeno)("deno honours the client limits it accepts: --max-clients-per-ip 1 refuses a second connection from the same address", async () => {
  const { proc, port } = await startDeno(["--max-clients-per-ip", "1"]);
  const first = connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    first.on("connect", () => resolve());
    first.on("error", reject);
  });
  try {
    expect(await exchange(port, "*1\r\n$4\r\nPING\r\n", 56)).toBe("-ERR max number of clients from this IP address reached\r\n");
  } finally {
    first.destroy();
  }
  // the slot frees when the first client leaves
  let reply = "";
  for (let i = 0; i < 20 && reply !== "+PONG\r\n"; i++) {
    reply = await exchange(port, "*1\r\n$4\r\nPING\r\n", 7).catch(() => "");
    if (reply !== "+PONG\r\n") await Bun.sleep(100);
  }
  expect(reply).toBe("+PONG\r\n");
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
}, 60_000);
