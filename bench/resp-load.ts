/**
 * Bulk loading over one raw TCP socket: pipelined SET commands in batches,
 * waiting for every reply of a batch before sending the next.
 */

const enc = new TextEncoder();

/** Fixed-width key number `i`: `k` + zero-padded decimal, `keyBytes` long. */
export function benchKey(i: number, keyBytes: number): string {
  return "k" + String(i).padStart(keyBytes - 1, "0");
}

/**
 * `valueBytes` pseudo-random letters and digits for key `i` (the same on
 * every run): values that compress about as badly as real cached data.
 */
export function randomValue(i: number, valueBytes: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let x = (i * 2654435761 + 1) >>> 0;
  let s = "";
  for (let k = 0; k < valueBytes; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s += alphabet[x & 63];
  }
  return s;
}

/** RESP for `SET key value` with keys from benchKey and the value `value(i)` (ASCII). */
function setBatch(from: number, count: number, keyBytes: number, value: (i: number) => string): Uint8Array {
  const head = `*3\r\n$3\r\nSET\r\n$${keyBytes}\r\n`;
  let s = "";
  for (let i = from; i < from + count; i++) {
    const v = value(i);
    s += `${head}${benchKey(i, keyBytes)}\r\n$${v.length}\r\n${v}\r\n`;
  }
  return enc.encode(s);
}

/**
 * Writes `total` keys (`keyBytes`-byte keys, `valueBytes`-byte values) with
 * SET, `batch` commands per write. Values are all "v" unless `random`
 * ({@link randomValue}). Throws if a reply is not +OK or the connection
 * fails. Returns the elapsed milliseconds.
 */
export async function loadKeys(port: number, total: number, keyBytes: number, valueBytes: number, batch = 10_000, random = false): Promise<number> {
  const constant = "v".repeat(valueBytes);
  const value = random ? (i: number) => randomValue(i, valueBytes) : () => constant;
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
