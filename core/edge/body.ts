/**
 * Reading an origin body into memory only while it may still be cached: up
 * to the object size limit, within a deadline. A body that outgrows the limit
 * is handed back as a stream (the bytes read so far, then the rest), so it is
 * passed through without ever being held whole.
 */
import type { Clock } from "../clock.ts";
import { OriginError } from "./origin.ts";

/** A body read to its end, or one that outgrew the limit (`stream` yields it all, from the first byte). */
export type ReadBody = { kind: "complete"; bytes: Uint8Array } | { kind: "over"; stream: ReadableStream<Uint8Array> };

/**
 * Reads `body` while it fits in `maxBytes`.
 * @throws OriginError (`timeout`) when the body does not end within `timeoutMs`, (`unreachable`) when the stream fails.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number, timeoutMs: number, clock: Clock): Promise<ReadBody> {
  if (body === null) return { kind: "complete", bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timedOut = false;
  const timer = clock.setTimer(timeoutMs, () => {
    timedOut = true;
    reader.cancel(new OriginError("origin body timed out", "timeout")).catch(() => undefined);
  });
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (e) {
        if (timedOut) throw new OriginError(`the origin did not finish the body within ${timeoutMs} ms`, "timeout");
        throw new OriginError(`origin body failed: ${e instanceof Error ? e.message : String(e)}`, "unreachable");
      }
      if (timedOut) throw new OriginError(`the origin did not finish the body within ${timeoutMs} ms`, "timeout");
      if (r.done) break;
      chunks.push(r.value);
      size += r.value.length;
      if (size > maxBytes) {
        timer.cancel();
        return { kind: "over", stream: resume(chunks, reader) };
      }
    }
  } finally {
    timer.cancel();
  }
  return { kind: "complete", bytes: concat(chunks, size) };
}

/** Cancels an unread body (the origin connection is then free or closed). */
export function discard(body: ReadableStream<Uint8Array> | null): void {
  body?.cancel().catch(() => undefined);
}

/** A stream of the chunks already read, then the rest of `reader`. */
function resume(head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < head.length) {
        controller.enqueue(head[i]!);
        head[i++] = new Uint8Array(0);
        return;
      }
      const r = await reader.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
