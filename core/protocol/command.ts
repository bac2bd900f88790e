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

/** Redis' wrong-arity error line. */
export const arityError = (name: string): string => `ERR wrong number of arguments for '${name}' command`;
