/**
 * Bulk loading of a shoal cluster like a cluster-aware client: each key is
 * sent to its partition owner (from the same deterministic PartitionTable the
 * nodes build), pipelined in batches over several connections per node, so
 * the load measures the owners' writes and replication, not forwarding.
 */
import { PartitionTable } from "../core/cluster/partition-table.ts";
import { benchKey } from "./resp-load.ts";

const enc = new TextEncoder();

/** A member to load: RESP port and peer address (its member name). */
export interface LoadTarget {
  port: number;
  peer: string;
}

/** Error replies after which a batch is sent again (SETs are idempotent): the owner is not serving yet or just changed. */
const TRANSIENT = /^-(CLUSTERQUORUM|TRYAGAIN|CLUSTERDOWN)/;

/**
 * Sends `batches` (each `count` SETs) pipelined on one connection, one batch in flight; a batch answered with a
 * transient cluster error (owner lease not granted yet, owner changing) is sent again, up to 30 times 200 ms apart;
 * throws on any other error reply.
 */
async function sendBatches(port: number, batches: { bytes: Uint8Array; count: number }[]): Promise<void> {
  const todo = [...batches];
  for (let attempt = 0; ; attempt++) {
    try {
      await sendOnce(port, todo);
      return;
    } catch (e) {
      const failed = (e as { batch?: number }).batch;
      if (failed === undefined || attempt >= 30 || !TRANSIENT.test((e as Error).message.replace(/^error reply: /, ""))) throw e;
      todo.splice(0, failed); // the batches before it were acknowledged
      await Bun.sleep(200);
    }
  }
}

async function sendOnce(port: number, batches: { bytes: Uint8Array; count: number }[]): Promise<void> {
  let pendingReplies = 0;
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let tail = 0; // bytes of a reply line split across chunks
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        for (let i = 0; i < chunk.length; i++) {
          const c = chunk[i]!;
          if (tail === 0 && c === 45 /* - */) failure ??= new Error(`error reply: ${new TextDecoder().decode(chunk.subarray(i, i + 200))}`);
          tail++;
          if (c === 10) {
            tail = 0;
            pendingReplies--;
          }
        }
        if ((pendingReplies <= 0 || failure) && wake) wake();
      },
      close() {
        failure ??= new Error("connection closed during load");
        wake?.();
      },
      error(_s, e) {
        failure = e;
        wake?.();
      },
    },
  });
  try {
    for (const [n, b] of batches.entries()) {
      pendingReplies = b.count;
      const done = new Promise<void>((resolve) => (wake = resolve));
      let off = 0;
      while (off < b.bytes.length) {
        off += socket.write(b.bytes.subarray(off));
        if (off < b.bytes.length) await Bun.sleep(1);
      }
      socket.flush();
      await done;
      wake = null;
      if (failure) throw Object.assign(failure, { batch: n });
    }
  } finally {
    socket.end();
  }
}

/**
 * Writes keys `benchKey(from..from+total-1, keyBytes)` (from 0 by default) with
 * `valueBytes`-byte values (or `value`),
 * each to its owner among `targets` (table built with `partitionCount`),
 * `connsPerNode` connections per node, `batch` commands per write. Returns
 * the elapsed milliseconds.
 */
export async function loadCluster(
  targets: LoadTarget[],
  total: number,
  opts: { keyBytes?: number; valueBytes?: number; partitionCount?: number; connsPerNode?: number; batch?: number; value?: string; from?: number } = {},
): Promise<number> {
  const keyBytes = opts.keyBytes ?? 16;
  const value = opts.value ?? "v".repeat(opts.valueBytes ?? 100);
  const from = opts.from ?? 0;
  const conns = opts.connsPerNode ?? 4;
  const batch = opts.batch ?? 2000;
  const table = PartitionTable.build(
    targets.map((t) => t.peer),
    1,
    { partitionCount: opts.partitionCount ?? 271 },
  );
  // Per connection (node × conns): the RESP text of its pending batch and the finished batches.
  const lanes = targets.map(() => Array.from({ length: conns }, () => ({ text: "", count: 0, batches: [] as { bytes: Uint8Array; count: number }[] })));
  const index = new Map(targets.map((t, i) => [t.peer, i]));
  const head = `*3\r\n$3\r\nSET\r\n$${keyBytes}\r\n`;
  const tailText = `\r\n$${value.length}\r\n${value}\r\n`;
  for (let i = from; i < from + total; i++) {
    const key = benchKey(i, keyBytes);
    const node = index.get(table.owner(table.partitionOfKey(enc.encode(key))))!;
    const lane = lanes[node]![i % conns]!;
    lane.text += head + key + tailText;
    if (++lane.count === batch) {
      lane.batches.push({ bytes: enc.encode(lane.text), count: lane.count });
      lane.text = "";
      lane.count = 0;
    }
  }
  for (const node of lanes) for (const l of node) if (l.count > 0) l.batches.push({ bytes: enc.encode(l.text), count: l.count });
  const t0 = performance.now();
  await Promise.all(lanes.flatMap((node, i) => node.map((l) => sendBatches(targets[i]!.port, l.batches))));
  return performance.now() - t0;
}
