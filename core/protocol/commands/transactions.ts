/**
 * MULTI / EXEC / DISCARD / WATCH / UNWATCH (state in transaction.ts, EXEC's
 * runner in the session).
 *
 * In a cluster a transaction runs on the owner of its keys' slot, as one
 * command: EXEC sends `__txexec` (the watched keys with the versions WATCH
 * read on the owner, then the queued commands with their key positions)
 * through the router, which refuses keys of several slots (CROSSSLOT),
 * forwards it to the owner, runs it there in one go and replicates the
 * keys its write commands touched as one batch (rolled back together if
 * the write quorum fails). WATCH reads versions on the owner with
 * `__txversions`.
 */
import { ShoalError } from "../../errors.ts";
import type { Args } from "../args.ts";
import { arityError, type Command, type CommandContext, cmd, keyIndices } from "../command.ts";
import { internalCall } from "../internal-call.ts";
import type { Queued } from "../transaction.ts";

const enc = new TextEncoder();

/** Where a __txexec argument list keeps its parts (indices into the args). */
interface TxLayout {
  /** Index of each watched key (its version follows it). */
  watches: number[];
  cmds: { write: boolean; keys: number[]; first: number; argc: number }[];
}

const bad = (): ShoalError => new ShoalError("ERR", "malformed __txexec arguments (sent by EXEC in a cluster, not by clients)");

/** Reads the layout of __txexec's arguments; throws on a malformed list. */
function txLayout(a: Args): TxLayout {
  let i = 1;
  const int = (): number => {
    if (i >= a.n) throw bad();
    const v = a.intOrNull(i++);
    if (v === null || v < 0) throw bad();
    return v;
  };
  const watches: number[] = [];
  for (let w = int(); w > 0; w--) {
    watches.push(i);
    i += 2;
  }
  const cmds: TxLayout["cmds"] = [];
  for (let c = int(); c > 0; c--) {
    const argc = int();
    const write = int() === 1;
    const keys: number[] = [];
    for (let k = int(); k > 0; k--) keys.push(int());
    const first = i;
    i += argc;
    if (argc === 0 || i > a.n || keys.some((k) => k <= 0 || k >= argc)) throw bad();
    cmds.push({ write, keys: keys.map((k) => first + k), first, argc });
  }
  if (i !== a.n) throw bad();
  return { watches, cmds };
}

/** Same layout or an empty one (key extraction must not throw: the command's run answers the error). */
function layoutOrEmpty(a: Args): TxLayout {
  try {
    return txLayout(a);
  } catch {
    return { watches: [], cmds: [] };
  }
}

/** Sub-arguments [first, first + argc) of a __txexec list as their own Args (a view, no copy). */
function subArgs(a: Args, first: number, argc: number): Args {
  const s = Object.create(Object.getPrototypeOf(a)) as Args;
  s.buf = a.buf;
  s.off = a.off.subarray(first, first + argc);
  s.len = a.len.subarray(first, first + argc);
  s.n = argc;
  return s;
}

/** __txexec on the owner: checks the watched versions, then runs every command here as one array reply. */
function txexec(ctx: CommandContext): void | Promise<void> {
  const a = ctx.args;
  const layout = txLayout(a);
  const db = ctx.node.db;
  for (const w of layout.watches) {
    const key = a.bytes(w);
    const idx = db.lookup(key, 0, key.length, false);
    if (String(idx < 0 ? -1 : db.table.version[idx]!) !== a.str(w + 1)) return ctx.reply.nilArray();
  }
  const queue: Queued[] = [];
  for (const c of layout.cmds) {
    const args = subArgs(a, c.first, c.argc);
    const command = ctx.node.commands.lookup(args);
    if (!command) throw new ShoalError("EXECABORT", `Transaction discarded because of: unknown command '${args.latin1(0).slice(0, 64)}'`);
    if ((command.arity > 0 && args.n !== command.arity) || (command.arity < 0 && args.n < -command.arity))
      throw new ShoalError("EXECABORT", `Transaction discarded because of: ${arityError(command.name).slice(4)}`);
    const declared = c.keys.map((k) => k - c.first).join(",");
    if (keyIndices(command, args).join(",") !== declared) throw bad(); // routed by the keys it said; they must be its keys
    queue.push({ command, args });
  }
  ctx.reply.arr(queue.length);
  return ctx.session.runQueuedCommands(queue);
}

/** WATCH in a cluster: reads the keys' versions on their owner (one slot, or CROSSSLOT). */
async function watchRouted(ctx: CommandContext, keys: Uint8Array[]): Promise<void> {
  const s = ctx.session;
  const reply = await internalCall(ctx.node, s.aclUser, s.user, [enc.encode("__txversions"), ...keys], 2);
  const text = new TextDecoder().decode(reply);
  if (text.startsWith("-")) return ctx.reply.error(text.slice(1).trimEnd());
  // *N then $len / version pairs
  const versions = text.split("\r\n").filter((_, i) => i > 0 && i % 2 === 0);
  if (versions.length !== keys.length) throw new ShoalError("ERR", "WATCH: unexpected answer from the key's owner");
  for (let i = 0; i < keys.length; i++) s.tx.watchAt(ctx.node.db, keys[i]!, Number(versions[i]));
  ctx.reply.ok();
}

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
  cmd(
    "watch",
    -2,
    "fast",
    [0, 0, 0],
    (ctx) => {
      if (ctx.session.tx.inMulti) throw new ShoalError("ERR", "WATCH inside MULTI is not allowed");
      const keys: Uint8Array[] = [];
      for (let i = 1; i < ctx.args.n; i++) keys.push(ctx.args.bytes(i).slice());
      if (ctx.node.router !== null) return watchRouted(ctx, keys);
      for (const k of keys) ctx.session.tx.watch(ctx.node.db, k);
      ctx.reply.ok();
    },
    // keyless for the router: WATCH runs here and asks the owner itself (the state it sets is this connection's)
  ),
  cmd("unwatch", 1, "fast", [0, 0, 0], (ctx) => {
    ctx.session.tx.unwatch();
    ctx.reply.ok();
  }),
  cmd("__txversions", -2, "readonly fast", [1, -1, 1], (ctx) => {
    const a = ctx.args;
    const db = ctx.node.db;
    ctx.reply.arr(a.n - 1);
    for (let i = 1; i < a.n; i++) {
      const idx = db.lookup(a.buf, a.off[i]!, a.len[i]!, false);
      ctx.reply.bulkStr(String(idx < 0 ? -1 : db.table.version[idx]!));
    }
  }),
  cmd("__txexec", -3, "write", [1, 1, 1], txexec, {
    keyArgs: (a) => {
      const l = layoutOrEmpty(a);
      return [...l.watches, ...l.cmds.flatMap((c) => c.keys)];
    },
    writeKeyArgs: (a) => layoutOrEmpty(a).cmds.flatMap((c) => (c.write ? c.keys : [])),
  }),
];
