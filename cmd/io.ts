/**
 * What a subcommand gets from the process (so tests can run subcommands
 * in-process) and the redis-cli style option parsing the client tools share.
 */
import { readFileSync } from "node:fs";
import type { ClientTlsOptions } from "./resp-client.ts";

/** Process surface handed to each subcommand. */
export interface CommandIO {
  /** Writes to stdout (no newline added). */
  out(text: string): void;
  /** Writes to stderr (no newline added). */
  err(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Lines typed on stdin, for the interactive cli. */
  lines?: () => AsyncIterable<string>;
  /** True when stdout is a terminal. */
  isTTY?: boolean;
  /** Shows the interactive prompt (a terminal line editor keeps it on redraw); default: out(). */
  prompt?: (text: string) => void;
}

/** A usage error: the subcommand prints it with its help hint and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Option spec: short/long names → key, and whether it takes a value. */
export interface OptionSpec {
  [flag: string]: { key: string; value: boolean };
}

/** Parsed options plus the positional words (e.g. the command for `cli`). */
export interface ParsedOptions {
  options: Record<string, string>;
  rest: string[];
  help: boolean;
}

/**
 * Parses flags until the first positional word (everything from there on is
 * `rest`). `-h` means host when followed by a value and help when alone,
 * because redis-cli and redis-benchmark use `-h host`.
 */
export function parseOptions(args: readonly string[], spec: OptionSpec): ParsedOptions {
  const options: Record<string, string> = {};
  let help = false;
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || (arg === "-h" && (args[i + 1] === undefined || args[i + 1]!.startsWith("-")))) {
      help = true;
      continue;
    }
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const opt = spec[name];
    if (opt === undefined) throw new UsageError(`unknown option ${name}`);
    if (!opt.value) {
      options[opt.key] = "true";
      continue;
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`${name} expects a value`);
    options[opt.key] = value;
  }
  return { options, rest: args.slice(i), help };
}

/** Options every client tool accepts, as redis-cli spells them (-h host -p port -a password --user --tls …). */
export const CONNECTION_OPTIONS: OptionSpec = {
  "-h": { key: "host", value: true },
  "--host": { key: "host", value: true },
  "-p": { key: "port", value: true },
  "--port": { key: "port", value: true },
  "-a": { key: "password", value: true },
  "--pass": { key: "password", value: true },
  "--user": { key: "user", value: true },
  "--tls": { key: "tls", value: false },
  "--cacert": { key: "cacert", value: true },
  "--cert": { key: "cert", value: true },
  "--key": { key: "key", value: true },
  "--insecure": { key: "insecure", value: false },
  "--sni": { key: "sni", value: true },
};

/** Where a client tool connects, and how. */
export interface ConnectionTarget {
  host: string;
  port: number;
  password?: string;
  user?: string;
  tls?: ClientTlsOptions;
}

/** Reads a PEM file an option names; a UsageError names the option when it cannot. */
function pemFile(option: string, path: string, readFile: (path: string) => string): string {
  try {
    return readFile(path);
  } catch (e) {
    throw new UsageError(`${option}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Host, port, credentials and TLS from options, falling back to
 * SHOAL_PORT/SHOAL_REQUIREPASS (REDISCLI_AUTH) and defaults. Any of
 * --cacert/--cert/--key/--insecure/--sni implies --tls.
 */
export function connectionTarget(
  options: Record<string, string>,
  env: CommandIO["env"],
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): ConnectionTarget {
  const host = options["host"] ?? "127.0.0.1";
  const portText = options["port"] ?? env["SHOAL_PORT"] ?? "3320";
  const port = positiveInt(portText, "-p");
  if (port > 65535) throw new UsageError(`-p: expected a port 1-65535, got "${portText}"`);
  const raw = options["password"] ?? env["SHOAL_REQUIREPASS"] ?? env["REDISCLI_AUTH"];
  const password = raw === "" ? undefined : raw;
  const user = options["user"];
  if (user !== undefined && password === undefined) throw new UsageError("--user needs a password: add --pass <password> (or -a)");
  const wantsTls = ["tls", "cacert", "cert", "key", "insecure", "sni"].some((k) => options[k] !== undefined);
  if ((options["cert"] === undefined) !== (options["key"] === undefined)) throw new UsageError("--cert and --key go together (the client certificate and its key)");
  const tls: ClientTlsOptions | undefined = wantsTls
    ? {
        ca: options["cacert"] === undefined ? undefined : pemFile("--cacert", options["cacert"], readFile),
        cert: options["cert"] === undefined ? undefined : pemFile("--cert", options["cert"], readFile),
        key: options["key"] === undefined ? undefined : pemFile("--key", options["key"], readFile),
        insecure: options["insecure"] === "true",
        serverName: options["sni"],
      }
    : undefined;
  return { host, port, password, user, tls };
}

/** Parses a positive integer option or throws a UsageError naming the option. */
export function positiveInt(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${option}: expected a positive integer, got ${JSON.stringify(text)}`);
  }
  return n;
}
