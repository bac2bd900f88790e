import { ShoalError } from "../../errors.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";
import type { Reply } from "../reply.ts";
import type { ClientSession } from "../session.ts";

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};
const bytesOf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** What a (un)subscribe acts on: channels, patterns, or sharded channels. */
type Space = "channel" | "pattern" | "shard";

const subsOf = (s: ClientSession, space: Space): Map<string, () => void> =>
  space === "channel" ? s.channels : space === "pattern" ? s.patterns : s.shardChannels;

/** The count a confirmation carries: channels + patterns, or sharded channels alone (Redis 7). */
const count = (s: ClientSession, space: Space): number =>
  space === "shard" ? s.shardChannels.size : s.channels.size + s.patterns.size;

const VERB: Record<Space, [string, string]> = {
  channel: ["subscribe", "unsubscribe"],
  pattern: ["psubscribe", "punsubscribe"],
  shard: ["ssubscribe", "sunsubscribe"],
};

function confirm(r: Reply, kind: string, name: Uint8Array | null, n: number): void {
  r.push(3);
  r.bulkStr(kind);
  r.bulk(name);
  r.int(n);
}

function subscribe(ctx: CommandContext, space: Space): void {
  const s = ctx.session;
  const subs = subsOf(s, space);
  const hub = ctx.node.pubsub;
  for (let i = 1; i < ctx.args.n; i++) {
    const name = ctx.args.bytes(i).slice();
    const key = latin1(name);
    if (!subs.has(key)) {
      const deliver = (ch: Uint8Array, msg: Uint8Array, pat?: Uint8Array): void =>
        s.pushNow((r) => {
          if (pat) {
            r.push(4);
            r.bulkStr("pmessage");
            r.bulk(pat);
          } else {
            r.push(3);
            r.bulkStr(space === "shard" ? "smessage" : "message");
          }
          r.bulk(ch);
          r.bulk(msg);
        });
      subs.set(key, space === "channel" ? hub.subscribe(name, deliver) : space === "pattern" ? hub.psubscribe(name, deliver) : hub.ssubscribe(name, deliver));
    }
    confirm(ctx.reply, VERB[space][0], name, count(s, space));
  }
}

function unsubscribe(ctx: CommandContext, space: Space): void {
  const s = ctx.session;
  const subs = subsOf(s, space);
  const kind = VERB[space][1];
  const names: string[] = [];
  if (ctx.args.n === 1) names.push(...subs.keys());
  else for (let i = 1; i < ctx.args.n; i++) names.push(latin1(ctx.args.bytes(i)));
  if (names.length === 0) return confirm(ctx.reply, kind, null, count(s, space));
  for (const key of names) {
    const off = subs.get(key);
    if (off) {
      off();
      subs.delete(key);
    }
    confirm(ctx.reply, kind, bytesOf(key), count(s, space));
  }
}

const PUBSUB_SUBS: Record<string, number> = { channels: -2, numsub: -2, numpat: 2, shardchannels: -2, shardnumsub: -2, help: 2 };

/** PUBSUB CHANNELS [pattern] | NUMSUB [channel …] | NUMPAT | SHARDCHANNELS [pattern] | SHARDNUMSUB [channel …] (this node's subscribers). */
function pubsub(ctx: CommandContext): void {
  const a = ctx.args;
  const sub = a.lower(1);
  const arity = PUBSUB_SUBS[sub];
  if (arity === undefined) throw new ShoalError("ERR", `unknown subcommand '${a.latin1(1).slice(0, 128)}'. Try PUBSUB HELP.`);
  if ((arity > 0 && a.n !== arity) || (arity < 0 && a.n < -arity)) throw new ShoalError("ERR", `wrong number of arguments for 'pubsub|${sub}' command`);
  const hub = ctx.node.pubsub;
  const r = ctx.reply;
  if (sub === "channels" || sub === "shardchannels") {
    if (a.n > 3) throw new ShoalError("ERR", `wrong number of arguments for 'pubsub|${sub}' command`);
    const names = hub.channelNames(a.n === 3 ? a.bytes(2).slice() : null, sub === "shardchannels");
    r.arr(names.length);
    for (const n of names) r.bulk(n);
    return;
  }
  if (sub === "numsub" || sub === "shardnumsub") {
    r.map(a.n - 2);
    for (let i = 2; i < a.n; i++) {
      r.bulk(a.bytes(i));
      r.int(hub.subscriberCount(a.bytes(i), sub === "shardnumsub"));
    }
    return;
  }
  if (sub === "numpat") return r.int(hub.patternCount());
  const help = [
    "PUBSUB <subcommand> [<arg> ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "NUMPAT",
    "NUMSUB [<channel> ...]",
    "SHARDCHANNELS [<pattern>]",
    "SHARDNUMSUB [<shardchannel> ...]",
  ];
  r.arr(help.length);
  for (const l of help) r.simple(l);
}

/** Pub/sub commands (RESP2 subscribed mode and RESP3 pushes). */
export const pubsubCommands: Command[] = [
  cmd("publish", 3, "pubsub fast", [0, 0, 0], (ctx) =>
    ctx.reply.int(ctx.node.pubsub.publish(ctx.args.bytes(1).slice(), ctx.args.bytes(2).slice())),
  ),
  cmd("spublish", 3, "pubsub fast", [0, 0, 0], (ctx) =>
    ctx.reply.int(ctx.node.pubsub.spublish(ctx.args.bytes(1).slice(), ctx.args.bytes(2).slice())),
  ),
  cmd("subscribe", -2, "pubsub", [0, 0, 0], (ctx) => subscribe(ctx, "channel"), { inSubscribe: true }),
  cmd("psubscribe", -2, "pubsub", [0, 0, 0], (ctx) => subscribe(ctx, "pattern"), { inSubscribe: true }),
  cmd("ssubscribe", -2, "pubsub", [0, 0, 0], (ctx) => subscribe(ctx, "shard"), { inSubscribe: true }),
  cmd("unsubscribe", -1, "pubsub", [0, 0, 0], (ctx) => unsubscribe(ctx, "channel"), { inSubscribe: true }),
  cmd("punsubscribe", -1, "pubsub", [0, 0, 0], (ctx) => unsubscribe(ctx, "pattern"), { inSubscribe: true }),
  cmd("sunsubscribe", -1, "pubsub", [0, 0, 0], (ctx) => unsubscribe(ctx, "shard"), { inSubscribe: true }),
  cmd("pubsub", -2, "pubsub", [0, 0, 0], pubsub),
];
