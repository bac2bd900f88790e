import { ShoalError, syntaxError } from "../../errors.ts";
import { type CommandContext, cmd } from "../command.ts";
import type { SnapshotControl } from "../host.ts";

/** The node's persistence, or the error Redis-minded users can act on. */
function persistenceOf(ctx: CommandContext): SnapshotControl {
  const p = ctx.node.persistence;
  if (p === null) throw new ShoalError("ERR", "snapshots are off on this node: start it with --data-dir <dir> (or SHOAL_DATA_DIR, data_dir in shoal.yaml)");
  return p;
}

/** SAVE, BGSAVE [SCHEDULE] and LASTSAVE (Redis' replies and errors). */
export const persistenceCommands = [
  cmd("save", 1, "", [0, 0, 0], async (ctx) => {
    await persistenceOf(ctx).save();
    ctx.reply.ok();
  }),
  cmd("bgsave", -1, "", [0, 0, 0], (ctx) => {
    const a = ctx.args;
    if (a.n > 2 || (a.n === 2 && !a.is(1, "schedule"))) throw syntaxError();
    const p = persistenceOf(ctx);
    if (a.n === 2) {
      ctx.reply.simple(p.schedule() === "started" ? "Background saving started" : "Background saving scheduled");
      return;
    }
    // the failure (if any) is logged and shows in INFO rdb_last_bgsave_status, as with Redis
    void p.bgsave().catch(() => undefined);
    ctx.reply.simple("Background saving started");
  }),
  cmd("lastsave", 1, "fast", [0, 0, 0], (ctx) => {
    ctx.reply.int(ctx.node.persistence?.lastSaveUnix ?? Math.floor(ctx.node.stats.startedAtMs / 1000));
  }),
];
