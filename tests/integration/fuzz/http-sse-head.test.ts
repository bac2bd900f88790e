/**
 * Regression from the HTTP fuzz: HEAD /v1/pubsub/:channel used to open an
 * SSE subscription that Bun never cancels (no body is read), leaking one
 * subscriber per request until --max-subscribers locked everyone out.
 */
import { afterAll, expect, test } from "bun:test";
import net from "node:net";
import { sleep } from "../../helpers/ports.ts";
import { type ServerProcess, startShoal } from "../../helpers/processes.ts";

let node: ServerProcess | undefined;
afterAll(async () => {
  await node?.stop(2000);
});

const subscribers = async (port: number): Promise<number> =>
  ((await (await fetch(`http://127.0.0.1:${port}/v1/stats`)).json()) as { sse: { subscribers: number } }).sse.subscribers;

test("HEAD on an SSE route answers headers and leaves no subscriber behind; GET streams are released on close", async () => {
  node = await startShoal();
  const head = await fetch(`http://127.0.0.1:${node.httpPort}/v1/pubsub/ch`, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("content-type")).toStartWith("text/event-stream");
  for (const method of ["HEAD", "GET"]) {
    const socks: net.Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const s = net.connect(node.httpPort, "127.0.0.1", () => s.write(`${method} /v1/pubsub/ch HTTP/1.1\r\nHost: x\r\n\r\n`));
      s.on("error", () => {});
      socks.push(s);
    }
    await sleep(300);
    for (const s of socks) s.destroy();
    let n = -1;
    for (let i = 0; i < 50 && n !== 0; i++) {
      await sleep(100);
      n = await subscribers(node.httpPort);
    }
    expect(`${method}: ${n}`).toBe(`${method}: 0`);
  }
});
