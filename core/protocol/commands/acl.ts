/**
 * The ACL command (WHOAMI, LIST, USERS, CAT, SETUSER, DELUSER, GETUSER, LOG,
 * DRYRUN is not offered) and the password check AUTH and HELLO share.
 * Replies follow Redis 7.0; rules and errors come from core/protocol/acl.ts.
 */
import { ShoalError } from "../../errors.ts";
import { ACL_CATEGORIES, AclError, categoriesOf, WRONGPASS } from "../acl.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";

const SUBS: Record<string, number> = { whoami: 2, list: 2, users: 2, cat: -2, setuser: -3, deluser: -3, getuser: 3, log: -2, load: 2, save: 2, help: 2, genpass: -2, dryrun: -4 };

/**
 * AUTH / HELLO AUTH: switches the session to `user` when `pass` is theirs;
 * otherwise writes WRONGPASS, logs the refusal (user name and address, never
 * the password) and returns false.
 */
export function authenticate(ctx: CommandContext, user: string, pass: string): boolean {
  const u = ctx.node.acl.authenticate(user, pass);
  const s = ctx.session;
  if (!u) {
    logRefusal(ctx, user);
    ctx.reply.error(WRONGPASS);
    return false;
  }
  s.authenticated = true;
  s.aclUser = u;
  s.user = u.name;
  return true;
}

/** Failed-AUTH log state per node: at most one line a second, the next one counts the suppressed. */
const refusals = new WeakMap<object, { at: number; suppressed: number }>();

function logRefusal(ctx: CommandContext, user: string): void {
  const now = ctx.node.clock.monotonic();
  const last = refusals.get(ctx.node);
  if (last && now - last.at < 1000) {
    last.suppressed++;
    return;
  }
  const fields: Record<string, unknown> = { user: user.slice(0, 64), remote: ctx.session.io.remote };
  if (last && last.suppressed > 0) fields.suppressed = last.suppressed;
  refusals.set(ctx.node, { at: now, suppressed: 0 });
  ctx.node.log.warn("client refused: authentication failed", fields);
}

function help(ctx: CommandContext): void {
  const lines = [
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "GETUSER <username>",
    "    Get the user's details.",
    "LIST",
    "    Show users details in config file format.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries (shoal keeps none).",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
  ];
  ctx.reply.arr(lines.length);
  for (const l of lines) ctx.reply.simple(l);
}

function cat(ctx: CommandContext): void {
  const a = ctx.args;
  if (a.n === 2) {
    ctx.reply.arr(ACL_CATEGORIES.length);
    for (const c of ACL_CATEGORIES) ctx.reply.bulkStr(c);
    return;
  }
  if (a.n > 3) throw new ShoalError("ERR", "wrong number of arguments for 'acl|cat' command");
  const want = a.lower(2);
  if (!(ACL_CATEGORIES as readonly string[]).includes(want)) throw new ShoalError("ERR", `Unknown category '${a.latin1(2).slice(0, 128)}'`);
  const names: string[] = [];
  for (const c of ctx.node.commands.byName.values()) {
    if (categoriesOf(c.name, c.flags).has(want)) names.push(c.name);
  }
  ctx.reply.arr(names.length);
  for (const n of names) ctx.reply.bulkStr(n);
}

function getuser(ctx: CommandContext): void {
  const u = ctx.node.acl.users.get(ctx.args.str(2));
  if (!u) return ctx.reply.nil();
  const line = u.describe().split(" ");
  const r = ctx.reply;
  r.map(6);
  r.bulkStr("flags");
  const flags = [u.enabled ? "on" : "off", ...(u.nopass ? ["nopass"] : [])];
  r.arr(flags.length);
  for (const f of flags) r.bulkStr(f);
  r.bulkStr("passwords");
  r.arr(u.passwords.size);
  for (const p of u.passwords) r.bulkStr(p);
  r.bulkStr("commands");
  r.bulkStr(line.filter((w) => w[0] === "+" || w[0] === "-").join(" "));
  r.bulkStr("keys");
  r.bulkStr(u.keys.map((k) => `${k.read && k.write ? "" : k.read ? "%R" : "%W"}~${k.source}`).join(" "));
  r.bulkStr("channels");
  r.bulkStr(u.allChannels ? "&*" : u.channels.map((c) => `&${c}`).join(" "));
  r.bulkStr("selectors");
  r.arr(0);
}

function setuser(ctx: CommandContext): void {
  const a = ctx.args;
  const rules: string[] = [];
  for (let i = 3; i < a.n; i++) rules.push(a.str(i));
  let enabled: boolean;
  try {
    enabled = ctx.node.acl.setUser(a.str(2), rules).enabled;
  } catch (e) {
    if (e instanceof AclError) throw new ShoalError("ERR", e.message);
    throw e;
  }
  ctx.reply.ok();
  if (!enabled) disconnect(ctx, a.str(2));
}

function deluser(ctx: CommandContext): void {
  const a = ctx.args;
  let n = 0;
  for (let i = 2; i < a.n; i++) {
    const name = a.str(i);
    if (name === "default") throw new ShoalError("ERR", "The 'default' user cannot be removed");
  }
  for (let i = 2; i < a.n; i++) {
    const name = a.str(i);
    if (ctx.node.acl.users.delete(name)) {
      n++;
      disconnect(ctx, name);
    }
  }
  ctx.reply.int(n);
}

/** Closes the connections of a deleted or disabled user (as Redis does); the caller's gets its reply first. */
function disconnect(ctx: CommandContext, name: string): void {
  for (const s of [...ctx.node.sessions]) if (s.user === name) s.close();
}

function acl(ctx: CommandContext): void {
  const a = ctx.args;
  const sub = a.lower(1);
  const arity = SUBS[sub];
  if (arity === undefined) throw new ShoalError("ERR", `unknown subcommand '${a.latin1(1).slice(0, 128)}'. Try ACL HELP.`);
  if ((arity > 0 && a.n !== arity) || (arity < 0 && a.n < -arity)) throw new ShoalError("ERR", `wrong number of arguments for 'acl|${sub}' command`);
  const r = ctx.reply;
  const users = ctx.node.acl.users;
  switch (sub) {
    case "whoami":
      return r.bulkStr(ctx.session.user);
    case "users": {
      const names = [...users.keys()].sort();
      r.arr(names.length);
      for (const n of names) r.bulkStr(n);
      return;
    }
    case "list": {
      const names = [...users.keys()].sort();
      r.arr(names.length);
      for (const n of names) r.bulkStr(users.get(n)!.describe());
      return;
    }
    case "cat":
      return cat(ctx);
    case "setuser":
      return setuser(ctx);
    case "deluser":
      return deluser(ctx);
    case "getuser":
      return getuser(ctx);
    case "log":
      if (a.n === 3 && a.is(2, "reset")) return r.ok();
      return r.arr(0);
    case "help":
      return help(ctx);
    default:
      throw new ShoalError("ERR", `ACL ${sub.toUpperCase()} is not supported: users come from --acl-file and --requirepass (SIGHUP reloads the file)`);
  }
}

/** The ACL command. */
export const aclCommands: Command[] = [cmd("acl", -2, "", [0, 0, 0], acl)];
