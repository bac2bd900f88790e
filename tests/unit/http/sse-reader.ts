/** Reads Server-Sent Events from a response body, for tests. */

/** One parsed SSE event (comments are collected as event "comment"). */
export interface SseEvent {
  event: string;
  data: string;
}

/** Pulls events from a text/event-stream body, each read bounded by `timeoutMs`. */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = "";

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  /** The next event; throws after `timeoutMs` or when the stream ends. */
  async next(timeoutMs = 2000): Promise<SseEvent> {
    for (let i = 0; i < 1000; i++) {
      const end = this.buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return parseBlock(block);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no SSE event within ${timeoutMs}ms`)), timeoutMs);
      });
      const { done, value } = await Promise.race([this.reader.read(), timeout]).finally(() => clearTimeout(timer));
      if (done) throw new Error("SSE stream ended");
      this.buffer += this.decoder.decode(value, { stream: true });
    }
    throw new Error("SSE reader: too many chunks without an event");
  }

  /** Resolves true when the stream ends (or errors) within `timeoutMs`, reading and dropping events. */
  async ended(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
      try {
        const { done } = await this.reader.read();
        if (done) return true;
      } catch {
        return true;
      }
    }
    return false;
  }

  /** Cancels the stream (client goes away). */
  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

function parseBlock(block: string): SseEvent {
  if (block.startsWith(":")) return { event: "comment", data: block.slice(1).trim() };
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return { event, data: data.join("\n") };
}
