/**
 * Bulk loading over one raw TCP socket: pipelined SET commands in batches,
 * waiting for every reply of a batch before sending the next.
 */

const enc = new TextEncoder();

/** Fixed-width key number `i`: `k` + zero-padded decimal, `keyBytes` long. */
export function benchKey(i: number, keyBytes: number): string {
  return "k" + String(i).padStart(keyBytes - 1, "0");
}

/** RESP for `SET key value` with keys from benchKey and a constant value. */
function setBatch(from: number, count: number, keyBytes: number, value: string): Uint8Array {
  const head = `*3\r\n$3\r\nSET\r\n$${keyBytes}\r\n`;
  const tail = `\r\n$${value.length}\r\n${value}\r\n`;
  let s = "";
  for (let i = from; i < from + count; i++) s += head + benchKey(i, keyBytes) + tail;
  return enc.encode(s);
}

/**
 * Writes `total` keys (`keyBytes`-byte keys, `valueBytes`-byte values) with
 * SET, `batch` commands per write. Throws if a reply is not +OK or the
 * connection fails. Returns the elapsed milliseconds.
 */
export async function loadKeys(port: number, total: number, keyBytes: number, valueBytes: number, batch = 10_000): Promise<number> {
  const value = "v".repeat(valueBytes);
  const t0 = performance.now();
  let pendingBytes = 0;
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        // Every reply is "+OK\r\n"; any '-' means an error reply.
        if (chunk.includes(45)) failure = new Error(`error reply: ${new TextDecoder().decode(chunk.subarray(0, 200))}`);
        pendingBytes -= chunk.length;
        if ((pendingBytes <= 0 || failure) && wake) wake();
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
    for (let from = 0; from < total; from += batch) {
      const n = Math.min(batch, total - from);
      const bytes = setBatch(from, n, keyBytes, value);
      pendingBytes = n * 5;
      const done = new Promise<void>((resolve) => (wake = resolve));
      let off = 0;
      while (off < bytes.length) {
        const w = socket.write(bytes.subarray(off));
        off += w;
        if (off < bytes.length) await Bun.sleep(1);
      }
      socket.flush();
      await done;
      wake = null;
      if (failure) throw failure;
    }
  } finally {
    socket.end();
  }
  return performance.now() - t0;
}
