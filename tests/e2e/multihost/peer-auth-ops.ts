/**
 * Client operations of the peer-authentication multi-host test, run inside a
 * namespace host by a HostAgent: several commands on one connection after an
 * optional AUTH, and a whole-keyspace read. Every call is bounded.
 */
import { type JsonReply, toJson } from "../../helpers/netns-client-ops.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { parseReply } from "../../helpers/resp.ts";

/** Runs `commands` in order on one connection to host:port (after `AUTH pass` when given); returns the replies. */
export async function session(host: string, port: number, pass: string | null, commands: string[][], timeoutMs = 5000): Promise<JsonReply[]> {
  const c = await RawClient.connect(port, host, timeoutMs);
  try {
    const out: JsonReply[] = [];
    if (pass !== null) {
      const auth = toJson(parseReply(await c.command(["AUTH", pass], timeoutMs)));
      if (auth !== "OK") throw new Error(`AUTH on ${host}:${port} answered ${JSON.stringify(auth)}`);
    }
    for (const cmd of commands) out.push(toJson(parseReply(await c.command(cmd, timeoutMs))));
    return out;
  } finally {
    c.close();
  }
}

/** GET of each key through host:port; returns how many came back with their expected value `v:<key>`. */
export async function countValues(host: string, port: number, pass: string | null, keys: string[], timeoutMs = 5000): Promise<number> {
  const replies = await session(host, port, pass, keys.map((k) => ["GET", k]), timeoutMs);
  return replies.filter((r, i) => r === `v:${keys[i]}`).length;
}
