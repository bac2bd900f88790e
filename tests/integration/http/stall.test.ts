/**
 * Issue 13 part 4 with real sockets against a real node (`--http-stall-timeout 5s`):
 * 1,000 connections that stall — 400 send nothing, 300 stop in the middle of
 * the request head, 300 stop in the middle of a body — do not stop the port
 * from serving other clients while they are held, and the node closes every
 * one of them (a half-sent head within Bun's own ~10 s head timeout, the
 * others within the stall timeout). An idle keep-alive connection is closed
 * too; an SSE stream with nothing to say stays open (keep-alive comments).
 * Without the stall timeout (Bun.serve's idleTimeout 0, as before) the
 * half-sent bodies and the idle connection would stay open for ever.
 * With `--http-max-requests-per-ip 2` a third request in progress from the
 * same address gets 503 with the exact body, and a slot frees when a stream ends.
 */
import { afterAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { sleep } from "../../helpers/ports.ts";
import { type ServerProcess, startShoal } from "../../helpers/processes.ts";

const STALLED = { silent: 400, head: 300, body: 300 };
const procs: ServerProcess[] = [];
const sockets: net.Socket[] = [];

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const p of procs) await p.stop(1000);
});

interface Held {
  socket: net.Socket;
  closedAt: number;
}

/** Opens a socket to the HTTP port, writes `first` once connected, and records when the server closes it. */
function hold(port: number, first: string, t0: number): Promise<Held> {
  return new Promise((resolve, reject) => {
    const held: Held = { socket: net.connect({ port, host: "127.0.0.1" }), closedAt: 0 };
    sockets.push(held.socket);
    held.socket.on("connect", () => {
      if (first !== "") held.socket.write(first);
      resolve(held);
    });
    held.socket.on("data", () => undefined);
    held.socket.on("error", () => undefined);
    held.socket.on("close", () => {
      held.closedAt = Date.now() - t0;
    });
    held.socket.setTimeout(10_000, () => reject(new Error("connect timed out")));
  });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return true;
    await sleep(100);
  }
  return cond();
}

describe("HTTP port under stalled connections", () => {
  test("1,000 stalled connections do not stop the port serving others, and are all closed", async () => {
    const node = await startShoal({ args: ["--http-stall-timeout", "5s", "--log-level", "warn"] });
    procs.push(node);
    const url = `http://127.0.0.1:${node.httpPort}`;
    expect((await fetch(`${url}/v1/maps/m/keys/k`, { method: "PUT", body: "v" })).status).toBe(204);

    const t0 = Date.now();
    const held: Held[] = [];
    const kinds: [keyof typeof STALLED, string][] = [
      ["silent", ""],
      ["head", "GET /v1/maps/m/keys/k HTTP/1.1\r\nHost: x\r\nX-Half: "],
      ["body", "PUT /v1/maps/m/keys/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly-a-little"],
    ];
    for (const [kind, first] of kinds) {
      for (let i = 0; i < STALLED[kind]; i += 50) {
        held.push(...(await Promise.all(Array.from({ length: Math.min(50, STALLED[kind] - i) }, () => hold(node.httpPort, first, t0)))));
      }
    }
    expect(held.length).toBe(1000);
    // beside them: a keep-alive connection that goes idle after one request, and an SSE stream with nothing to say
    const idle = await hold(node.httpPort, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", t0);
    const sseAbort = new AbortController();
    const sse = await fetch(`${url}/v1/pubsub/quiet`, { signal: sseAbort.signal });
    expect(sse.status).toBe(200);
    const sseReader = sse.body!.getReader();
    let sseText = "";
    const reading = (async () => {
      for (;;) {
        const { value, done } = await sseReader.read();
        if (done) return;
        sseText += new TextDecoder().decode(value);
      }
    })().catch(() => undefined);

    // while all 1,000 are held, other clients are served
    const servedWhileHeld: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await fetch(`${url}/v1/maps/m/keys/k`, { signal: AbortSignal.timeout(5000) });
      expect(await r.text()).toBe("v");
      servedWhileHeld.push(r.status);
    }
    const stillOpen = held.filter((h) => h.closedAt === 0).length;
    expect(servedWhileHeld.every((s) => s === 200)).toBe(true);
    expect(stillOpen).toBeGreaterThan(900); // they really were held while the others were served

    // the node closes every stalled connection
    expect(await until(() => held.every((h) => h.closedAt > 0), 30_000)).toBe(true);
    const heads = held.slice(0, STALLED.silent + STALLED.head).map((h) => h.closedAt);
    expect(Math.max(...heads)).toBeLessThan(20_000); // Bun's own head timeout (about 10 s in 4 s ticks)
    const body = held.slice(STALLED.silent + STALLED.head).map((h) => h.closedAt);
    expect(Math.max(...body)).toBeLessThan(11_000); // the stall timeout (5 s, checked in 4 s ticks)
    console.log(
      `stalled HTTP connections: ${held.length} held, ${servedWhileHeld.length} requests served meanwhile; closed by ${Math.max(...held.map((h) => h.closedAt))} ms (bodies by ${Math.max(...body)} ms)`,
    );
    expect((await fetch(`${url}/v1/maps/m/keys/k`)).status).toBe(200);
    expect((await fetch(`${url}/v1/maps/m/keys/slow`)).status).toBe(404); // the half-sent PUT never ran

    // the idle keep-alive connection was closed; the quiet SSE stream, more than twice the stall timeout old, still delivers
    expect(idle.closedAt).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThan(10_000);
    expect((await (await fetch(`${url}/v1/pubsub/quiet`, { method: "POST", body: "late" })).json()).receivers).toBe(1);
    expect(await until(() => sseText.includes("late"), 5000)).toBe(true);
    sseAbort.abort();
    await reading;
  }, 60_000);

  test("--http-max-requests-per-ip 2: the third request in progress gets 503 BUSY; a slot frees when a stream ends", async () => {
    const node = await startShoal({ args: ["--http-max-requests-per-ip", "2", "--log-level", "warn"] });
    procs.push(node);
    const url = `http://127.0.0.1:${node.httpPort}`;
    const streams = [new AbortController(), new AbortController()];
    const opened = await Promise.all(streams.map((c) => fetch(`${url}/v1/pubsub/ch`, { signal: c.signal })));
    expect(opened.map((r) => r.status)).toEqual([200, 200]);
    const refused = await fetch(`${url}/healthz`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toEqual({
      error: "BUSY",
      message: "this IP address already has 2 HTTP requests in progress (--http-max-requests-per-ip); retry later",
    });
    streams[0]!.abort();
    expect(await until(() => false, 300)).toBe(false);
    let ok = 0;
    for (let i = 0; i < 20 && ok === 0; i++) {
      if ((await fetch(`${url}/healthz`)).status === 200) ok++;
      else await sleep(100);
    }
    expect(ok).toBe(1);
    expect(await until(() => node.output().includes("http client refused: too many HTTP requests from one IP address"), 2000)).toBe(true);
    streams[1]!.abort();
  }, 30_000);
});
