/**
 * Pub/sub as Server-Sent Events. One `GET /v1/pubsub/:channel` holds one
 * subscription (or a pattern subscription with `?pattern=1`) and receives:
 *
 *   event: subscribed            data: the channel or pattern (once, first)
 *   event: message               data: the message
 *   : keep-alive                 (comment, every keepAliveMs)
 *
 * Message data is UTF-8 text when the message is valid UTF-8 without CR
 * (SSE cannot carry a lone CR; LF is sent as several `data:` lines, which
 * clients join back with LF). Any other message is sent as
 * `event: message-base64` with base64 data. `?encoding=base64` sends every
 * message as `event: message` with base64 data. `?format=json` makes data a
 * JSON object `{channel, pattern?, data, encoding}` instead.
 *
 * The subscription ends when the client goes away (stream cancel or request
 * abort) or when more than `bufferBytes` are queued for a client that does
 * not read (like Redis' pubsub client-output-buffer-limit).
 */
import type { PubSub } from "../api.ts";
import type { Clock, Timer } from "../clock.ts";
import { base64 } from "./base64.ts";

/** Message encodings a subscriber can ask for. */
export type SseEncoding = "text" | "base64";

/** Settings of one SSE subscription. */
export interface SseSubscription {
  channel: string;
  pattern: boolean;
  encoding: SseEncoding;
  json: boolean;
  keepAliveMs: number;
  bufferBytes: number;
  /** Aborted when the client disconnects. */
  signal?: AbortSignal;
}

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Counts live SSE subscribers so the app can cap them. */
export class SubscriberCount {
  current = 0;
  total = 0;
}

/** Opens the subscription and returns the streaming response. */
export function sseResponse(pubsub: PubSub, clock: Clock, sub: SseSubscription, count: SubscriberCount): Response {
  let unsubscribe: (() => void) | undefined;
  let timer: Timer | undefined;
  let ended = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const end = (): void => {
    if (ended) return;
    ended = true;
    count.current--;
    unsubscribe?.();
    timer?.cancel();
    sub.signal?.removeEventListener("abort", onAbort);
  };
  const onAbort = (): void => {
    end();
    try {
      controller.close();
    } catch {}
  };
  const push = (text: string): void => {
    if (ended) return;
    try {
      controller.enqueue(encoder.encode(text));
      if ((controller.desiredSize ?? 0) < -sub.bufferBytes) {
        // The client stopped reading: drop it rather than buffer without bound.
        end();
        controller.error(new Error("SSE subscriber too slow; disconnected"));
      }
    } catch {
      // The stream closed under us; a publisher must never see this subscriber's failure.
      end();
    }
  };
  const keepAlive = (): void => {
    if (ended) return;
    push(": keep-alive\n\n");
    timer = clock.setTimer(sub.keepAliveMs, keepAlive);
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        count.current++;
        count.total++;
        push(`event: subscribed\ndata: ${oneLine(sub.channel)}\n\n`);
        const listener = (channel: Uint8Array, message: Uint8Array, pattern?: Uint8Array): void =>
          push(formatEvent(channel, message, pattern, sub));
        unsubscribe = sub.pattern
          ? pubsub.psubscribe(sub.channel, listener)
          : pubsub.subscribe(sub.channel, listener);
        if (sub.keepAliveMs > 0) timer = clock.setTimer(sub.keepAliveMs, keepAlive);
        if (sub.signal?.aborted) onAbort();
        else sub.signal?.addEventListener("abort", onAbort);
      },
      cancel() {
        end();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
  );
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}

/** Formats one published message as an SSE event (see the module doc). */
export function formatEvent(
  channel: Uint8Array,
  message: Uint8Array,
  pattern: Uint8Array | undefined,
  sub: Pick<SseSubscription, "encoding" | "json">,
): string {
  let text = sub.encoding === "text" ? decodeText(message) : undefined;
  if (text?.includes("\r")) text = undefined;
  const encoding = text === undefined ? "base64" : "utf-8";
  const payload = text ?? base64(message);
  let data: string;
  if (sub.json) {
    const body: Record<string, string> = { channel: lossy(channel) };
    if (pattern) body.pattern = lossy(pattern);
    body.data = payload;
    body.encoding = encoding;
    data = JSON.stringify(body);
  } else {
    data = payload;
  }
  const event = encoding === "base64" && sub.encoding === "text" && !sub.json ? "message-base64" : "message";
  return `event: ${event}\ndata: ${data.split("\n").join("\ndata: ")}\n\n`;
}

function decodeText(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function lossy(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, " ");
}
