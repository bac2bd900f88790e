/** The app behind a real socket (Bun.serve on an ephemeral loopback port). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHttpApp } from "../../../core/http/app.ts";
import { SseReader } from "./sse-reader.ts";
import { subscriptions, testNode } from "./test-node.ts";

const { node } = testNode();
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  const app = createHttpApp(node, { keepAliveMs: 0, maxValueBytes: 4 * 1024 * 1024 });
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(() => {
  server.stop(true);
});

async function until(cond: () => boolean, timeoutMs = 2000): Promise<boolean> {
  for (let i = 0; i < timeoutMs / 10; i++) {
    if (cond()) return true;
    await Bun.sleep(10);
  }
  return cond();
}

describe("over a real socket", () => {
  test("a 1 MiB binary value round-trips byte for byte with its Content-Type and ETag", async () => {
    const value = new Uint8Array(1024 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7919) & 0xff;
    const w = await fetch(`${base}/v1/maps/bin/keys/blob`, {
      method: "PUT",
      body: value,
      headers: { "content-type": "application/x-blob", "x-shoal-ttl": "1h" },
    });
    expect(w.status).toBe(204);
    const r = await fetch(`${base}/v1/maps/bin/keys/blob`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/x-blob");
    expect(r.headers.get("etag")).toBe(w.headers.get("etag"));
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(value);
    const again = await fetch(`${base}/v1/maps/bin/keys/blob`, { headers: { "if-none-match": r.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  test("a body past the limit is refused with 413 and nothing is stored", async () => {
    const r = await fetch(`${base}/v1/maps/bin/keys/huge`, { method: "PUT", body: new Uint8Array(4 * 1024 * 1024 + 1) });
    expect(r.status).toBe(413);
    expect(node.map("bin").get("huge")).toBeNull();
  });

  test("SSE streams published messages and unsubscribes when the client disconnects", async () => {
    const ac = new AbortController();
    const r = await fetch(`${base}/v1/pubsub/chat`, { signal: ac.signal });
    expect(r.headers.get("content-type")).toStartWith("text/event-stream");
    const reader = new SseReader(r.body!);
    expect(await reader.next()).toEqual({ event: "subscribed", data: "chat" });
    const p = await fetch(`${base}/v1/pubsub/chat`, { method: "POST", body: "hello over TCP" });
    expect(await p.json()).toEqual({ receivers: 1 });
    node.pubsub.publish("chat", new Uint8Array([0, 1, 2, 255]));
    expect(await reader.next()).toEqual({ event: "message", data: "hello over TCP" });
    expect(await reader.next()).toEqual({ event: "message-base64", data: "AAEC/w==" });
    ac.abort();
    expect(await until(() => subscriptions(node.pubsub) === 0)).toBe(true);
    expect(node.pubsub.publish("chat", "nobody")).toBe(0);
  });
});
