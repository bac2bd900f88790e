/**
 * `shoal cli`: runs one command and prints the reply like redis-cli, or an
 * interactive prompt reading commands from stdin.
 */
import { formatRaw, formatReply, splitArgs } from "./cli-format.ts";
import { CLI_HELP } from "./help.ts";
import { CONNECTION_OPTIONS, type CommandIO, connectionTarget, parseOptions } from "./io.ts";
import { RespClient, RespError, type RespReply } from "./resp-client.ts";

const OPTIONS = { ...CONNECTION_OPTIONS, "--raw": { key: "raw", value: false }, "--no-raw": { key: "noRaw", value: false } };

/** Runs `shoal cli …`; returns the exit status. */
export async function runCli(args: readonly string[], io: CommandIO): Promise<number> {
  const { options, rest, help } = parseOptions(args, OPTIONS);
  if (help) {
    io.out(CLI_HELP);
    return 0;
  }
  const target = connectionTarget(options, io.env);
  const format = options["raw"] === "true" ? formatRaw : formatReply;
  let client: RespClient;
  try {
    client = await RespClient.connect(target);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 1;
  }
  try {
    if (rest.length > 0) {
      const reply = await client.send(rest);
      io.out(format(reply));
      return reply instanceof RespError ? 1 : 0;
    }
    return await repl(client, target, io, format);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 1;
  } finally {
    client.close();
  }
}

async function repl(
  first: RespClient,
  target: { host: string; port: number; password?: string },
  io: CommandIO,
  format: (reply: RespReply) => string,
): Promise<number> {
  if (!io.lines) {
    io.err("no stdin to read commands from\n");
    return 1;
  }
  const lines = io.lines();
  let client: RespClient | null = first;
  const prompt = `${target.host}:${target.port}> `;
  const show = io.prompt ?? io.out;
  const ask = () => show(client ? prompt : "not connected> ");
  ask();
  for await (const line of lines) {
    const words = splitArgs(line);
    if (words === null) {
      io.out("Invalid argument(s)\n");
    } else if (words.length > 0) {
      const name = new TextDecoder().decode(words[0]).toLowerCase();
      if (name === "quit" || name === "exit") break;
      try {
        client ??= await RespClient.connect(target);
        io.out(format(await client.send(words)));
      } catch (err) {
        io.out(`${(err as Error).message}\n`);
        client?.close();
        client = null;
      }
    }
    ask();
  }
  client?.close();
  if (io.isTTY) io.out("\n");
  return 0;
}
