import { describe, expect, test } from "bun:test";
import { createHttpApp } from "../../../core/http/app.ts";
import { formatEvent } from "../../../core/http/sse.ts";
import type { ShoalNode } from "../../../core/node.ts";
import { SseReader } from "./sse-reader.ts";
import { subscriptions, testNode } from "./test-node.ts";

const enc = new TextEncoder();
const url = (path: string) => `http://shoal${path}`;

async function subscribe(node: ShoalNode, path: string, opts = {}) {
  const app = createHttpApp(node, { keepAliveMs: 0, ...opts });
  const r = await app.request(url(path));
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toStartWith("text/event-stream");
  const reader = new SseReader(r.body!);
  expect((await reader.next()).event).toBe("subscribed");
  return { app, reader };
}

describe("formatEvent", () => {
  const ch = enc.encode("news");
  test("UTF-8 text as is, multi-line as several data lines", () => {
    expect(formatEvent(ch, enc.encode("héllo"), undefined, { encoding: "text", json: false })).toBe(
      "event: message\ndata: héllo\n\n",
    );
    expect(formatEvent(ch, enc.encode("a\nb"), undefined, { encoding: "text", json: false })).toBe(
      "event: message\ndata: a\ndata: b\n\n",
    );
  });
  test("invalid UTF-8 or CR falls back to base64 under message-base64", () => {
    expect(formatEvent(ch, new Uint8Array([0xff, 0x00]), undefined, { encoding: "text", json: false })).toBe(
      "event: message-base64\ndata: /wA=\n\n",
    );
    expect(formatEvent(ch, enc.encode("a\r\nb"), undefined, { encoding: "text", json: false })).toBe(
      `event: message-base64\ndata: ${btoa("a\r\nb")}\n\n`,
    );
  });
  test("encoding=base64 and format=json", () => {
    expect(formatEvent(ch, enc.encode("hi"), undefined, { encoding: "base64", json: false })).toBe(
      `event: message\ndata: ${btoa("hi")}\n\n`,
    );
    const j = formatEvent(ch, enc.encode("x\ny"), enc.encode("n*"), { encoding: "text", json: true });
    expect(j.split("\n").length).toBe(4);
    expect(JSON.parse(j.split("\n")[1]!.slice(6))).toEqual({ channel: "news", pattern: "n*", data: "x\ny", encoding: "utf-8" });
  });
});

describe("GET /v1/pubsub/:channel (SSE)", () => {
  test("streams published messages in order and unsubscribes when the client goes away", async () => {
    const { node } = testNode();
    const { app, reader } = await subscribe(node, "/v1/pubsub/news");
    expect(subscriptions(node.pubsub)).toBe(1);
    const p = await app.request(url("/v1/pubsub/news"), { method: "POST", body: "first" });
    expect(await p.json()).toEqual({ receivers: 1 });
    node.pubsub.publish("news", "second\nline");
    node.pubsub.publish("other", "not for us");
    node.pubsub.publish("news", new Uint8Array([0xfe, 0xff]));
    expect(await reader.next()).toEqual({ event: "message", data: "first" });
    expect(await reader.next()).toEqual({ event: "message", data: "second\nline" });
    expect(await reader.next()).toEqual({ event: "message-base64", data: "/v8=" });
    await reader.cancel();
    expect(subscriptions(node.pubsub)).toBe(0);
    expect(node.pubsub.publish("news", "after")).toBe(0);
  });

  test("?pattern=1 subscribes to a glob; json format carries the channel", async () => {
    const { node } = testNode();
    const { reader } = await subscribe(node, "/v1/pubsub/user:*?pattern=1&format=json");
    node.pubsub.publish("user:1", "a");
    node.pubsub.publish("order:1", "b");
    node.pubsub.publish("user:2", "c");
    expect(JSON.parse((await reader.next()).data)).toEqual({ channel: "user:1", pattern: "user:*", data: "a", encoding: "utf-8" });
    expect(JSON.parse((await reader.next()).data)).toMatchObject({ channel: "user:2", data: "c" });
    await reader.cancel();
    expect(subscriptions(node.pubsub)).toBe(0);
  });

  test("request abort unsubscribes", async () => {
    const { node } = testNode();
    const app = createHttpApp(node, { keepAliveMs: 0 });
    const ac = new AbortController();
    const r = await app.request(new Request(url("/v1/pubsub/news"), { signal: ac.signal }));
    expect(r.status).toBe(200);
    expect(subscriptions(node.pubsub)).toBe(1);
    ac.abort();
    expect(subscriptions(node.pubsub)).toBe(0);
  });

  test("keep-alive comments follow the node clock and stop after unsubscribe", async () => {
    const { node, clock } = testNode();
    const { reader } = await subscribe(node, "/v1/pubsub/news", { keepAliveMs: 1000 });
    clock.advance(1000);
    expect(await reader.next()).toEqual({ event: "comment", data: "keep-alive" });
    clock.advance(1000);
    expect((await reader.next()).event).toBe("comment");
    await reader.cancel();
    expect(clock.pending()).toBe(0);
  });

  test("a client that does not read is dropped past the buffer limit; publishers are unaffected", async () => {
    const { node } = testNode();
    const { reader } = await subscribe(node, "/v1/pubsub/news", { subscriberBufferBytes: 4096 });
    const msg = "x".repeat(1000);
    let published = 0;
    for (let i = 0; i < 200 && subscriptions(node.pubsub) > 0; i++) {
      node.pubsub.publish("news", msg);
      published++;
    }
    expect(subscriptions(node.pubsub)).toBe(0);
    expect(published).toBeLessThan(200);
    expect(await reader.ended()).toBe(true);
  });

  test("subscriber cap answers 503; bad options 400; POST body past max value is 413", async () => {
    const { node } = testNode();
    const app = createHttpApp(node, { keepAliveMs: 0, maxSubscribers: 1, maxValueBytes: 16 });
    const first = await app.request(url("/v1/pubsub/a"));
    expect(first.status).toBe(200);
    const second = await app.request(url("/v1/pubsub/b"));
    expect(second.status).toBe(503);
    expect(await second.json()).toMatchObject({ error: "TOOMANYSUBSCRIBERS" });
    await first.body!.cancel();
    const third = await app.request(url("/v1/pubsub/b"));
    expect(third.status).toBe(200);
    await third.body!.cancel();
    expect((await app.request(url("/v1/pubsub/b?encoding=hex"))).status).toBe(400);
    expect((await app.request(url("/v1/pubsub/b?format=xml"))).status).toBe(400);
    const big = await app.request(url("/v1/pubsub/a"), { method: "POST", body: "x".repeat(17) });
    expect(big.status).toBe(413);
  });
});
