import { type Command, type CommandContext, cmd } from "../command.ts";
import type { Reply } from "../reply.ts";
import type { ClientSession } from "../session.ts";

const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};
const bytesOf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

const count = (s: ClientSession): number => s.channels.size + s.patterns.size;

function confirm(r: Reply, kind: string, name: Uint8Array | null, n: number): void {
  r.push(3);
  r.bulkStr(kind);
  r.bulk(name);
  r.int(n);
}

function subscribe(ctx: CommandContext, pattern: boolean): void {
  const s = ctx.session;
  const subs = pattern ? s.patterns : s.channels;
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
            r.bulkStr("message");
          }
          r.bulk(ch);
          r.bulk(msg);
        });
      subs.set(key, pattern ? ctx.node.pubsub.psubscribe(name, deliver) : ctx.node.pubsub.subscribe(name, deliver));
    }
    confirm(ctx.reply, pattern ? "psubscribe" : "subscribe", name, count(s));
  }
}

function unsubscribe(ctx: CommandContext, pattern: boolean): void {
  const s = ctx.session;
  const subs = pattern ? s.patterns : s.channels;
  const kind = pattern ? "punsubscribe" : "unsubscribe";
  const names: string[] = [];
  if (ctx.args.n === 1) names.push(...subs.keys());
  else for (let i = 1; i < ctx.args.n; i++) names.push(latin1(ctx.args.bytes(i)));
  if (names.length === 0) return confirm(ctx.reply, kind, null, count(s));
  for (const key of names) {
    const off = subs.get(key);
    if (off) {
      off();
      subs.delete(key);
    }
    confirm(ctx.reply, kind, bytesOf(key), count(s));
  }
}

/** Pub/sub commands (RESP2 subscribed mode and RESP3 pushes). */
export const pubsubCommands: Command[] = [
  cmd("publish", 3, "pubsub fast", [0, 0, 0], (ctx) =>
    ctx.reply.int(ctx.node.pubsub.publish(ctx.args.bytes(1).slice(), ctx.args.bytes(2).slice())),
  ),
  cmd("subscribe", -2, "pubsub", [0, 0, 0], (ctx) => subscribe(ctx, false), { inSubscribe: true }),
  cmd("psubscribe", -2, "pubsub", [0, 0, 0], (ctx) => subscribe(ctx, true), { inSubscribe: true }),
  cmd("unsubscribe", -1, "pubsub", [0, 0, 0], (ctx) => unsubscribe(ctx, false), { inSubscribe: true }),
  cmd("punsubscribe", -1, "pubsub", [0, 0, 0], (ctx) => unsubscribe(ctx, true), { inSubscribe: true }),
];
