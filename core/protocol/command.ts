import type { Args } from "./args.ts";
import type { CommandHost } from "./host.ts";
import type { Reply } from "./reply.ts";
import type { ClientSession } from "./session.ts";

/** Everything a command handler may touch. */
export interface CommandContext {
  node: CommandHost;
  session: ClientSession;
  reply: Reply;
  args: Args;
}

/** One command of the table (COMMAND INFO shape: arity, flags, key positions). */
export interface Command {
  /** Lower-case name. */
  name: string;
  /** Redis arity: n = exactly n args (name included), -n = at least n. */
  arity: number;
  flags: string[];
  firstKey: number;
  lastKey: number;
  step: number;
  /** Runs without AUTH (AUTH, HELLO, QUIT). */
  noAuth?: boolean;
  /** Allowed in RESP2 subscribed mode. */
  inSubscribe?: boolean;
  /** Calls so far (bumped by the session). */
  calls: number;
  /** Calls refused before running (arity, auth, ACL, OOM…) and calls that ran and answered an error (INFO commandstats). */
  rejected?: number;
  failed?: number;
  /**
   * Positions of the key arguments when they depend on the arguments
   * (SINTERCARD numkeys key…); absent: firstKey..lastKey by step.
   */
  keyArgs?(args: Args): number[];
  /**
   * The key arguments it writes, when not all of them (a transaction writes
   * only its write commands' keys): the cluster replicates these alone.
   */
  writeKeyArgs?(args: Args): number[];
  /** Writes the reply to ctx.reply; may return a promise (blocking commands). */
  run(ctx: CommandContext): void | Promise<void>;
}

/** Short form used by command modules. */
export function cmd(
  name: string,
  arity: number,
  flags: string,
  keys: [number, number, number],
  run: Command["run"],
  extra: Partial<Command> = {},
): Command {
  return {
    name,
    arity,
    flags: flags ? flags.split(" ") : [],
    firstKey: keys[0],
    lastKey: keys[1],
    step: keys[2],
    calls: 0,
    run,
    ...extra,
  };
}

/** Positions of a command's key arguments in `args` (its keyArgs, or firstKey..lastKey by step). */
export function keyIndices(command: Command, args: Args): number[] {
  if (command.keyArgs) return command.keyArgs(args).filter((i) => i > 0 && i < args.n);
  const out: number[] = [];
  if (command.firstKey <= 0) return out;
  const last = command.lastKey < 0 ? args.n + command.lastKey : command.lastKey;
  for (let i = command.firstKey; i <= last && i < args.n; i += command.step) out.push(i);
  return out;
}

/** Redis' wrong-arity error line. */
export const arityError = (name: string): string => `ERR wrong number of arguments for '${name}' command`;
