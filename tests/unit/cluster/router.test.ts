import { afterEach, describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { ClusterNode } from "../../../core/cluster/cluster-node.ts";
import { EntrySync } from "../../../core/cluster/entry-sync.ts";
import { partitionOf, utf8 } from "../../../core/cluster/hash.ts";
import { HybridClock } from "../../../core/cluster/hlc.ts";
import { membershipTimings } from "../../../core/cluster/membership-config.ts";
import { PartitionTable } from "../../../core/cluster/partition-table.ts";
import type { PeerRequest } from "../../../core/cluster/peer-protocol.ts";
import { decodeRequest, decodeResponse, encodePeer } from "../../../core/cluster/peer-protocol.ts";
import { ClusterRouter } from "../../../core/cluster/router.ts";
import { parseEventFlags } from "../../../core/keyspace-events.ts";
import { ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";
import { MemoryNetwork } from "../../../transports/memory.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Sends one command through a fresh client session of `node`; resolves with the raw reply text. */
function call(node: ShoalNode, ...argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${argv.join(" ")}`)), 5000);
    const s = new ClientSession(node, {
      write: (b) => {
        clearTimeout(timer);
        resolve(dec.decode(b));
        s.onClose();
      },
      close() {},
      remote: "test",
    });
    let wire = `*${argv.length}\r\n`;
    for (const a of argv) wire += `$${enc.encode(a).length}\r\n${a}\r\n`;
    s.onData(enc.encode(wire));
  });
}

/** Sends `cmds` pipelined in one chunk through one session of `node`; resolves with the reply bytes once `cmds.length` simple replies arrived. */
function pipelined(node: ShoalNode, cmds: string[][]): Promise<{ text: string; writes: number }> {
  return new Promise((resolve, reject) => {
    let text = "";
    let writes = 0;
    const timer = setTimeout(() => reject(new Error(`only got ${JSON.stringify(text)}`)), 5000);
    const count = () => {
      let n = 0;
      let i = 0;
      while (i < text.length) {
        const end = text.indexOf("\r\n", i);
        if (end < 0) break;
        if (text[i] === "$" && text[i + 1] !== "-") {
          i = end + 2 + Number(text.slice(i + 1, end)) + 2;
        } else i = end + 2;
        n++;
      }
      return n;
    };
    const s = new ClientSession(node, {
      write: (b) => {
        text += dec.decode(b);
        writes++;
        if (count() >= cmds.length) {
          clearTimeout(timer);
          resolve({ text, writes });
          s.onClose();
        }
      },
      close() {},
      remote: "test",
    });
    let wire = "";
    for (const argv of cmds) {
      wire += `*${argv.length}\r\n`;
      for (const a of argv) wire += `$${enc.encode(a).length}\r\n${a}\r\n`;
    }
    s.onData(enc.encode(wire));
  });
}

/** One connection to `node` sending `cmds` one at a time, each after the previous reply; resolves with the replies. */
async function conversation(node: ShoalNode, cmds: string[][]): Promise<string[]> {
  let pending: ((b: string) => void) | null = null;
  const s = new ClientSession(node, {
    write: (b) => pending?.(dec.decode(b)),
    close() {},
    remote: "test",
  });
  const out: string[] = [];
  for (const argv of cmds) {
    const reply = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${argv.join(" ")}`)), 5000);
      pending = (b) => {
        clearTimeout(timer);
        resolve(b);
      };
    });
    let wire = `*${argv.length}\r\n`;
    for (const a of argv) wire += `$${enc.encode(a).length}\r\n${a}\r\n`;
    s.onData(enc.encode(wire));
    out.push(await reply);
  }
  s.onClose();
  return out;
}

interface TestCluster {
  net: MemoryNetwork;
  nodes: ShoalNode[];
  clusters: ClusterNode[];
  names: string[];
}

const running: ClusterNode[] = [];

async function startCluster(
  size: number,
  opts: {
    replicaCount: number;
    writeQuorum: number;
    readQuorum?: number;
    replicationMode?: "sync" | "async";
    memberCountQuorum?: number;
    fastDetection?: boolean;
    leaveTimeoutMs?: number;
  },
): Promise<TestCluster> {
  const net = new MemoryNetwork({ requestTimeoutMs: 1000 });
  const names = Array.from({ length: size }, (_, i) => `n${i}:3322`);
  // by default slow failure detection so a cut-off replica is not declared dead during the test; fast data timeouts
  const timings = opts.fastDetection
    ? membershipTimings("local", { probeIntervalMs: 50, probeTimeoutMs: 20, gossipIntervalMs: 20, pushPullIntervalMs: 200, syncTimeoutMs: 200, suspicionMult: 2 })
    : membershipTimings("lan", { probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200 });
  const nodes: ShoalNode[] = [];
  const clusters: ClusterNode[] = [];
  for (let i = 0; i < size; i++) {
    const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(i + 1), config: { partitionCount: 31 } });
    node.start();
    const c = new ClusterNode({
      node,
      transport: net.transport(),
      clock: systemClock,
      rng: new SeededRng(100 + i),
      self: names[i]!,
      seeds: [names[0]!],
      timings,
      replicaCount: opts.replicaCount,
      writeQuorum: opts.writeQuorum,
      readQuorum: opts.readQuorum,
      replicationMode: opts.replicationMode,
      memberCountQuorum: opts.memberCountQuorum ?? 1,
      partitionCount: 31,
      peerTimeoutMs: 300,
      leaveTimeoutMs: opts.leaveTimeoutMs,
    });
    await c.start();
    nodes.push(node);
    clusters.push(c);
    running.push(c);
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !clusters.every((c) => c.partitions?.members.length === size)) await Bun.sleep(10);
  expect(clusters.map((c) => c.partitions?.members.length)).toEqual(clusters.map(() => size));
  for (const c of clusters) await c.settled();
  return { net, nodes, clusters, names };
}

afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

/** A key whose partition owner (and first replica) are given member indexes. */
function keyOwnedBy(t: TestCluster, owner: number, replica?: number, prefix = "k"): string {
  const table = t.clusters[0]!.partitions!;
  for (let i = 0; i < 100_000; i++) {
    const k = `${prefix}${i}`;
    const p = partitionOf(utf8(k), table.partitionCount);
    if (table.owner(p) !== t.names[owner]) continue;
    if (replica !== undefined && table.replicas(p)[0] !== t.names[replica]) continue;
    return k;
  }
  throw new Error("no such key");
}

describe("peer protocol", () => {
  test("exec and apply round-trip through msgpack with bytes intact", () => {
    const exec = decodeRequest(encodePeer({ t: "exec", args: [utf8("SET"), new Uint8Array([0, 255, 13, 10])], proto: 3, hops: 1 }));
    expect(exec).toEqual({ t: "exec", args: [utf8("SET"), new Uint8Array([0, 255, 13, 10])], proto: 3, hops: 1, owned: false });
    const apply = decodeRequest(encodePeer({ t: "apply", entries: [{ map: "m", key: utf8("k"), value: null, expireAt: 0, version: 12345 }] }));
    const strict = decodeRequest(encodePeer({ t: "apply", entries: [], strict: true, from: "n1:1" }));
    expect(strict.t === "apply" && [strict.strict, strict.from]).toEqual([true, "n1:1"]);
    const pull = decodeRequest(encodePeer({ t: "pull", partitions: [1], after: null, strict: true, from: "n1:1" }));
    expect(pull.t === "pull" && [pull.strict, pull.from]).toEqual([true, "n1:1"]);
    expect(apply.t === "apply" && apply.entries[0]!.value).toBeNull();
    expect(decodeResponse(encodePeer({ t: "applied", taken: 3 }))).toEqual({ t: "applied", taken: 3 });
    expect(() => decodeRequest(encodePeer({ t: "nope" } as never))).toThrow(TypeError);
  });
});

describe("cluster router on the memory transport", () => {
  test("any node answers for any key: writes forward to the owner and replicate (N=2, W=2)", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2 });
    const key = keyOwnedBy(t, 1, 2);
    expect(await call(t.nodes[0]!, "SET", key, "v1")).toBe("+OK\r\n");
    // the owner and its replica hold it; the entry node does not
    expect(dec.decode(t.nodes[1]!.db.get(key)!)).toBe("v1");
    expect(dec.decode(t.nodes[2]!.db.get(key)!)).toBe("v1");
    expect(t.nodes[0]!.db.get(key)).toBeNull();
    for (const n of t.nodes) expect(await call(n, "GET", key)).toBe("$2\r\nv1\r\n");
    expect(t.clusters[0]!.router.stats.forwarded).toBeGreaterThan(0);
    // versions agree between owner and replica
    const vOf = (n: ShoalNode) => n.db.table.version[n.db.lookup(utf8(key), 0, key.length, false)];
    expect(vOf(t.nodes[1]!)).toBe(vOf(t.nodes[2]!));
    // DM.* commands route by their key too, and a delete reaches the replica
    expect(await call(t.nodes[0]!, "DM.PUT", "m", key, "x")).toBe("+OK\r\n");
    expect(dec.decode(t.nodes[2]!.map("m").get(key)!)).toBe("x");
    expect(await call(t.nodes[2]!, "DEL", key)).toBe(":1\r\n");
    expect(t.nodes[2]!.db.get(key)).toBeNull();
    expect(t.nodes[1]!.db.get(key)).toBeNull();
  });

  test("counters are cluster-atomic: increments through every node land on the owner", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2 });
    const key = keyOwnedBy(t, 2, undefined, "ctr");
    const all = [];
    for (let i = 0; i < 30; i++) all.push(call(t.nodes[i % 3]!, "INCR", key));
    await Promise.all(all);
    for (const n of t.nodes) expect(await call(n, "GET", key)).toBe("$2\r\n30\r\n");
  });

  test("a cut-off replica turns the write into WRITEQUORUM, and the reply is not half-written", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2 });
    const key = keyOwnedBy(t, 0, 2);
    const cut = t.names[2]!;
    t.net.setFilter((from, to) => from !== cut && to !== cut);
    const reply = await call(t.nodes[0]!, "SET", key, "v");
    expect(reply).toStartWith("-WRITEQUORUM 1 of 2");
    expect(reply.endsWith("\r\n") && !reply.includes("+OK")).toBe(true);
    expect(t.clusters[0]!.router.stats.quorumFailures).toBe(1);
    // the same write with W=1 semantics is not what we test here; healing makes writes succeed again
    t.net.setFilter(undefined);
    expect(await call(t.nodes[1]!, "SET", key, "v2")).toBe("+OK\r\n");
    expect(dec.decode(t.nodes[2]!.db.get(key)!)).toBe("v2");
  });

  test("quorum reads (R=N=3) repair a stale owner and stale replicas before answering", async () => {
    const t = await startCluster(3, { replicaCount: 3, writeQuorum: 2, readQuorum: 3 });
    const table = t.clusters[0]!.partitions!;
    const key = keyOwnedBy(t, 0, undefined, "rr");
    const p = partitionOf(utf8(key), table.partitionCount);
    const [r1, r2] = table.replicas(p).map((n) => t.names.indexOf(n));
    expect(await call(t.nodes[1]!, "SET", key, "old")).toBe("+OK\r\n");
    // the newest write reached replica r1 only (as after a failover): owner and r2 are stale
    t.nodes[r1!]!.db.put(key, "new");
    const stamped = t.clusters[r1!]!.sync.stamp("default", utf8(key))!;
    const before = t.clusters[0]!.router.stats.readRepairs;
    expect(await call(t.nodes[2]!, "GET", key)).toBe("$3\r\nnew\r\n");
    expect(t.clusters[0]!.router.stats.readRepairs).toBeGreaterThanOrEqual(before + 2);
    const vOf = (n: ShoalNode) => n.db.table.version[n.db.lookup(utf8(key), 0, key.length, false)];
    expect(dec.decode(t.nodes[0]!.db.get(key)!)).toBe("new");
    expect(vOf(t.nodes[0]!)).toBe(stamped.version);
    // the stale replica is repaired in the background
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && vOf(t.nodes[r2!]!) !== stamped.version) await Bun.sleep(10);
    expect(vOf(t.nodes[r2!]!)).toBe(stamped.version);
    // a deletion that only one replica saw wins over older values too
    t.nodes[r2!]!.db.delete(key);
    t.clusters[r2!]!.sync.stamp("default", utf8(key));
    expect(await call(t.nodes[1]!, "GET", key)).toBe("$-1\r\n");
    expect(t.nodes[0]!.db.get(key)).toBeNull();
  });

  test("a quorum read without enough replica answers gets READQUORUM; R=1 per request still answers", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 1, readQuorum: 2 });
    const key = keyOwnedBy(t, 0, 1, "rq");
    expect(await call(t.nodes[0]!, "DM.PUT", "m", key, "v")).toBe("+OK\r\n");
    t.net.setFilter((from, to) => from !== t.names[1] && to !== t.names[1]);
    expect(await call(t.nodes[0]!, "DM.GET", "m", key)).toStartWith("-READQUORUM 1 of 2 copies answered");
    expect(await call(t.nodes[0]!, "DM.GET", "m", key, "R", "1")).toBe("$1\r\nv\r\n");
    expect(await call(t.nodes[0]!, "DM.GET", "m", key, "R", "0")).toStartWith("-ERR DM.GET: R must be between 1 and 16");
    t.net.setFilter(undefined);
    expect(await call(t.nodes[0]!, "DM.GET", "m", key)).toBe("$1\r\nv\r\n");
    expect(t.clusters[0]!.router.stats.readQuorumFailures).toBe(1);
  });

  test("per-request W on DM.PUT: W=1 succeeds with the replica cut off, W=2 does not", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2 });
    const key = keyOwnedBy(t, 0, 1, "pw");
    t.net.setFilter((from, to) => from !== t.names[1] && to !== t.names[1]);
    expect(await call(t.nodes[0]!, "DM.PUT", "m", key, "a", "W", "1")).toBe("+OK\r\n");
    expect(await call(t.nodes[0]!, "DM.PUT", "m", key, "b")).toStartWith("-WRITEQUORUM 1 of 2");
    expect(await call(t.nodes[0]!, "DM.PUT", "m", key, "b", "W", "x")).toStartWith("-ERR");
    t.net.setFilter(undefined);
  });

  test("async replication acknowledges before the replica has the write, then it arrives", async () => {
    const t = await startCluster(2, { replicaCount: 2, writeQuorum: 2, replicationMode: "async" });
    const key = keyOwnedBy(t, 0, 1, "as");
    t.net.setFilter((from, to) => from !== t.names[1] && to !== t.names[1]);
    expect(await call(t.nodes[0]!, "SET", key, "v")).toBe("+OK\r\n"); // W is not waited for
    t.net.setFilter(undefined);
    expect(await call(t.nodes[0]!, "SET", key, "w")).toBe("+OK\r\n");
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && t.nodes[1]!.db.get(key) === null) await Bun.sleep(10);
    expect(dec.decode(t.nodes[1]!.db.get(key)!)).toBe("w");
    expect(t.clusters[0]!.router.stats.asyncWrites).toBe(2);
  });

  test("a replica that missed a write and becomes owner catches up before serving (no lost increments)", async () => {
    const t = await startCluster(3, { replicaCount: 3, writeQuorum: 2, fastDetection: true });
    const table = t.clusters[0]!.partitions!;
    const after = PartitionTable.build([t.names[1]!, t.names[2]!], 0, { partitionCount: 31, replicaCount: 3 });
    // a key owned by node 0 whose owner, once node 0 is gone, is the replica we cut off
    let key = "";
    let heir = -1;
    for (let i = 0; i < 10_000 && !key; i++) {
      const k = `cu${i}`;
      const p = partitionOf(utf8(k), 31);
      if (table.owner(p) === t.names[0]) {
        key = k;
        heir = t.names.indexOf(after.owner(p));
      }
    }
    const other = heir === 1 ? 2 : 1;
    t.net.setFilter((from, to) => from !== t.names[heir] && to !== t.names[heir]);
    for (let i = 0; i < 5; i++) expect(await call(t.nodes[other]!, "INCR", key)).toBe(`:${i + 1}\r\n`);
    t.net.setFilter(undefined);
    expect(t.nodes[heir]!.db.get(key)).toBeNull(); // missed every increment
    await t.clusters[0]!.stop();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !t.clusters.slice(1).every((c) => c.partitions!.members.length === 2)) await Bun.sleep(5);
    expect(await call(t.nodes[heir]!, "INCR", key)).toBe(":6\r\n");
    expect(await call(t.nodes[other]!, "GET", key)).toBe("$1\r\n6\r\n");
  });

  test("a pipeline runs its forwarded and replicated commands concurrently, replies in order, in one write; a failed quorum replaces only its own reply", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2 });
    const remote = keyOwnedBy(t, 1, 2, "pr");
    const local = keyOwnedBy(t, 0, 1, "pl");
    const cmds: string[][] = [];
    for (let i = 0; i < 20; i++) cmds.push(["SET", `${remote}`, `r${i}`], ["INCR", `${local}:n`], ["GET", remote]);
    // local:n hashes anywhere; what matters is order and values
    const { text, writes } = await pipelined(t.nodes[0]!, cmds);
    const expected = Array.from({ length: 20 }, (_, i) => `+OK\r\n:${i + 1}\r\n$${`r${i}`.length}\r\nr${i}\r\n`).join("");
    expect(text).toBe(expected);
    expect(writes).toBe(1);
    // replica of `local` cut off: its SET gets WRITEQUORUM in place, the neighbours' replies are untouched
    t.net.setFilter((from, to) => from !== t.names[1] && to !== t.names[1]);
    const other = keyOwnedBy(t, 0, 2, "po");
    const r = await pipelined(t.nodes[0]!, [["SET", other, "a"], ["SET", local, "b"], ["SET", other, "c"], ["GET", other]]);
    t.net.setFilter(undefined);
    expect(r.text).toStartWith("+OK\r\n-WRITEQUORUM 1 of 2 copies acknowledged the write");
    expect(r.text).toEndWith("\r\n+OK\r\n$1\r\nc\r\n");
  });

  test("lock fencing tokens keep increasing across an owner failover", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2, fastDetection: true });
    const key = keyOwnedBy(t, 2, 1, "lk");
    const first = await call(t.nodes[0]!, "DM.LOCK", "locks", key, "0", "PX", "60000");
    const fencingOf = (reply: string) => Number(/^\$\d+\r\n(\d+):/.exec(reply)![1]);
    const f1 = fencingOf(first);
    await t.clusters[2]!.stop(); // the owner crashes with the lock held
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && t.clusters[0]!.partitions!.members.length !== 2) await Bun.sleep(10);
    const second = await call(t.nodes[0]!, "DM.LOCK", "locks", key, "0", "PX", "60000");
    expect(fencingOf(second)).toBeGreaterThan(f1);
  });

  test("hashes and sets replicate with their type, survive an owner failover, and keep WRONGTYPE on every copy", async () => {
    const t = await startCluster(3, { replicaCount: 3, writeQuorum: 2, fastDetection: true });
    const h = keyOwnedBy(t, 2, 1, "h");
    const s = `{${h}}set`;
    expect(await call(t.nodes[0]!, "HSET", h, "a", "1", "b", "2")).toBe(":2\r\n");
    expect(await call(t.nodes[1]!, "HINCRBY", h, "a", "10")).toBe(":11\r\n");
    // a big set (past the compact limit) travels in the same canonical form
    const members = Array.from({ length: 300 }, (_, i) => `m${i}`);
    expect(await call(t.nodes[0]!, "SADD", s, ...members)).toBe(":300\r\n");
    expect(await call(t.nodes[1]!, "SREM", s, "m0")).toBe(":1\r\n");
    await Bun.sleep(50);
    for (const n of t.nodes) {
      const idx = n.db.lookup(utf8(h), 0, h.length, false);
      expect(idx).toBeGreaterThanOrEqual(0);
      expect(n.db.table.kind(idx)).toBe(1);
      const sidx = n.db.lookup(utf8(s), 0, s.length, false);
      expect(n.db.table.kind(sidx)).toBe(2);
      expect(n.db.table.isBig(sidx)).toBe(true);
      expect(() => n.db.get(h)).toThrow(/wrong kind/);
    }
    for (const n of t.nodes) expect(await call(n, "GET", h)).toStartWith("-WRONGTYPE");
    // keys of another slot in one set command: CROSSSLOT; SINTERCARD routes by its keys, not by numkeys
    expect(await call(t.nodes[0]!, "SUNIONSTORE", `${s}:u`, s, "elsewhere")).toStartWith("-CROSSSLOT");
    expect(await call(t.nodes[0]!, "SINTERCARD", "1", s)).toBe(":299\r\n");
    await t.clusters[2]!.stop(); // the owner goes; a replica takes over with the same hash and set
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && t.clusters[0]!.partitions!.members.length !== 2) await Bun.sleep(10);
    // right after the failover a command may meet a retryable error (the new owner catching up): retry as a client would
    const settled = async (node: ShoalNode, ...argv: string[]): Promise<string> => {
      let r = await call(node, ...argv);
      for (let i = 0; i < 50 && /^-(TRYAGAIN|CLUSTERDOWN)/.test(r); i++) {
        await Bun.sleep(50);
        r = await call(node, ...argv);
      }
      return r;
    };
    expect(await settled(t.nodes[0]!, "HGETALL", h)).toBe("*4\r\n$1\r\na\r\n$2\r\n11\r\n$1\r\nb\r\n$1\r\n2\r\n");
    expect(await settled(t.nodes[1]!, "SCARD", s)).toBe(":299\r\n");
    expect(await call(t.nodes[1]!, "SISMEMBER", s, "m0")).toBe(":0\r\n");
    expect(await call(t.nodes[0]!, "DM.HSET", "users", h, "name", "ada")).toBe(":1\r\n");
    expect(await call(t.nodes[1]!, "DM.HGET", "users", h, "name")).toBe("$3\r\nada\r\n");
  });

  test("MULTI/EXEC runs on the owner of its slot through any node, replicates its writes together, honours WATCH; two slots get CROSSSLOT", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2 });
    const k = keyOwnedBy(t, 2, 1, "tx");
    const a = `{${k}}a`;
    const b = `{${k}}b`;
    // through a node that is neither owner nor replica: the whole transaction runs on node 2
    const r = await conversation(t.nodes[0]!, [["MULTI"], ["SET", a, "1"], ["INCR", b], ["GET", a], ["HSET", `{${k}}h`, "f", "v"], ["EXEC"]]);
    expect(r).toEqual(["+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*4\r\n+OK\r\n:1\r\n$1\r\n1\r\n:1\r\n"]);
    for (const n of [t.nodes[2]!, t.nodes[1]!]) {
      expect(dec.decode(n.db.get(a)!)).toBe("1");
      expect(dec.decode(n.db.get(b)!)).toBe("1");
    }
    expect(t.nodes[0]!.db.get(a)).toBeNull();
    // WATCH reads the version on the owner; a write through another node in between aborts the EXEC (nil), none of it runs
    const watched = await conversation(t.nodes[0]!, [["WATCH", a], ["GET", a]]);
    expect(watched[0]).toBe("+OK\r\n");
    const s1 = conversation(t.nodes[1]!, [["WATCH", a]]);
    expect(await s1).toEqual(["+OK\r\n"]);
    const aborted = await (async () => {
      let pending: ((b: string) => void) | null = null;
      const s = new ClientSession(t.nodes[0]!, { write: (bytes) => pending?.(dec.decode(bytes)), close() {}, remote: "test" });
      const send = (argv: string[]) =>
        new Promise<string>((resolve) => {
          pending = resolve;
          let wire = `*${argv.length}\r\n`;
          for (const x of argv) wire += `$${enc.encode(x).length}\r\n${x}\r\n`;
          s.onData(enc.encode(wire));
        });
      await send(["WATCH", a]);
      expect(await call(t.nodes[1]!, "SET", a, "changed")).toBe("+OK\r\n");
      await send(["MULTI"]);
      await send(["SET", b, "should-not-happen"]);
      const out = await send(["EXEC"]);
      s.onClose();
      return out;
    })();
    expect(aborted).toBe("*-1\r\n");
    expect(dec.decode(t.nodes[2]!.db.get(b)!)).toBe("1");
    // unchanged watch: it runs
    const ok = await conversation(t.nodes[1]!, [["WATCH", a, b], ["MULTI"], ["DEL", b], ["EXEC"]]);
    expect(ok.at(-1)).toBe("*1\r\n:1\r\n");
    expect(t.nodes[1]!.db.get(b)).toBeNull();
    // RENAME/COPY within one slot run on its owner and replicate both keys (the source as a deletion); across slots: CROSSSLOT
    expect(await call(t.nodes[0]!, "RENAME", a, `{${k}}renamed`)).toBe("+OK\r\n");
    for (const n of [t.nodes[2]!, t.nodes[1]!]) {
      expect(n.db.get(a)).toBeNull();
      expect(dec.decode(n.db.get(`{${k}}renamed`)!)).toBe("changed");
    }
    expect(await call(t.nodes[1]!, "COPY", `{${k}}h`, `{${k}}h2`)).toBe(":1\r\n");
    expect(await call(t.nodes[0]!, "HGET", `{${k}}h2`, "f")).toBe("$1\r\nv\r\n");
    expect(await call(t.nodes[0]!, "RENAME", `{${k}}renamed`, "elsewhere")).toStartWith("-CROSSSLOT");
    expect(await call(t.nodes[0]!, "SET", a, "changed")).toBe("+OK\r\n");
    // keys of two slots in one transaction
    let other = "x0";
    for (let i = 0; partitionOf(utf8(other), 31) === partitionOf(utf8(a), 31); i++) other = `x${i}`;
    const cross = await conversation(t.nodes[0]!, [["MULTI"], ["SET", a, "1"], ["SET", other, "2"], ["EXEC"]]);
    expect(cross.at(-1)).toStartWith("-CROSSSLOT");
    // a replica cut off with W=2: the whole transaction is refused and rolled back on the owner
    t.net.setFilter((from, to) => from !== t.names[1] && to !== t.names[1]);
    const failed = await conversation(t.nodes[2]!, [["MULTI"], ["SET", a, "x"], ["SET", b, "y"], ["EXEC"]]);
    t.net.setFilter(undefined);
    expect(failed.at(-1)).toStartWith("-WRITEQUORUM");
    expect(dec.decode(t.nodes[2]!.db.get(a)!)).toBe("changed");
    expect(t.nodes[2]!.db.get(b)).toBeNull();
  });

  test("keyspace notifications are cluster-wide: the owner's event reaches subscribers on every node, once; expiry only from the owner", async () => {
    const t = await startCluster(3, { replicaCount: 3, writeQuorum: 2 });
    for (const n of t.nodes) n.events.flags = parseEventFlags("KEA")!;
    const got: string[] = [];
    const sub = new ClientSession(t.nodes[0]!, { write: (b) => got.push(dec.decode(b)), close() {}, remote: "test" });
    sub.onData(enc.encode("*2\r\n$10\r\nPSUBSCRIBE\r\n$15\r\n__keyevent@0__*\r\n"));
    const key = keyOwnedBy(t, 2, 1, "ev");
    expect(await call(t.nodes[1]!, "HSET", key, "f", "v")).toBe(":1\r\n");
    expect(await call(t.nodes[1]!, "PEXPIRE", key, "150")).toBe(":1\r\n");
    const deadline = Date.now() + 3000;
    const events = () => got.join("").split("pmessage").length - 1;
    while (Date.now() < deadline && events() < 3) await Bun.sleep(20);
    await Bun.sleep(300); // every copy has expired by now: a replica's expiry must not add events
    const text = got.join("");
    for (const ev of ["hset", "expire", "expired"]) expect(text).toContain(`__keyevent@0__:${ev}`);
    expect(text.split("__keyevent@0__:expired").length - 1).toBe(1);
    expect(text.split("__keyevent@0__:hset").length - 1).toBe(1);
    // SPUBLISH reaches sharded subscribers on other nodes too
    const shard: string[] = [];
    const ss = new ClientSession(t.nodes[2]!, { write: (b) => shard.push(dec.decode(b)), close() {}, remote: "test" });
    ss.onData(enc.encode("*2\r\n$10\r\nSSUBSCRIBE\r\n$2\r\nch\r\n"));
    expect(await call(t.nodes[0]!, "SPUBLISH", "ch", "hello")).toBe(":1\r\n");
    expect(shard.join("")).toContain("smessage");
    sub.onClose();
    ss.onClose();
  });

  test("multi-key commands across partitions get CROSSSLOT; same-partition ones run", async () => {
    const t = await startCluster(3, { replicaCount: 1, writeQuorum: 1 });
    const table = t.clusters[0]!.partitions!;
    const a = "a";
    let b = "b0";
    for (let i = 0; partitionOf(utf8(b), 31) === partitionOf(utf8(a), 31); i++) b = `b${i}`;
    expect(await call(t.nodes[0]!, "MSET", a, "1", b, "2")).toBe("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
    expect(await call(t.nodes[1]!, "MGET", a, b)).toStartWith("-CROSSSLOT");
    let c = "c0";
    for (let i = 0; partitionOf(utf8(c), 31) !== partitionOf(utf8(a), 31); i++) c = `c${i}`;
    expect(await call(t.nodes[2]!, "MSET", a, "1", c, "3")).toBe("+OK\r\n");
    expect(await call(t.nodes[0]!, "MGET", a, c)).toBe("*2\r\n$1\r\n1\r\n$1\r\n3\r\n");
    const owner = t.names.indexOf(table.owner(partitionOf(utf8(a), 31)));
    expect(t.nodes[owner]!.db.size()).toBe(2);
    // keyless commands run locally
    expect(await call(t.nodes[0]!, "PING")).toBe("+PONG\r\n");
  });

  test("a node alone under memberCountQuorum refuses writes with CLUSTERQUORUM but serves reads", async () => {
    const t = await startCluster(1, { replicaCount: 1, writeQuorum: 1, memberCountQuorum: 2 });
    expect(await call(t.nodes[0]!, "SET", "k", "v")).toStartWith("-CLUSTERQUORUM 1 live members, 2 needed");
    expect(await call(t.nodes[0]!, "GET", "k")).toBe("$-1\r\n");
  });

  test("deletes are tombstoned: an older copy pushed later does not resurrect the key", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2 });
    const key = keyOwnedBy(t, 1, 0);
    await call(t.nodes[2]!, "SET", key, "old");
    const owner = t.nodes[1]!;
    const idx = owner.db.lookup(utf8(key), 0, key.length, false);
    const stale = t.clusters[1]!.sync.read("default", idx);
    expect(await call(t.nodes[2]!, "DEL", key)).toBe(":1\r\n");
    for (const c of [t.clusters[0]!, t.clusters[1]!]) expect(c.sync.apply(stale)).toBe(false);
    expect(owner.db.get(key)).toBeNull();
    expect(t.nodes[0]!.db.get(key)).toBeNull();
    // a newer write wins over the tombstone
    expect(await call(t.nodes[2]!, "SET", key, "new")).toBe("+OK\r\n");
    expect(dec.decode(t.nodes[0]!.db.get(key)!)).toBe("new");
  });

  test("a graceful leave hands every key off first (RF=1: nothing else holds them)", async () => {
    const t = await startCluster(3, { replicaCount: 1, writeQuorum: 1 });
    for (let i = 0; i < 150; i++) expect(await call(t.nodes[i % 3]!, "SET", `g${i}`, `v${i}`)).toBe("+OK\r\n");
    const leaving = t.nodes[2]!.db.size();
    expect(leaving).toBeGreaterThan(0);
    await t.clusters[2]!.leave();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !t.clusters.slice(0, 2).every((c) => c.partitions?.members.length === 2)) await Bun.sleep(10);
    for (const c of t.clusters.slice(0, 2)) await c.settled();
    expect(t.nodes[0]!.db.size() + t.nodes[1]!.db.size()).toBe(150);
    for (let i = 0; i < 150; i++) expect(await call(t.nodes[i % 2]!, "GET", `g${i}`)).toBe(`$${`v${i}`.length}\r\nv${i}\r\n`);
  });

  test("a follower's graceful leave asks the leader to drop it: no wait for the leave timeout or the failure detector", async () => {
    // a leave timeout far beyond this test's own: waiting for the failure detector (which still sees the node alive
    // while it hands off) would run into it
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2, leaveTimeoutMs: 120_000 });
    const follower = t.clusters.findIndex((c) => c.consensus?.snapshot().role === "follower");
    expect(follower).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 60; i++) expect(await call(t.nodes[(follower + 1) % 3]!, "SET", `f${i}`, `v${i}`)).toBe("+OK\r\n");
    await t.clusters[follower]!.leave();
    const rest = t.clusters.filter((_, i) => i !== follower);
    for (const c of rest) expect(c.partitions?.members).not.toContain(t.names[follower]);
    for (const c of rest) await c.settled();
    const other = t.nodes.findIndex((_, i) => i !== follower);
    for (let i = 0; i < 60; i++) expect(await call(t.nodes[other]!, "GET", `f${i}`)).toBe(`$${`v${i}`.length}\r\nv${i}\r\n`);
  });

  test("a joining node receives the partitions it now holds (rebalance push)", async () => {
    const t = await startCluster(2, { replicaCount: 2, writeQuorum: 2 });
    for (let i = 0; i < 200; i++) expect(await call(t.nodes[i % 2]!, "SET", `r${i}`, `v${i}`)).toBe("+OK\r\n");
    const net = t.net;
    const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(9), config: { partitionCount: 31 } });
    node.start();
    const c = new ClusterNode({
      node,
      transport: net.transport(),
      clock: systemClock,
      rng: new SeededRng(99),
      self: "n9:3322",
      seeds: [t.names[0]!],
      timings: membershipTimings("lan", { probeIntervalMs: 2000, gossipIntervalMs: 20, pushPullIntervalMs: 200 }),
      replicaCount: 2,
      writeQuorum: 2,
      memberCountQuorum: 1,
      partitionCount: 31,
      peerTimeoutMs: 300,
    });
    running.push(c);
    await c.start();
    // the initial pull ran before start() resolved: every key the joiner holds is already local
    expect(c.pulled).toBeGreaterThan(0);
    expect(node.ready).toBe(true);
    const first = c.partitions!;
    expect(first.members).toContain("n9:3322");
    for (let i = 0; i < 200; i++) {
      const p = partitionOf(utf8(`r${i}`), 31);
      if (first.owner(p) === "n9:3322" || first.replicas(p).includes("n9:3322")) expect(node.db.get(`r${i}`)).not.toBeNull();
    }
    const all = [...t.clusters, c];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !all.every((x) => x.partitions?.members.length === 3)) await Bun.sleep(10);
    for (let i = 0; i < 20; i++) for (const x of all) await x.settled();
    const table = c.partitions!;
    let held = 0;
    for (let i = 0; i < 200; i++) {
      const p = partitionOf(utf8(`r${i}`), 31);
      if (table.owner(p) === "n9:3322" || table.replicas(p).includes("n9:3322")) {
        held++;
        expect(node.db.get(`r${i}`)).not.toBeNull();
      }
      expect(await call(node, "GET", `r${i}`)).toBe(`$${`v${i}`.length}\r\nv${i}\r\n`);
    }
    expect(held).toBeGreaterThan(0);
    expect(node.ready).toBe(true);
  });
});

describe("split with member-count quorum", () => {
  test("the isolated minority refuses writes (CLUSTERQUORUM), the majority goes on, nothing acknowledged is lost after healing", async () => {
    const t = await startCluster(3, { replicaCount: 2, writeQuorum: 2, memberCountQuorum: 2, fastDetection: true });
    const live = (i: number) => t.clusters[i]!.membership.liveMembers().length;
    const waitFor = async (ok: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && !ok()) await Bun.sleep(10);
      return ok();
    };
    const acked: string[] = [];
    for (let i = 0; i < 30; i++) if ((await call(t.nodes[i % 3]!, "SET", `s${i}`, `v${i}`)) === "+OK\r\n") acked.push(`s${i}`);
    expect(acked.length).toBe(30);
    const cut = t.names[2]!;
    t.net.setFilter((from, to) => from !== cut && to !== cut);
    expect(await waitFor(() => live(2) === 1 && live(0) === 2 && live(1) === 2, 8000)).toBe(true);
    expect(await call(t.nodes[2]!, "SET", "minority", "x")).toStartWith("-CLUSTERQUORUM 1 live members, 2 needed");
    for (const c of t.clusters.slice(0, 2)) await c.settled();
    for (let i = 30; i < 60; i++) {
      const r = await call(t.nodes[i % 2]!, "SET", `s${i}`, `v${i}`);
      expect(r).toBe("+OK\r\n");
      acked.push(`s${i}`);
    }
    t.net.setFilter(undefined);
    // no explicit join: membership merges the views again by itself (gossip to the dead, refutation)
    expect(await waitFor(() => [0, 1, 2].every((i) => live(i) === 3), 8000)).toBe(true);
    for (let r = 0; r < 5; r++) for (const c of t.clusters) await c.settled();
    for (const key of acked) {
      for (const n of t.nodes) expect(await call(n, "GET", key)).toBe(`$${key.length}\r\n${key.replace("s", "v")}\r\n`);
    }
  });
});

describe("router with tables in flux", () => {
  test("a taken-over partition fetches its keys from the previous holders first; a peer's exec for a partition owned elsewhere here is passed on, then refused with TRYAGAIN", async () => {
    const node = new ShoalNode({ clock: systemClock, rng: new SeededRng(1), config: { partitionCount: 31 } });
    const table = PartitionTable.build(["me:1", "old:1"], 1, { partitionCount: 31 });
    const sent: Array<{ peer: string; msg: PeerRequest }> = [];
    let catching = true;
    const hlc = new HybridClock(systemClock);
    const router = new ClusterRouter(node, {
      self: "me:1",
      table: () => table,
      liveCount: () => 2,
      memberCountQuorum: 1,
      writeQuorum: 1,
      request: async (peer, msg) => {
        sent.push({ peer, msg });
        if (msg.t === "fetch") return { t: "entries", entries: msg.keys.map((k) => ({ ...k, value: enc.encode("old"), expireAt: 0, version: hlc.now() })), next: null };
        return { t: "reply", resp: enc.encode("$6\r\nfar\r\n") };
      },
      sync: new EntrySync(node, hlc, systemClock),
      catchingUp: () => (catching ? ["old:1"] : undefined),
    });
    node.attachCluster({ router });
    let key = "mine";
    for (let i = 0; table.owner(partitionOf(utf8(key), 31)) !== "me:1"; i++) key = `mine${i}`;
    node.db.put(key, "stale");
    node.db.table.version[node.db.lookup(utf8(key), 0, key.length, false)] = 1; // older than the fetched copy
    expect(await call(node, "GET", key)).toBe("$3\r\nold\r\n");
    expect(sent.map((x) => [x.peer, x.msg.t])).toEqual([["old:1", "fetch"]]);
    expect(router.stats.catchUps).toBe(1);
    catching = false;
    expect(await call(node, "GET", key)).toBe("$3\r\nold\r\n");
    expect(sent.length).toBe(1);

    let far = "far";
    for (let i = 0; table.owner(partitionOf(utf8(far), 31)) !== "old:1"; i++) far = `far${i}`;
    const internal = new ClientSession(node, { write() {}, close() {}, remote: "peer" });
    router.markInternal(internal, 1);
    await router.route(internal, getCommand(node), argsOf("GET", far));
    expect(sent.at(-1)!.peer).toBe("old:1");
    const last = sent.at(-1)!.msg;
    expect(last.t === "exec" ? last.hops : -1).toBe(2);
    const tired = new ClientSession(node, { write() {}, close() {}, remote: "peer" });
    router.markInternal(tired, 3);
    await router.route(tired, getCommand(node), argsOf("GET", far));
    expect(new TextDecoder().decode(tired.reply.buf.subarray(0, tired.reply.len))).toStartWith("-TRYAGAIN ");
  });
});

function argsOf(...argv: string[]) {
  const s = new ClientSession(new ShoalNode({ clock: systemClock, rng: new SeededRng(2) }), { write() {}, close() {}, remote: "x" });
  const buf = enc.encode(argv.join(" "));
  const a = s.args;
  a.buf = buf;
  a.reserve(argv.length);
  let off = 0;
  argv.forEach((v, i) => {
    a.off[i] = off;
    a.len[i] = v.length;
    off += v.length + 1;
  });
  a.n = argv.length;
  return a;
}

function getCommand(node: ShoalNode) {
  const c = node.commands.lookup(argsOf("GET", "x"));
  if (!c) throw new Error("no GET");
  return c;
}
