/**
 * Start and stop real server processes for tests: a shoal node (from source
 * with bun, or the compiled binary from SHOAL_BIN) and redis-server. Each
 * start picks free loopback ports, waits until PING answers, and keeps the
 * output for error messages; stop() kills by PID. Anything still running
 * when the test process exits is killed too.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { freePort, sleep } from "./ports.ts";
import { RawClient } from "./raw-client.ts";

/** Repository root (tests/helpers/../..). */
export const REPO_ROOT = resolve(import.meta.dir, "../..");

/** A started server process. */
export interface ServerProcess {
  readonly pid: number;
  /** RESP port on 127.0.0.1. */
  readonly port: number;
  /** HTTP port (shoal only; 0 for redis). */
  readonly httpPort: number;
  readonly proc: ReturnType<typeof Bun.spawn>;
  /** stdout + stderr captured so far. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number>;
}

const live = new Set<ReturnType<typeof Bun.spawn>>();
process.on("exit", () => {
  for (const p of live) {
    try {
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** The command that runs shoal: `$SHOAL_BIN` when set, else `bun cmd/shoal.ts`. */
export function shoalCommand(binary = process.env.SHOAL_BIN): string[] {
  if (binary) return [resolve(REPO_ROOT, binary)];
  return [process.execPath, resolve(REPO_ROOT, "cmd/shoal.ts")];
}

/** The compiled binary used by e2e tests: `$SHOAL_BIN`, default dist/shoal. */
export function shoalBinary(): string {
  return resolve(REPO_ROOT, process.env.SHOAL_BIN ?? "dist/shoal");
}

/** True when redis-server is on PATH. */
export function redisServerPath(): string | null {
  return Bun.which("redis-server") ?? (existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null);
}

/** True when redis-cli is on PATH. */
export function redisCliPath(): string | null {
  return Bun.which("redis-cli") ?? (existsSync("/usr/bin/redis-cli") ? "/usr/bin/redis-cli" : null);
}

/**
 * The child environment: ours without SHOAL_* variables (SHOAL_BIN and friends
 * must not leak into the node's config), plus `extra`.
 */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SHOAL_")) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

function collect(stream: ReadableStream<Uint8Array> | undefined, sink: string[]): void {
  if (!stream) return;
  const decoder = new TextDecoder();
  (async () => {
    try {
      for await (const chunk of stream) {
        sink.push(decoder.decode(chunk));
        if (sink.length > 2000) sink.splice(0, sink.length - 1000);
      }
    } catch {
      // stream closed
    }
  })();
}

/** Connects and sends PING until +PONG (or -NOAUTH from a password-protected server), bounded by `timeoutMs`. */
export async function waitForPing(port: number, timeoutMs: number, isDead: () => boolean, host = "127.0.0.1"): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !isDead()) {
    try {
      const client = await RawClient.connect(port, host, 1000);
      try {
        const reply = await client.call(["PING"], 1000);
        if (reply === "+PONG\r\n" || reply.startsWith("-NOAUTH")) return true;
      } finally {
        client.close();
      }
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return false;
}

interface SpawnSpec {
  cmd: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  port: number;
  httpPort: number;
  startTimeoutMs: number;
  name: string;
}

async function spawnAndWait(spec: SpawnSpec): Promise<ServerProcess> {
  const out: string[] = [];
  const proc = Bun.spawn(spec.cmd, {
    cwd: spec.cwd ?? REPO_ROOT,
    env: childEnv(spec.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  collect(proc.stdout as ReadableStream<Uint8Array>, out);
  collect(proc.stderr as ReadableStream<Uint8Array>, out);
  let dead = false;
  const exited = proc.exited.then((code) => {
    dead = true;
    live.delete(proc);
    return code;
  });
  const handle: ServerProcess = {
    pid: proc.pid,
    port: spec.port,
    httpPort: spec.httpPort,
    proc,
    exited,
    output: () => out.join(""),
    async stop(graceMs = 3000) {
      if (!dead) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => {
          if (!dead) proc.kill("SIGKILL");
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
  const ok = await waitForPing(spec.port, spec.startTimeoutMs, () => dead);
  if (!ok) {
    await handle.stop(500);
    await sleep(50);
    throw new Error(
      `${spec.name} did not answer PING on 127.0.0.1:${spec.port} within ${spec.startTimeoutMs} ms ` +
        `(${dead ? "it exited" : "still running"}).\ncommand: ${spec.cmd.join(" ")}\noutput:\n${handle.output()}`,
    );
  }
  return handle;
}

/** Options for {@link startShoal}. */
export interface ShoalOptions {
  /** Extra arguments after `serve --port P --http-port H --bind 127.0.0.1`. */
  args?: string[];
  env?: Record<string, string | undefined>;
  /** Binary to run instead of `bun cmd/shoal.ts` (default: $SHOAL_BIN). */
  binary?: string;
  cwd?: string;
  startTimeoutMs?: number;
}

/** Starts a shoal node on free loopback ports and waits until it answers PING. Retries ports twice. */
export async function startShoal(opts: ShoalOptions = {}): Promise<ServerProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const httpPort = await freePort();
    try {
      return await spawnAndWait({
        name: "shoal",
        cmd: [
          ...shoalCommand(opts.binary),
          "serve",
          "--port",
          String(port),
          "--http-port",
          String(httpPort),
          "--bind",
          "127.0.0.1",
          ...(opts.args ?? []),
        ],
        env: opts.env,
        cwd: opts.cwd,
        port,
        httpPort,
        startTimeoutMs: opts.startTimeoutMs ?? 15000,
      });
    } catch (err) {
      lastError = err;
      if (!/in use|EADDRINUSE/i.test(String(err))) break;
    }
  }
  throw lastError;
}

/**
 * Starts shoal with exactly `args` (nothing added) and waits for PING on `port`;
 * for tests that configure ports through env or shoal.yaml.
 */
export function spawnShoal(opts: {
  args: string[];
  port: number;
  httpPort?: number;
  env?: Record<string, string | undefined>;
  binary?: string;
  cwd?: string;
  startTimeoutMs?: number;
}): Promise<ServerProcess> {
  return spawnAndWait({
    name: "shoal",
    cmd: [...shoalCommand(opts.binary), ...opts.args],
    env: opts.env,
    cwd: opts.cwd,
    port: opts.port,
    httpPort: opts.httpPort ?? 0,
    startTimeoutMs: opts.startTimeoutMs ?? 15000,
  });
}

/** Starts redis-server on a free loopback port with persistence off. Throws when redis-server is not installed. */
export async function startRedis(extraArgs: string[] = []): Promise<ServerProcess> {
  const bin = redisServerPath();
  if (!bin) throw new Error("redis-server is not installed (apt-get install redis-server)");
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await spawnAndWait({
        name: "redis-server",
        cmd: [bin, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", "/tmp", ...extraArgs],
        port,
        httpPort: 0,
        startTimeoutMs: 10000,
      });
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

/** Runs a command to completion with a time limit; returns exit code and output. Kills it on timeout. */
export async function runCommand(
  cmd: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: childEnv(opts.env),
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  live.add(proc);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs ?? 30000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  live.delete(proc);
  return { code, stdout, stderr, timedOut };
}
