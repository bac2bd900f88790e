/**
 * CLIENT: connection introspection and control with Redis 7 / Valkey
 * fields and errors (LIST/INFO lines, KILL filters, REPLY, SETINFO…).
 */
import { ShoalError, syntaxError } from "../../errors.ts";
import { joinHostPort } from "../../net-address.ts";
import type { CommandContext } from "../command.ts";
import type { ClientSession } from "../session.ts";

/** Subcommand → Redis arity (the container name counts). */
export const CLIENT_SUBS: Record<string, number> = {
  setname: 3,
  getname: 2,
  id: 2,
  info: 2,
  list: -2,
  kill: -3,
  setinfo: 4,
  "no-evict": 3,
  "no-touch": 3,
  reply: 3,
  pause: -3,
  unpause: 2,
  caching: 3,
  tracking: -3,
  getredir: 2,
  trackinginfo: 2,
  unblock: -3,
  help: 2,
};

/** The CLIENT LIST line of one connection (without the trailing newline). */
export function clientLine(ctx: CommandContext, c: ClientSession): string {
  const now = ctx.node.clock.now();
  const { bind, port } = ctx.node.config;
  const flags = `${c.tx.inMulti ? "x" : ""}${c.subscribed ? "P" : ""}` || "N";
  const q = c.inputStats();
  return [
    `id=${c.id}`,
    `addr=${c.io.remote}`,
    `laddr=${joinHostPort(bind, port)}`,
    "fd=-1",
    `name=${c.name}`,
    `age=${Math.floor((now - c.createdAt) / 1000)}`,
    `idle=${Math.floor((now - c.lastActive) / 1000)}`,
    `flags=${flags}`,
    "db=0",
    `sub=${c.channels.size}`,
    `psub=${c.patterns.size}`,
    `ssub=${c.shardChannels.size}`,
    `multi=${c.tx.inMulti ? c.tx.queue!.length : -1}`,
    `watch=${c.tx.watchCount}`,
    `qbuf=${q.used}`,
    `qbuf-free=${q.free}`,
    "argv-mem=0",
    "multi-mem=0",
    `rbs=${q.capacity}`,
    `rbp=${q.peak}`,
    `obl=${c.reply.len}`,
    "oll=0",
    "omem=0",
    `tot-mem=${q.capacity + c.reply.buf.length}`,
    "events=r",
    `cmd=${c.lastCommand}`,
    `user=${c.user}`,
    "redir=-1",
    `resp=${c.reply.proto}`,
    `lib-name=${c.libName}`,
    `lib-ver=${c.libVer}`,
    `tot-net-in=${c.netIn}`,
    `tot-net-out=${c.netOut}`,
    `tot-cmds=${c.commandsRun}`,
  ].join(" ");
}

/** Redis' client types for CLIENT LIST/KILL TYPE (shoal has no replicas or masters connected as clients). */
const TYPES = new Set(["normal", "pubsub", "master", "replica", "slave"]);

const typeOf = (c: ClientSession): string => (c.subscribed ? "pubsub" : "normal");

function list(ctx: CommandContext): void {
  const a = ctx.args;
  let sessions = [...ctx.node.sessions];
  if (a.n > 2) {
    if (a.is(2, "type") && a.n === 4) {
      const t = a.lower(3);
      if (!TYPES.has(t)) throw new ShoalError("ERR", `Unknown client type '${a.latin1(3)}'`);
      sessions = sessions.filter((c) => typeOf(c) === t);
    } else if (a.is(2, "id") && a.n >= 4) {
      const ids = new Set<number>();
      for (let i = 3; i < a.n; i++) {
        const id = a.intOrNull(i);
        if (id === null || id <= 0) throw new ShoalError("ERR", "Invalid client ID");
        ids.add(id);
      }
      sessions = sessions.filter((c) => ids.has(c.id));
    } else throw syntaxError();
  }
  ctx.reply.verbatim(sessions.map((c) => `${clientLine(ctx, c)}\n`).join(""));
}

/** Filters of CLIENT KILL's new form; every given one must match. */
interface KillFilter {
  id?: number;
  type?: string;
  user?: string;
  addr?: string;
  laddr?: string;
  maxAgeS?: number;
  skipMe: boolean;
}

function parseKill(ctx: CommandContext): KillFilter {
  const a = ctx.args;
  if ((a.n - 2) % 2 !== 0) throw syntaxError();
  const f: KillFilter = { skipMe: true };
  for (let i = 2; i < a.n; i += 2) {
    const o = a.lower(i);
    if (o === "id") {
      const id = a.intOrNull(i + 1);
      if (id === null || id <= 0) throw new ShoalError("ERR", "client-id should be greater than 0");
      f.id = id;
    } else if (o === "type") {
      const t = a.lower(i + 1);
      if (!TYPES.has(t)) throw new ShoalError("ERR", `Unknown client type '${a.latin1(i + 1)}'`);
      f.type = t === "slave" ? "replica" : t;
    } else if (o === "user") {
      const u = a.str(i + 1);
      if (!ctx.node.acl.users.has(u)) throw new ShoalError("ERR", `No such user '${u}'`);
      f.user = u;
    } else if (o === "addr") f.addr = a.str(i + 1);
    else if (o === "laddr") f.laddr = a.str(i + 1);
    else if (o === "skipme") {
      if (a.is(i + 1, "yes")) f.skipMe = true;
      else if (a.is(i + 1, "no")) f.skipMe = false;
      else throw syntaxError();
    } else if (o === "maxage") {
      const n = a.intOrNull(i + 1);
      if (n === null) throw new ShoalError("ERR", "value is not an integer or out of range");
      if (n <= 0) throw new ShoalError("ERR", "maxage should be greater than 0");
      f.maxAgeS = n;
    } else throw syntaxError();
  }
  return f;
}

function kill(ctx: CommandContext): void {
  const a = ctx.args;
  const me = ctx.session;
  const now = ctx.node.clock.now();
  const laddr = joinHostPort(ctx.node.config.bind, ctx.node.config.port);
  if (a.n === 3) {
    // old form: CLIENT KILL ip:port
    const addr = a.str(2);
    const victim = [...ctx.node.sessions].find((c) => c.io.remote === addr);
    if (!victim) throw new ShoalError("ERR", "No such client");
    ctx.reply.ok();
    closeAfterReply(ctx, victim);
    return;
  }
  const f = parseKill(ctx);
  const victims = [...ctx.node.sessions].filter(
    (c) =>
      !(f.skipMe && c === me) &&
      (f.id === undefined || c.id === f.id) &&
      (f.type === undefined || typeOf(c) === f.type) &&
      (f.user === undefined || c.user === f.user) &&
      (f.addr === undefined || c.io.remote === f.addr) &&
      (f.laddr === undefined || laddr === f.laddr) &&
      (f.maxAgeS === undefined || (now - c.createdAt) / 1000 >= f.maxAgeS),
  );
  ctx.reply.int(victims.length);
  for (const c of victims) closeAfterReply(ctx, c);
}

/** Closes a connection; the caller's own one after its reply went out. */
function closeAfterReply(ctx: CommandContext, c: ClientSession): void {
  if (c === ctx.session) ctx.session.closeAfterReply();
  else c.close();
}

const onOff = (ctx: CommandContext, i: number): boolean => {
  if (ctx.args.is(i, "on")) return true;
  if (ctx.args.is(i, "off")) return false;
  throw syntaxError();
};

/** Names and library fields: printable ASCII without spaces (Redis' rule). */
function checkName(value: string, what: string): void {
  if (/[^\x21-\x7e]/.test(value)) throw new ShoalError("ERR", `${what} cannot contain spaces, newlines or special characters.`);
}

const HELP = [
  "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
  "ID",
  "INFO",
  "LIST [TYPE normal|pubsub] [ID <id> [<id> ...]]",
  "KILL <ip:port> | KILL [ID <id>] [TYPE <type>] [USER <user>] [ADDR <ip:port>] [LADDR <ip:port>] [SKIPME yes|no] [MAXAGE <s>]",
  "SETNAME <name>",
  "GETNAME",
  "SETINFO LIB-NAME|LIB-VER <value>",
  "REPLY ON|OFF|SKIP",
  "NO-EVICT ON|OFF",
];

/** CLIENT <subcommand> … (sub already checked against CLIENT_SUBS). */
export function client(ctx: CommandContext, sub: string): void {
  const a = ctx.args;
  const s = ctx.session;
  switch (sub) {
    case "setname": {
      const name = a.latin1(2);
      checkName(name, "Client names");
      s.name = name;
      return ctx.reply.ok();
    }
    case "getname":
      return ctx.reply.bulk(s.name ? new TextEncoder().encode(s.name) : null);
    case "id":
      return ctx.reply.int(s.id);
    case "setinfo": {
      const value = a.latin1(3);
      const attr = a.lower(2);
      if (attr !== "lib-name" && attr !== "lib-ver") throw new ShoalError("ERR", `Unrecognized option '${a.latin1(2)}'`);
      checkName(value, attr);
      if (attr === "lib-name") s.libName = value;
      else s.libVer = value;
      return ctx.reply.ok();
    }
    case "info":
      return ctx.reply.verbatim(`${clientLine(ctx, s)}\n`);
    case "list":
      return list(ctx);
    case "kill":
      return kill(ctx);
    case "reply":
      if (a.is(2, "on")) {
        s.replyOff = false;
        s.skipNext = false;
        return ctx.reply.ok();
      }
      if (a.is(2, "off")) s.replyOff = true;
      else if (a.is(2, "skip")) s.skipNext = !s.replyOff;
      else throw syntaxError();
      return;
    case "no-evict":
      // shoal never evicts clients to free memory: every connection already has what ON asks for
      onOff(ctx, 2);
      return ctx.reply.ok();
    case "no-touch":
      onOff(ctx, 2);
      throw new ShoalError("ERR", "CLIENT NO-TOUCH is not supported by shoal: every read updates the key's last access (LRU, max-idle)");
    case "pause": {
      const t = a.intOrNull(2);
      if (t === null) throw new ShoalError("ERR", "timeout is not an integer or out of range");
      if (t < 0) throw new ShoalError("ERR", "timeout is negative");
      throw new ShoalError("ERR", "CLIENT PAUSE is not supported by shoal (writes are paused cluster-wide only by shutdown/leave)");
    }
    case "unpause":
      return ctx.reply.ok(); // nothing is ever paused
    case "caching":
    case "tracking":
    case "getredir":
    case "trackinginfo":
      throw new ShoalError("ERR", `CLIENT ${sub.toUpperCase()}: client-side caching (tracking) is not supported by shoal`);
    case "unblock":
      // nothing blocks in shoal but DM.LOCK waiting, which holds no Redis-blocked client
      return ctx.reply.int(0);
    default: {
      ctx.reply.arr(HELP.length);
      for (const l of HELP) ctx.reply.simple(l);
    }
  }
}
