#!/usr/bin/env bun
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { createInterface, type Interface } from "node:readline";
import { ConfigError, loadConfig, wantsCluster } from "../core/config.ts";
import { resolveAdvertise } from "./advertise.ts";
import { runBench } from "./bench.ts";
import { buildInfo, versionLine } from "./build-info.ts";
import { runCerts } from "./certs.ts";
import { runChaos } from "./chaos.ts";
import { runCli } from "./cli.ts";
import { helpFor, MAIN_HELP } from "./help.ts";
import { type CommandIO, UsageError } from "./io.ts";
import { runKeygen } from "./keygen.ts";
import { ListenError } from "./listen-errors.ts";
import { createLogger } from "./log.ts";
/**
 * The `shoal` binary: serve | cli | stats | bench | version | help.
 * Exit status: 0 ok, 1 runtime failure, 2 bad usage or configuration.
 */
import { untilStopped } from "./shutdown.ts";
import { runStats } from "./stats.ts";

/** Reads a text file; null when it does not exist. */
export function readTextFile(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error((err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
}

const isHelp = (args: readonly string[]) => args.includes("--help") || (args.length === 1 && args[0] === "-h");

async function serve(args: readonly string[], io: CommandIO): Promise<number> {
  if (isHelp(args) || args.includes("-h")) {
    io.out(helpFor("serve")!);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ argv: args, env: io.env, readFile: readTextFile, hostname: hostname() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`shoal: ${err.message}\nRun 'shoal serve --help' for the list of settings.\n`);
    return 2;
  }
  const log = createLogger({ format: config.logFormat, level: config.logLevel });
  if (wantsCluster(config)) {
    // other hosts must learn an address they can dial: decide it (or refuse) before any port opens
    const advertised = await resolveAdvertise(config.bind, config.advertise);
    if (!advertised.ok) {
      io.err(`shoal: ${advertised.message}\nRun 'shoal serve --help' for the list of settings.\n`);
      return 2;
    }
    log.info("advertising", { address: advertised.host, how: advertised.note });
    config = { ...config, advertise: advertised.host };
  }
  const { startServer } = await import("./serve.ts");
  let server: Awaited<ReturnType<typeof startServer>>;
  // a signal while starting (joining can take a while) must not kill the process with the default action:
  // remember it, and leave gracefully (deregistering from discovery) as soon as the node is up
  let early: string | null = null;
  const onInt = (): void => {
    early ??= "SIGINT";
  };
  const onTerm = (): void => {
    early ??= "SIGTERM";
  };
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    server = await startServer(config, log);
  } catch (err) {
    if (err instanceof ListenError) {
      // one line a person can act on; JSON logs get the fields too
      io.err(`shoal: ${err.message}\n`);
      if (config.logFormat === "json") log.error("start failed", { listener: err.listener, address: err.address, code: err.code, setting: err.setting, error: err.message });
      return 1;
    }
    log.error("start failed", { error: (err as Error).message });
    // 2: the configuration or the data directory needs the operator (a corrupt snapshot, a directory in use)
    return (err as { exitCode?: number }).exitCode ?? 1;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
  if (early !== null) {
    log.info("shutting down", { signal: early, during: "start" });
    await server.close();
    log.info("stopped");
    return 0;
  }
  // SIGHUP re-reads the client TLS certificates (open connections keep going)
  process.on("SIGHUP", () => server.reloadCerts());
  return await untilStopped(() => server.close(), log, 10_000, (signal, handler) => process.on(signal, handler));
}

/** Runs the binary with `argv` (without the executable and script); returns the exit status. */
export async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case "--help":
      case "-h":
        io.out(MAIN_HELP);
        return 0;
      case "help": {
        if (rest[0] === undefined || rest[0] === "--help" || rest[0] === "-h") {
          io.out(rest[0] === undefined ? MAIN_HELP : helpFor("help")!);
          return 0;
        }
        const text = helpFor(rest[0]);
        if (text === undefined) throw new UsageError(`unknown command ${JSON.stringify(rest[0])}`);
        io.out(text);
        return 0;
      }
      case "version":
      case "--version":
      case "-v":
        if (isHelp(rest)) io.out(helpFor("version")!);
        else if (rest.length === 1 && rest[0] === "--json") io.out(`${JSON.stringify(buildInfo())}\n`);
        else if (rest.length > 0) throw new UsageError(`version takes no arguments but --json, got ${JSON.stringify(rest[0])}`);
        else io.out(`${versionLine()}\n`);
        return 0;
      case "serve":
        return await serve(rest, io);
      case "cli":
        return await runCli(rest, io);
      case "stats":
        return await runStats(rest, io);
      case "bench":
        return await runBench(rest, io);
      case "certs":
        return await runCerts(rest, io);
      case "chaos":
        return await runChaos(rest, io);
      case "keygen":
        return await runKeygen(rest, io);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const hint = command && helpFor(command) ? `shoal ${command} --help` : "shoal --help";
    io.err(`shoal: ${err.message}\nRun '${hint}' for usage.\n`);
    return 2;
  }
}

let terminal: Interface | undefined;

/** stdin as lines; on a terminal, readline edits the line (arrows, history) and redraws the prompt. */
function stdinLines(): AsyncIterable<string> {
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty, historySize: 500 });
  if (tty) terminal = rl;
  async function* iterate(): AsyncIterable<string> {
    try {
      for await (const line of rl) yield line;
    } finally {
      terminal = undefined;
      rl.close();
    }
  }
  return iterate();
}

/** The process-backed CommandIO. */
const flushed = { stdout: Promise.resolve(), stderr: Promise.resolve() };
const writeTo = (stream: "stdout" | "stderr", text: string): void => {
  flushed[stream] = new Promise((resolve) => process[stream].write(text, () => resolve()));
};

export const processIO: CommandIO = {
  out: (text) => writeTo("stdout", text),
  err: (text) => writeTo("stderr", text),
  env: process.env,
  lines: stdinLines,
  isTTY: process.stdout.isTTY === true,
  prompt(text) {
    if (!terminal) return void process.stdout.write(text);
    terminal.setPrompt(text);
    terminal.prompt();
  },
};

/** Exits once stdout and stderr have flushed (process.exit alone truncates piped output). */
async function exitAfterFlush(code: number): Promise<void> {
  await Promise.all([flushed.stdout, flushed.stderr]);
  process.exit(code);
}

if (import.meta.main) {
  run(process.argv.slice(2), processIO).then(exitAfterFlush, (err: Error) => {
    process.stderr.write(`shoal: ${err.stack ?? err.message}\n`);
    exitAfterFlush(1);
  });
}
