/**
 * Cluster client work that multi-host tests run inside a client host through
 * a {@link HostAgent} (`agent.call(OPS, "writeKeys", […])`): pipelined writes
 * that record which keys were acknowledged, reads through a plain client and
 * through ioredis Cluster, and waiting for the nodes to agree on a cluster.
 * Every loop is bounded in count and time; results are JSON-able.
 */
import { resolve } from "node:path";
import { Cluster } from "ioredis";
import { DnsClient } from "../../../plugins/discovery/dns-client.ts";
import { RecordType } from "../../../plugins/discovery/dns-wire.ts";
import { toJson } from "../../helpers/netns-client-ops.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { encodeCommand, parseReply } from "../../helpers/resp.ts";

/** Path of this module, for {@link HostAgent.call}. */
export const OPS = resolve(import.meta.dir, "ops.ts");

/** The value written for key number `i` of `prefix`. */
export const valueFor = (prefix: string, i: number): string => `${prefix}-value-${i}`;
/** Key number `i` of `prefix`. */
export const keyOf = (prefix: string, i: number): string => `${prefix}:${i}`;

/** Outcome of {@link writeKeys}: indices acknowledged with +OK, and the first few errors. */
export interface WriteResult {
  acked: number[];
  failed: number;
  errors: string[];
}

/**
 * SETs keys `from`…`from+count-1` of `prefix` through one node (a plain,
 * not cluster-aware client: the node forwards), `batch` pipelined at a time.
 * A batch whose connection fails is retried on a new connection at most
 * `retries` times; keys never answered +OK are not acknowledged.
 */
export async function writeKeys(host: string, port: number, prefix: string, from: number, count: number, batch = 100, timeoutMs = 60_000, retries = 0): Promise<WriteResult> {
  const deadline = Date.now() + timeoutMs;
  const acked: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  let client: RawClient | null = null;
  for (let start = from; start < from + count && Date.now() < deadline; start += batch) {
    const ids = Array.from({ length: Math.min(batch, from + count - start) }, (_, k) => start + k);
    for (let attempt = 0; attempt <= retries; attempt++) {
      try {
        client ??= await RawClient.connect(port, host, 2000);
        client.send(Buffer.concat(ids.map((i) => encodeCommand(["SET", keyOf(prefix, i), valueFor(prefix, i)]))));
        for (const i of ids) {
          const reply = toJson(parseReply(await client.readReply(5000)));
          if (reply === "OK") acked.push(i);
          else {
            failed++;
            if (errors.length < 5) errors.push(`${keyOf(prefix, i)}: ${JSON.stringify(reply)}`);
          }
        }
        break;
      } catch (err) {
        client?.close();
        client = null;
        if (errors.length < 5) errors.push(`batch at ${start}: ${(err as Error).message}`);
        if (attempt === retries) failed += ids.length;
      }
    }
  }
  client?.close();
  return { acked, failed, errors };
}

/** Keys of `indices` whose value read through host:port (plain client, pipelined) is not the written one, with what came back. */
export async function readKeysPlain(host: string, port: number, prefix: string, indices: number[], batch = 200): Promise<string[]> {
  const wrong: string[] = [];
  const client = await RawClient.connect(port, host, 2000);
  try {
    for (let s = 0; s < indices.length; s += batch) {
      const ids = indices.slice(s, s + batch);
      client.send(Buffer.concat(ids.map((i) => encodeCommand(["GET", keyOf(prefix, i)]))));
      for (const i of ids) {
        const got = toJson(parseReply(await client.readReply(5000)));
        if (got !== valueFor(prefix, i)) wrong.push(`${keyOf(prefix, i)}=${JSON.stringify(got)}`);
      }
    }
  } finally {
    client.close();
  }
  return wrong;
}

/**
 * Reads `indices` with ioredis Cluster seeded with `seeds` (it asks CLUSTER
 * SLOTS, connects to the addresses the nodes advertise and follows MOVED).
 * Returns the wrong or missing keys and the nodes ioredis connected to.
 */
export async function readKeysCluster(seeds: { host: string; port: number }[], prefix: string, indices: number[]): Promise<{ wrong: string[]; nodes: string[] }> {
  const cluster = new Cluster(seeds, { lazyConnect: true, enableOfflineQueue: true, redisOptions: { connectTimeout: 2000, maxRetriesPerRequest: 3 }, slotsRefreshTimeout: 2000 });
  const wrong: string[] = [];
  try {
    await cluster.connect();
    for (let s = 0; s < indices.length; s += 200) {
      const ids = indices.slice(s, s + 200);
      const got = await Promise.all(ids.map((i) => cluster.get(keyOf(prefix, i)).catch((e: Error) => `error: ${e.message}`)));
      ids.forEach((i, k) => {
        if (got[k] !== valueFor(prefix, i)) wrong.push(`${keyOf(prefix, i)}=${JSON.stringify(got[k])}`);
      });
    }
    return { wrong, nodes: cluster.nodes("all").map((n) => `${n.options.host}:${n.options.port}`) };
  } finally {
    cluster.disconnect();
  }
}

/** What {@link waitCluster} saw of one node. */
export interface NodeView {
  self: string;
  liveMembers: number;
  ready: boolean;
  checksum: number;
  members: string[];
}

/** GET /v1/cluster of `ip` (IPv6 in brackets) as a {@link NodeView}. */
export async function nodeView(httpHost: string, httpPort: number): Promise<NodeView> {
  const res = await fetch(`http://${httpHost}:${httpPort}/v1/cluster`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as {
    self: string;
    liveMembers: number;
    ready: boolean;
    membershipChecksum: number;
    members: { name: string; status: string; ownedPartitions: number }[];
  };
  return {
    self: body.self,
    liveMembers: body.liveMembers,
    ready: body.ready,
    checksum: body.membershipChecksum,
    // suspects still own partitions: only alive members count, and a suspect keeps the views from agreeing; so
    // does a dead member the partition table still lists (the agreed table drops it a moment after the verdict)
    members: body.members
      .filter((m) => m.status === "alive" || m.status === "suspect" || m.ownedPartitions > 0)
      .map((m) => `${m.name}${m.status === "suspect" ? "?" : m.status === "alive" ? "" : "!"}`)
      .sort(),
  };
}

/**
 * Polls /v1/cluster on every one of `httpHosts` until each is ready and sees
 * exactly `expected` alive members (the same list everywhere), bounded by
 * `timeoutMs`. Returns the views. @throws Error with the last views.
 */
export async function waitCluster(httpHosts: string[], httpPort: number, expected: string[], timeoutMs = 30_000): Promise<NodeView[]> {
  const want = [...expected].sort().join(",");
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const views = await Promise.all(httpHosts.map((h) => nodeView(h, httpPort)));
      last = views;
      if (views.every((v) => v.ready && v.members.join(",") === want)) return views;
    } catch (err) {
      last = (err as Error).message;
    }
    await Bun.sleep(200);
  }
  throw new Error(`the nodes did not agree on members ${want} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

/** Sum of the `router.moved` counters of the nodes (MOVED replies sent). */
export async function movedCount(httpHosts: string[], httpPort: number): Promise<number> {
  let n = 0;
  for (const h of httpHosts) {
    const res = await fetch(`http://${h}:${httpPort}/v1/cluster`, { signal: AbortSignal.timeout(2000) });
    n += ((await res.json()) as { router: { moved: number } }).router.moved;
  }
  return n;
}

/** Queries `name` (A) at server host:port until it answers with an address, bounded by `timeoutMs`. @throws Error with the last failure. */
export async function waitDns(host: string, port: number, name: string, timeoutMs = 10_000): Promise<string[]> {
  const resolver = new DnsClient({ nameservers: [{ host, port }], timeoutMs: 500, attempts: 1 });
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const records = await resolver.query(name, RecordType.A);
      if (records.length > 0) return records.map((r) => JSON.stringify(r));
      last = "no records";
    } catch (err) {
      last = (err as Error).message;
    }
    await Bun.sleep(100);
  }
  throw new Error(`DNS ${host}:${port} did not answer ${name} A within ${timeoutMs} ms (${last})`);
}
