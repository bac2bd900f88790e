/**
 * Client operations for a {@link HostAgent} to run inside a namespace host
 * (`agent.call(CLIENT_OPS, "resp", [host, port, ["PING"]])`): one RESP
 * command, waiting for PING or an HTTP status, one HTTP request. Results are
 * JSON-able. Every wait is bounded.
 */
import { resolve } from "node:path";
import { RawClient } from "./raw-client.ts";
import { parseReply, type Reply } from "./resp.ts";

/** Path of this module, for {@link HostAgent.call}. */
export const CLIENT_OPS = resolve(import.meta.dir, "netns-client-ops.ts");

/** A RESP reply as JSON: strings, numbers, null, arrays; errors as `{ error: "ERR …" }`. */
export type JsonReply = string | number | null | { error: string } | JsonReply[];

/** Converts a parsed reply to {@link JsonReply}. */
export function toJson(r: Reply): JsonReply {
  switch (r.type) {
    case "-":
    case "!" as never:
      return { error: (r as { text: string }).text };
    case "+":
    case ",":
    case "(":
    case "#":
      return r.text;
    case ":":
      return Number(r.text);
    case "$":
    case "=":
      return r.data === null ? null : r.data.toString("utf8");
    case "_":
      return null;
    default:
      return r.items === null ? null : r.items.map(toJson);
  }
}

/** Sends one command to host:port and returns its reply. */
export async function resp(host: string, port: number, argv: string[], timeoutMs = 5000): Promise<JsonReply> {
  const c = await RawClient.connect(port, host, timeoutMs);
  try {
    return toJson(parseReply(await c.command(argv, timeoutMs)));
  } finally {
    c.close();
  }
}

/** Sends PING until +PONG, bounded by `timeoutMs`; returns the ms it took. @throws Error when it never answered. */
export async function waitPing(host: string, port: number, timeoutMs = 15_000): Promise<number> {
  const start = Date.now();
  let last = "";
  while (Date.now() - start < timeoutMs) {
    try {
      if ((await resp(host, port, ["PING"], 1000)) === "PONG") return Date.now() - start;
    } catch (err) {
      last = (err as Error).message;
    }
    await Bun.sleep(50);
  }
  throw new Error(`${host}:${port} did not answer PING within ${timeoutMs} ms (${last})`);
}

/** One HTTP request; returns status and body text. */
export async function http(url: string, method = "GET", body?: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method, body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

/** Polls `url` until it answers `status`, bounded by `timeoutMs`; returns the last body. @throws Error with the last answer. */
export async function waitHttp(url: string, status = 200, timeoutMs = 15_000): Promise<string> {
  const start = Date.now();
  let last = "";
  while (Date.now() - start < timeoutMs) {
    try {
      const r = await http(url, "GET", undefined, 1000);
      if (r.status === status) return r.body;
      last = `${r.status} ${r.body.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}
