/**
 * Server processes for the benchmarks: redis-server and a shoal node on free
 * loopback ports, started with Bun.spawn and stopped by PID.
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

/** A server process the benchmark started. */
export interface BenchServer {
  name: "redis" | "shoal";
  pid: number;
  port: number;
  /** Resolves with the exit code when the server process ends. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

const started = new Set<BenchServer>();
const clients = new Set<ReturnType<typeof Bun.spawn>>();

/** A free TCP port on 127.0.0.1 (bind to 0, read it back, release). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `PING` on the port answers `+PONG`, or throws after `timeoutMs`. */
export async function waitForPong(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = Bun.spawnSync(["redis-cli", "-h", "127.0.0.1", "-p", String(port), "ping"], { stderr: "ignore" });
    if (r.stdout.toString().trim() === "PONG") return;
    await Bun.sleep(50);
  }
  throw new Error(`no PONG from 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** Options of {@link launch}. */
export interface LaunchOptions {
  /** Append the process's stdout and stderr to this file instead of ignoring stdout. */
  logFile?: string;
  /** Child environment (default: ours). */
  env?: Record<string, string>;
  /** How long to wait for the first PONG, ms (default 10 000). */
  startTimeoutMs?: number;
}

/**
 * Spawns `cmd`, registers it for {@link stopAll} and waits until PING on
 * `port` answers (the process is stopped when it does not).
 */
export async function launch(name: BenchServer["name"], cmd: string[], port: number, opts: LaunchOptions = {}): Promise<BenchServer> {
  const fd = opts.logFile ? openSync(opts.logFile, "a") : -1;
  const proc = Bun.spawn(cmd, { stdout: fd >= 0 ? fd : "ignore", stderr: fd >= 0 ? fd : "inherit", env: opts.env });
  if (fd >= 0) closeSync(fd);
  const server: BenchServer = {
    name,
    pid: proc.pid,
    port,
    exited: proc.exited,
    async stop() {
      started.delete(server);
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(proc.pid, "SIGTERM");
        const killer = setTimeout(() => proc.exitCode === null && process.kill(proc.pid, "SIGKILL"), 3000);
        await proc.exited;
        clearTimeout(killer);
      }
    },
  };
  started.add(server);
  try {
    await waitForPong(port, opts.startTimeoutMs);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** Starts redis-server without persistence on a free port. */
export async function startRedis(extra: string[] = []): Promise<BenchServer> {
  const port = await freePort();
  const cmd = ["redis-server", "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--port", String(port), ...extra];
  return launch("redis", cmd, port);
}

/** How shoal is started: SHOAL_BENCH_ENTRY = cli (default) | node | bin. */
export const shoalEntry = (): string => process.env.SHOAL_BENCH_ENTRY ?? "cli";

/** A human-readable description of the shoal command the benchmarks run. */
export function shoalCommand(): string {
  const entry = shoalEntry();
  if (entry === "node") return "`bun bench/start-node.ts --port P` (ShoalNode + Bun RESP listener, no HTTP)";
  if (entry === "bin") return `\`${process.env.SHOAL_BIN ?? "dist/shoal"} serve --port P --http-port H --peer-port Q --log-level warn\``;
  return "`bun cmd/shoal.ts serve --port P --http-port H --peer-port Q --log-level warn`";
}

/**
 * Starts a shoal node on free ports: by default the CLI entry
 * (`cmd/shoal.ts serve`); SHOAL_BENCH_ENTRY=node uses bench/start-node.ts,
 * SHOAL_BENCH_ENTRY=bin the compiled binary (SHOAL_BIN or dist/shoal).
 * `extra` flags (e.g. --max-inuse) are understood by all three.
 */
export async function startShoal(extra: string[] = []): Promise<BenchServer> {
  const port = await freePort();
  const entry = shoalEntry();
  if (entry === "node") {
    const script = fileURLToPath(new URL("./start-node.ts", import.meta.url));
    return launch("shoal", [process.execPath, script, "--port", String(port), ...extra], port);
  }
  const ports = ["--port", String(port), "--http-port", String(await freePort()), "--peer-port", String(await freePort())];
  const cli = fileURLToPath(new URL("../cmd/shoal.ts", import.meta.url));
  const head = entry === "bin" ? [process.env.SHOAL_BIN ?? "dist/shoal"] : [process.execPath, cli];
  return launch("shoal", [...head, "serve", ...ports, "--log-level", "warn", ...extra], port);
}

/**
 * Runs a client command (e.g. redis-benchmark) against `server` and returns
 * its stdout. The client is killed if the server exits first (a client whose
 * server is gone can wait forever), after `timeoutMs`, or on Ctrl-C.
 */
export async function runClient(cmd: string[], server: BenchServer, timeoutMs: number): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  clients.add(proc);
  let why = "";
  const timer = setTimeout(() => {
    why = `timed out after ${timeoutMs} ms`;
    proc.kill("SIGKILL");
  }, timeoutMs);
  void server.exited.then((code) => {
    if (proc.exitCode !== null) return;
    why = `${server.name} (pid ${server.pid}) exited with ${code}`;
    proc.kill("SIGKILL");
  });
  try {
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    await proc.exited;
    if (why) throw new Error(`${cmd[0]}: ${why}\n${err}`);
    return out;
  } finally {
    clearTimeout(timer);
    clients.delete(proc);
  }
}

/** Stops every client and server still running (call from finally and signal handlers). */
export async function stopAll(): Promise<void> {
  for (const c of clients) c.kill("SIGKILL");
  await Promise.all([...started].map((s) => s.stop()));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

/** Resident set size of a process in bytes (VmRSS from /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
