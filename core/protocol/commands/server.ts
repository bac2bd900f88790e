import { ShoalError, syntaxError } from "../../errors.ts";
import { REDIS_COMPAT_VERSION } from "../../version.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";
import { authenticate } from "./acl.ts";
import { CLIENT_SUBS, client } from "./client.ts";
import { configGet, configSet } from "./config.ts";
import { infoText } from "./info.ts";

/**
 * Redis 7's container-command checks: an unknown subcommand and a wrong
 * arity get the exact errors Redis gives (arity counts the container name).
 */
function checkSubcommand(ctx: CommandContext, container: string, arities: Record<string, number>): string {
  const a = ctx.args;
  const sub = a.lower(1);
  const arity = arities[sub];
  if (arity === undefined)
    throw new ShoalError("ERR", `unknown subcommand '${a.latin1(1).slice(0, 128)}'. Try ${container.toUpperCase()} HELP.`);
  if ((arity > 0 && a.n !== arity) || (arity < 0 && a.n < -arity))
    throw new ShoalError("ERR", `wrong number of arguments for '${container}|${sub}' command`);
  return sub;
}

const CONFIG_SUBS = { get: -3, set: -4, resetstat: 2, rewrite: 2, help: 2 };
const COMMAND_SUBS = { count: 2, info: -2, docs: -2, list: -2, getkeys: -3, help: 2 };

function hello(ctx: CommandContext): void {
  const a = ctx.args;
  let proto = ctx.reply.proto;
  let i = 1;
  if (a.n > 1) {
    const v = a.intOrNull(1);
    if (v === null) throw new ShoalError("ERR", "Protocol version is not an integer or out of range");
    if (v !== 2 && v !== 3) throw new ShoalError("NOPROTO", "unsupported protocol version");
    proto = v;
    i = 2;
  }
  for (; i < a.n; i++) {
    if (a.is(i, "auth") && i + 2 < a.n) {
      if (!checkPassword(ctx, a.str(i + 1), a.str(i + 2))) return;
      i += 2;
    } else if (a.is(i, "setname") && i + 1 < a.n) ctx.session.name = a.str(++i);
    else throw new ShoalError("ERR", `Syntax error in HELLO option '${a.latin1(i)}'`);
  }
  if (!ctx.session.authenticated) {
    ctx.reply.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    return;
  }
  ctx.reply.proto = proto;
  ctx.reply.map(7);
  ctx.reply.bulkStr("server");
  ctx.reply.bulkStr("redis");
  ctx.reply.bulkStr("version");
  ctx.reply.bulkStr(REDIS_COMPAT_VERSION);
  ctx.reply.bulkStr("proto");
  ctx.reply.int(proto);
  ctx.reply.bulkStr("id");
  ctx.reply.int(ctx.session.id);
  ctx.reply.bulkStr("mode");
  ctx.reply.bulkStr(ctx.node.cluster === null ? "standalone" : "cluster");
  ctx.reply.bulkStr("role");
  ctx.reply.bulkStr("master");
  ctx.reply.bulkStr("modules");
  ctx.reply.arr(0);
}

/** Checks user/password against the ACL users (commands/acl.ts); writes the error reply and returns false on failure. */
const checkPassword = authenticate;

function commandInfo(ctx: CommandContext, c: Command): void {
  const r = ctx.reply;
  r.arr(10);
  r.bulkStr(c.name);
  r.int(c.arity);
  r.set(c.flags.length);
  for (const f of c.flags) r.simple(f);
  r.int(c.firstKey);
  r.int(c.lastKey);
  r.int(c.step);
  r.set(0);
  r.set(0);
  r.arr(0);
  r.arr(0);
}

function command(ctx: CommandContext): void {
  const a = ctx.args;
  const table = ctx.node.commands.byName;
  if (a.n === 1) {
    ctx.reply.arr(table.size);
    for (const c of table.values()) commandInfo(ctx, c);
    return;
  }
  const sub = checkSubcommand(ctx, "command", COMMAND_SUBS);
  if (sub === "count") return ctx.reply.int(table.size);
  if (sub === "info") {
    ctx.reply.arr(a.n - 2);
    for (let i = 2; i < a.n; i++) {
      const c = table.get(a.lower(i));
      if (c) commandInfo(ctx, c);
      else ctx.reply.nil();
    }
    return;
  }
  if (sub === "docs") return ctx.reply.map(0);
  if (sub === "list") {
    ctx.reply.arr(table.size);
    for (const c of table.values()) ctx.reply.bulkStr(c.name);
    return;
  }
  if (sub === "getkeys") {
    const c = a.n > 2 ? table.get(a.lower(2)) : undefined;
    if (!c || c.firstKey === 0) throw new ShoalError("ERR", "The command has no key arguments");
    const last = c.lastKey < 0 ? a.n - 2 + c.lastKey : c.lastKey;
    const keys: Uint8Array[] = [];
    for (let i = c.firstKey; i <= last && i + 2 < a.n; i += c.step) keys.push(a.bytes(i + 2).slice());
    ctx.reply.arr(keys.length);
    for (const k of keys) ctx.reply.bulk(k);
    return;
  }
  throw new ShoalError("ERR", `unknown subcommand '${a.latin1(1)}'. Try COMMAND HELP.`);
}

function config(ctx: CommandContext): void {
  const sub = checkSubcommand(ctx, "config", CONFIG_SUBS);
  if (sub === "get") return configGet(ctx);
  if (sub === "set") return configSet(ctx);
  if (sub === "resetstat") return ctx.reply.ok();
  if (sub === "rewrite") throw new ShoalError("ERR", "CONFIG REWRITE is not supported: settings live in flags, SHOAL_* variables and shoal.yaml");
  const lines = ["CONFIG <subcommand> [<arg> ...]. Subcommands are:", "GET <pattern>", "SET <directive> <value>", "RESETSTAT"];
  ctx.reply.arr(lines.length);
  for (const l of lines) ctx.reply.simple(l);
}


/** Connection and server commands. */
export const serverCommands: Command[] = [
  cmd(
    "ping",
    -1,
    "fast",
    [0, 0, 0],
    (ctx) => {
      if (ctx.args.n > 2) throw new ShoalError("ERR", "wrong number of arguments for 'ping' command");
      if (ctx.session.subscribed && ctx.reply.proto === 2) {
        ctx.reply.arr(2);
        ctx.reply.bulkStr("pong");
        ctx.reply.bulk(ctx.args.n === 2 ? ctx.args.bytes(1) : new Uint8Array(0));
        return;
      }
      if (ctx.args.n === 2) ctx.reply.bulk(ctx.args.bytes(1));
      else ctx.reply.simple("PONG");
    },
    { inSubscribe: true },
  ),
  cmd("echo", 2, "fast", [0, 0, 0], (ctx) => ctx.reply.bulk(ctx.args.bytes(1))),
  cmd(
    "quit",
    -1,
    "fast",
    [0, 0, 0],
    (ctx) => {
      ctx.reply.ok();
      ctx.session.close();
    },
    { noAuth: true, inSubscribe: true },
  ),
  cmd(
    "reset",
    1,
    "fast",
    [0, 0, 0],
    (ctx) => {
      const s = ctx.session;
      s.unsubscribeAll();
      s.tx.end();
      s.replyOff = false;
      s.skipNext = false;
      s.name = "";
      ctx.reply.proto = 2;
      s.authenticated = !ctx.node.requiresAuth();
      s.aclUser = ctx.node.acl.defaultUser;
      s.user = "default";
      ctx.reply.simple("RESET");
    },
    { noAuth: true, inSubscribe: true },
  ),
  cmd(
    "auth",
    -2,
    "fast",
    [0, 0, 0],
    (ctx) => {
      const a = ctx.args;
      if (a.n > 3) throw syntaxError();
      if (a.n === 2 && ctx.node.acl.defaultUser.nopass)
        throw new ShoalError("ERR", "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
      if (checkPassword(ctx, a.n === 3 ? a.str(1) : "default", a.str(a.n - 1))) ctx.reply.ok();
    },
    { noAuth: true },
  ),
  cmd("hello", -1, "fast", [0, 0, 0], hello, { noAuth: true }),
  cmd("select", 2, "fast", [0, 0, 0], (ctx) => {
    const db = ctx.args.intOrNull(1);
    if (db === null) throw new ShoalError("ERR", "value is not an integer or out of range");
    if (db !== 0) throw new ShoalError("ERR", "DB index is out of range");
    ctx.reply.ok();
  }),
  cmd("info", -1, "", [0, 0, 0], (ctx) => {
    const wanted: string[] = [];
    for (let i = 1; i < ctx.args.n; i++) wanted.push(ctx.args.lower(i));
    ctx.reply.verbatim(infoText(ctx.node, wanted));
  }),
  cmd("command", -1, "", [0, 0, 0], command),
  cmd("config", -2, "", [0, 0, 0], config),
  cmd("client", -2, "", [0, 0, 0], (ctx) => client(ctx, checkSubcommand(ctx, "client", CLIENT_SUBS))),
  cmd("monitor", 1, "admin noscript loading stale", [0, 0, 0], (ctx) => {
    ctx.session.startMonitor();
    ctx.reply.ok();
  }),
  cmd("time", 1, "fast", [0, 0, 0], (ctx) => {
    const now = ctx.node.clock.now();
    ctx.reply.arr(2);
    ctx.reply.bulkStr(String(Math.floor(now / 1000)));
    ctx.reply.bulkStr(String(Math.floor((now % 1000) * 1000)));
  }),
];
