/** MULTI / EXEC / DISCARD / WATCH / UNWATCH (state in transaction.ts, EXEC's runner in the session). */
import { ShoalError } from "../../errors.ts";
import { type Command, cmd } from "../command.ts";

/** Transaction commands. */
export const transactionCommands: Command[] = [
  cmd("multi", 1, "fast", [0, 0, 0], (ctx) => {
    if (ctx.session.tx.inMulti) throw new ShoalError("ERR", "MULTI calls can not be nested");
    ctx.session.tx.begin();
    ctx.reply.ok();
  }),
  cmd("exec", 1, "slow", [0, 0, 0], (ctx) => ctx.session.execTransaction()),
  cmd("discard", 1, "fast", [0, 0, 0], (ctx) => {
    if (!ctx.session.tx.inMulti) throw new ShoalError("ERR", "DISCARD without MULTI");
    ctx.session.tx.end();
    ctx.reply.ok();
  }),
  cmd("watch", -2, "fast", [1, -1, 1], (ctx) => {
    if (ctx.session.tx.inMulti) throw new ShoalError("ERR", "WATCH inside MULTI is not allowed");
    for (let i = 1; i < ctx.args.n; i++) ctx.session.tx.watch(ctx.node.db, ctx.args.bytes(i));
    ctx.reply.ok();
  }),
  cmd("unwatch", 1, "fast", [0, 0, 0], (ctx) => {
    ctx.session.tx.unwatch();
    ctx.reply.ok();
  }),
];
