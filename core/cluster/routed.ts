/**
 * Building and carrying out routing decisions ({@link Routed}): the few
 * shapes every router path returns, and what to do with one that was made
 * after an await (the session is already parked on the command by then).
 */
import type { Args } from "../protocol/args.ts";
import type { Command } from "../protocol/command.ts";
import type { CommandHost, Routed } from "../protocol/host.ts";
import type { ClientSession } from "../protocol/session.ts";

/** Run the command here as usual. */
export const LOCAL: Routed = Object.freeze({ kind: "local" });
/** The reply is written (or deferred). */
export const ANSWERED: Routed = Object.freeze({ kind: "answered" });

/** The command runs asynchronously and has written its reply once `done` settles. */
export function running(done: Promise<void>): Routed {
  return { kind: "running", done };
}

/** Answers with an error line. */
export function refuse(session: ClientSession, message: string): Routed {
  session.reply.error(message);
  return ANSWERED;
}

/**
 * Carries out a decision made after an await: runs the command when it was
 * left to run here, waits for one under way, writes a forwarded reply.
 */
export function carryOut(r: Routed, node: CommandHost, session: ClientSession, command: Command, args: Args): void | Promise<void> {
  switch (r.kind) {
    case "local":
      return command.run({ node, session, reply: session.reply, args });
    case "running":
      return r.done;
    case "forwarded":
      return r.reply.then((b) => session.reply.raw(b));
    case "answered":
      return;
  }
}
