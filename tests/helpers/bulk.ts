/**
 * Bulk loading and checking over RESP for tests that need many keys: MSET
 * and MGET in batches, pipelined with a bounded window, every reply checked.
 */
import { RawClient } from "./raw-client.ts";
import { encodeCommand, parseReply } from "./resp.ts";

/** Writes keys `from..to-1` with MSET batches of `batch`; `window` batches in flight. */
export async function bulkSet(port: number, from: number, to: number, key: (i: number) => string, value: (i: number) => string, batch = 1000, window = 32): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    let sent = 0;
    let acked = 0;
    const total = Math.ceil((to - from) / batch);
    while (acked < total) {
      while (sent < total && sent - acked < window) {
        const args = ["MSET"];
        const start = from + sent * batch;
        for (let i = start; i < Math.min(to, start + batch); i++) args.push(key(i), value(i));
        c.send(encodeCommand(args));
        sent++;
      }
      const r = (await c.readReply(30_000)).toString("latin1");
      if (r !== "+OK\r\n") throw new Error(`MSET batch ${acked}: ${r.slice(0, 200)}`);
      acked++;
    }
  } finally {
    c.close();
  }
}

/** Reads keys `from..to-1` with MGET batches; returns the indices whose value is not `value(i)` (null = missing). */
export async function bulkCheck(port: number, from: number, to: number, key: (i: number) => string, value: (i: number) => string | null, batch = 1000, window = 16): Promise<number[]> {
  const c = await RawClient.connect(port);
  const wrong: number[] = [];
  try {
    let sent = 0;
    let got = 0;
    const total = Math.ceil((to - from) / batch);
    while (got < total) {
      while (sent < total && sent - got < window) {
        const args = ["MGET"];
        const start = from + sent * batch;
        for (let i = start; i < Math.min(to, start + batch); i++) args.push(key(i));
        c.send(encodeCommand(args));
        sent++;
      }
      const reply = parseReply(await c.readReply(30_000));
      const start = from + got * batch;
      if (reply.type !== "*" || reply.items === null) throw new Error(`MGET batch ${got}: not an array`);
      reply.items.forEach((item, k) => {
        const want = value(start + k);
        const have = item.type === "$" && item.data !== null ? item.data.toString("latin1") : null;
        if (have !== want) wrong.push(start + k);
      });
      got++;
    }
  } finally {
    c.close();
  }
  return wrong;
}
