/**
 * Redis Cluster commands: CLUSTER SLOTS/SHARDS/NODES/INFO/KEYSLOT/MYID/
 * COUNTKEYSINSLOT/GETKEYSINSLOT/HELP, ASKING, READONLY and READWRITE, in
 * Redis 7's reply shapes. They answer from the node's {@link ClusterInfo}; a node
 * that is not clustered answers like a Redis with cluster support disabled.
 * Asking for the topology (or READONLY/READWRITE) marks the session as a
 * Redis Cluster client, which then gets MOVED instead of forwarding (ASKING is accepted; nothing migrates by ASK).
 */
import { keySlot, SLOT_COUNT } from "../../cluster/hash.ts";
import { ShoalError } from "../../errors.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";
import type { ClusterInfo, ClusterNodeView } from "../host.ts";

const CLUSTER_SUBS: Record<string, number> = {
  slots: 2,
  shards: 2,
  nodes: 2,
  info: 2,
  keyslot: 3,
  myid: 2,
  countkeysinslot: 3,
  getkeysinslot: 4,
  help: 2,
};

const HELP = [
  "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "COUNTKEYSINSLOT <slot>",
  "    Return the number of keys in <slot> held by this node.",
  "GETKEYSINSLOT <slot> <count>",
  "    Return key names stored by this node in a slot.",
  "INFO",
  "    Return information about the cluster.",
  "KEYSLOT <key>",
  "    Return the hash slot for <key>.",
  "MYID",
  "    Return the node id.",
  "NODES",
  "    Return cluster configuration seen by node. Output format:",
  "    <id> <ip:port@cport> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
  "SHARDS",
  "    Return information about slot range mappings and the nodes associated with them.",
  "SLOTS",
  "    Return information about slots range mappings. Each range is made of:",
  "    start, end, master and replicas IP addresses, ports and ids",
  "HELP",
  "    Print this help.",
];

const disabled = (): ShoalError => new ShoalError("ERR", "This instance has cluster support disabled");

function clusterOf(ctx: CommandContext): ClusterInfo {
  const c = ctx.node.cluster;
  if (c === null) throw disabled();
  return c;
}

function slotArg(ctx: CommandContext, i: number): number {
  const n = ctx.args.intOrNull(i);
  if (n === null || n < 0 || n >= SLOT_COUNT) throw new ShoalError("ERR", "Invalid slot");
  return n;
}

/** The default map's live keys whose slot is `slot` (at most `limit`). */
function keysInSlot(ctx: CommandContext, slot: number, limit: number): Uint8Array[] {
  const t = ctx.node.db.table;
  const now = ctx.node.clock.now();
  const out: Uint8Array[] = [];
  for (let i = 0; i < t.hiWater && out.length < limit; i++) {
    if (!t.isLive(i)) continue;
    const exp = t.expireAt[i]!;
    if (exp !== 0 && exp <= now) continue;
    const k = t.keyView(i);
    if (keySlot(k) === slot) out.push(k.slice());
  }
  return out;
}

/** A CLUSTER NODES line (Redis 7: `<id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slots…>`). */
function nodeLine(n: ClusterNodeView): string {
  const slots = n.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  const fields = [n.id, `${n.host}:${n.port}@${n.cport}`, n.flags.join(","), "-", "0", "0", `${n.configEpoch}`, n.connected ? "connected" : "disconnected", ...slots];
  return fields.join(" ");
}

function text(ctx: CommandContext, s: string): void {
  if (ctx.reply.proto === 3) ctx.reply.verbatim(s);
  else ctx.reply.bulkStr(s);
}

async function cluster(ctx: CommandContext): Promise<void> {
  const a = ctx.args;
  const sub = a.lower(1);
  const arity = CLUSTER_SUBS[sub];
  if (arity === undefined) throw new ShoalError("ERR", `unknown subcommand '${a.latin1(1).slice(0, 128)}'. Try CLUSTER HELP.`);
  if (a.n !== arity) throw new ShoalError("ERR", `wrong number of arguments for 'cluster|${sub}' command`);
  const r = ctx.reply;
  switch (sub) {
    case "help":
      r.arr(HELP.length);
      for (const l of HELP) r.simple(l);
      return;
    case "keyslot":
      r.int(keySlot(a.bytes(2)));
      return;
    case "myid":
      r.bulkStr(clusterOf(ctx).myId());
      return;
    case "info": {
      const info = clusterOf(ctx).info();
      text(
        ctx,
        Object.entries(info)
          .map(([k, v]) => `${k}:${v}\r\n`)
          .join(""),
      );
      return;
    }
    case "countkeysinslot": {
      clusterOf(ctx);
      r.int(keysInSlot(ctx, slotArg(ctx, 2), Number.MAX_SAFE_INTEGER).length);
      return;
    }
    case "getkeysinslot": {
      clusterOf(ctx);
      const slot = slotArg(ctx, 2);
      const count = a.intOrNull(3);
      if (count === null || count < 0) throw new ShoalError("ERR", "Invalid number of keys");
      const keys = keysInSlot(ctx, slot, count);
      r.arr(keys.length);
      for (const k of keys) r.bulk(k);
      return;
    }
  }
  const c = clusterOf(ctx);
  ctx.session.clusterAware = true;
  const nodes = await c.topology();
  if (sub === "nodes") {
    text(ctx, nodes.map((n) => `${nodeLine(n)}\n`).join(""));
    return;
  }
  const owners = nodes.filter((n) => n.slots.length > 0 && n.port > 0);
  if (sub === "slots") {
    const ranges: [number, number, ClusterNodeView][] = [];
    for (const n of owners) for (const [x, y] of n.slots) ranges.push([x, y, n]);
    ranges.sort((p, q) => p[0] - q[0]);
    r.arr(ranges.length);
    for (const [x, y, n] of ranges) {
      r.arr(3);
      r.int(x);
      r.int(y);
      r.arr(4);
      r.bulkStr(n.host);
      r.int(n.port);
      r.bulkStr(n.id);
      r.map(0);
    }
    return;
  }
  // shards: one shard per owning member (no whole-node replicas in shoal)
  r.arr(owners.length);
  for (const n of owners) {
    r.map(2);
    r.bulkStr("slots");
    r.arr(n.slots.length * 2);
    for (const [x, y] of n.slots) {
      r.int(x);
      r.int(y);
    }
    r.bulkStr("nodes");
    r.arr(1);
    r.map(7);
    r.bulkStr("id");
    r.bulkStr(n.id);
    r.bulkStr("port");
    r.int(n.port);
    r.bulkStr("ip");
    r.bulkStr(n.host);
    r.bulkStr("endpoint");
    r.bulkStr(n.host);
    r.bulkStr("role");
    r.bulkStr("master");
    r.bulkStr("replication-offset");
    r.int(0);
    r.bulkStr("health");
    r.bulkStr(n.flags.includes("fail") ? "failed" : "online");
  }
}

/** Redis Cluster commands. */
export const clusterCommands: Command[] = [
  cmd("cluster", -2, "", [0, 0, 0], cluster),
  cmd("asking", 1, "fast", [0, 0, 0], (ctx) => {
    if (ctx.node.cluster === null) throw disabled();
    ctx.session.asking = true;
    ctx.reply.ok();
  }),
  cmd("readonly", 1, "fast", [0, 0, 0], (ctx) => {
    if (ctx.node.cluster === null) throw disabled();
    ctx.session.clusterAware = true;
    ctx.reply.ok();
  }),
  cmd("readwrite", 1, "fast", [0, 0, 0], (ctx) => {
    if (ctx.node.cluster === null) throw disabled();
    ctx.session.clusterAware = true;
    ctx.reply.ok();
  }),
];
