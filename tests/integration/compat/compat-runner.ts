/**
 * Runs scripted command groups against redis-server and shoal side by side
 * over raw TCP and compares reply BYTES after the documented normalizations
 * below. Used by redis-compat.test.ts.
 *
 * Normalizations (each one applies only to the step that names it; nothing is
 * skipped silently):
 * - `ttl`      integer replies may differ by ±1 (seconds tick between the two servers).
 * - `pttl`     integer replies may differ by ±1000 ms.
 * - `sorted`   array elements are sorted before comparing (KEYS order is unspecified).
 * - `info`     INFO: both must be a bulk string of `# Section`, `key:value` or blank lines,
 *              including a `# Server` section; the content differs by design.
 * - `client-id` CLIENT ID: both must be positive integers; the value is per-server.
 * - `client-list` CLIENT LIST / CLIENT INFO: both must be `id=… addr=…` lines; fields differ.
 * - `hello`    HELLO: the map's `server`, `version` and `id` values are replaced by
 *              placeholders; keys, their order, `proto`, `mode`, `role`, `modules` compared.
 * - `command-info` COMMAND INFO: compares name, arity, first key, last key, step only.
 * - `count`    a positive integer on both sides (COMMAND COUNT).
 * - `nonempty` a non-empty array on both sides (COMMAND).
 * - `float-near` bulk strings that parse to the same double within 1e-15 relative: past
 *              double range Redis prints its long double's binary expansion
 *              (1999…096 for 2e308), shoal the exact decimal sum (2000…000).
 * A `scan` step iterates SCAN to cursor 0 on both sides and compares the sorted
 * union of returned keys (order and paging differ by design) plus every error reply.
 * Commands listed in OPTIONAL_COMMANDS may be unimplemented in shoal: an
 * `unknown command` reply to them is reported as "not implemented", not a mismatch.
 */
import { RawClient, ReplyTimeout } from "../../helpers/raw-client.ts";
import { encodeCommand, encodeReply, parseReply, type Reply, replyText, showBytes } from "../../helpers/resp.ts";

/** Name of a normalization (see file header). */
export type Norm = "ttl" | "pttl" | "sorted" | "info" | "client-id" | "client-list" | "hello" | "command-info" | "count" | "nonempty" | "float-near";

/** One scripted step. `on` selects a connection (default 0). */
export type Step =
  | string
  | string[]
  | { cmd: string | string[]; on?: number; norm?: Norm }
  | { raw: string; on?: number }
  | { read: true; on?: number }
  | { scan: string[]; on?: number };

/** A scripted group; run on fresh connections after FLUSHDB. */
export interface Group {
  name: string;
  steps: Step[];
}

/** Commands shoal may not implement; see file header. */
export const OPTIONAL_COMMANDS = new Set(["APPEND", "STRLEN", "GETRANGE", "SETRANGE", "SUBSTR", "EXPIRETIME", "PEXPIRETIME", "SETEX", "PSETEX"]);

/** Result of one group. */
export interface GroupResult {
  mismatches: string[];
  notImplemented: string[];
  steps: number;
}

class Side {
  private conns = new Map<number, RawClient>();
  constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  async conn(i: number): Promise<RawClient> {
    let c = this.conns.get(i);
    if (!c || c.isClosed) {
      c = await RawClient.connect(this.port);
      this.conns.set(i, c);
    }
    return c;
  }

  drop(i: number): void {
    this.conns.get(i)?.close();
    this.conns.delete(i);
  }

  closeAll(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}

/** Splits "SET k v" on spaces; arrays pass through. */
export function words(cmd: string | string[]): string[] {
  return typeof cmd === "string" ? cmd.split(" ").filter((w) => w.length > 0) : cmd;
}

const TIMEOUT_MS = 3000;

async function execStep(side: Side, step: Exclude<Step, string | string[]>): Promise<Buffer> {
  const on = step.on ?? 0;
  try {
    const c = await side.conn(on);
    let reply: Buffer;
    if ("cmd" in step) reply = await c.command(words(step.cmd), TIMEOUT_MS);
    else if ("raw" in step) {
      c.send(step.raw);
      reply = await c.readReply(TIMEOUT_MS);
    } else if ("read" in step) reply = await c.readReply(TIMEOUT_MS);
    else reply = await fullScan(c, step.scan);
    // QUIT and protocol errors close the connection; wait for it so the next step sees it consistently on both sides.
    const quit = "cmd" in step && words(step.cmd)[0]?.toUpperCase() === "QUIT";
    if (quit || reply.toString("latin1").startsWith("-ERR Protocol error")) {
      if (await c.waitClosed(1000)) side.drop(on);
    }
    return reply;
  } catch (err) {
    side.drop(on);
    const why = err instanceof ReplyTimeout ? err.message : String(err);
    return Buffer.from(`<no reply: ${why}>`);
  }
}

/** Iterates SCAN to cursor 0; returns a canonical `*N` array of sorted keys, or the first error reply. */
async function fullScan(c: RawClient, opts: string[]): Promise<Buffer> {
  let cursor = "0";
  const keys = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const bytes = await c.command(["SCAN", cursor, ...opts], TIMEOUT_MS);
    const reply = parseReply(bytes);
    if (reply.type !== "*" || !reply.items || reply.items.length !== 2) return bytes;
    const [next, page] = reply.items as [Reply, Reply];
    cursor = replyText(next) ?? "0";
    if ((page.type === "*" || page.type === "~") && page.items) for (const k of page.items) keys.add(replyText(k) ?? "<nil>");
    if (cursor === "0") return encodeReply({ type: "*", items: [...keys].sort().map((k) => ({ type: "$", data: Buffer.from(k) })) });
  }
  return Buffer.from("<scan did not finish in 1000 calls>");
}

function tolerance(a: Buffer, b: Buffer, tol: number): boolean {
  const ra = a.toString("latin1");
  const rb = b.toString("latin1");
  if (!/^:-?\d+\r\n$/.test(ra) || !/^:-?\d+\r\n$/.test(rb)) return false;
  const x = Number(ra.slice(1, -2));
  const y = Number(rb.slice(1, -2));
  return x >= 0 && y >= 0 && Math.abs(x - y) <= tol;
}

function safeParse(bytes: Buffer): Reply | null {
  try {
    return parseReply(bytes);
  } catch {
    return null;
  }
}

/** Applies a shape normalization to one reply; returns the bytes to compare. */
function normalize(norm: Norm, bytes: Buffer): Buffer {
  const reply = safeParse(bytes);
  if (!reply) return bytes;
  const text = replyText(reply);
  switch (norm) {
    case "float-near": {
      if (reply.type !== "$" || text === null) return bytes;
      const v = Number(text);
      if (Number.isFinite(v)) return Buffer.from(`<float ${v.toPrecision(15)}>`);
      // past double range: compare the leading 15 significant digits and the length
      return /^\d{300,}$/.test(text) ? Buffer.from(`<float ${Number(text.slice(0, 17)).toPrecision(15)} len ${text.length}>`) : bytes;
    }
    case "sorted":
      if ((reply.type === "*" || reply.type === "~") && reply.items) {
        const items = [...reply.items].sort((x, y) => Buffer.compare(encodeReply(x), encodeReply(y)));
        return encodeReply({ type: reply.type, items });
      }
      return bytes;
    case "info":
      if ((reply.type === "$" || reply.type === "=") && text !== null) {
        const lines = text.split("\r\n");
        const ok = lines.every((l) => l === "" || l.startsWith("# ") || /^[a-z0-9_]+:.*$/i.test(l)) && lines.includes("# Server");
        return ok ? Buffer.from("<info-shaped bulk>") : bytes;
      }
      return bytes;
    case "client-id":
      return /^:[1-9]\d*\r\n$/.test(bytes.toString("latin1")) ? Buffer.from("<client id>") : bytes;
    case "client-list":
      if (text?.split("\n").filter((l) => l.length > 0).every((l) => /^id=\d+ addr=\S+ /.test(l))) return Buffer.from("<client list>");
      return bytes;
    case "hello": {
      const items = "items" in reply ? reply.items : null;
      if (!items) return bytes;
      const out = items.map((item, i) => {
        if (i % 2 === 0) return item;
        const key = replyText(items[i - 1]!);
        if (key === "server" || key === "version") return { type: "$", data: Buffer.from(`<${key}>`) } as Reply;
        if (key === "id") return { type: ":", text: "<id>" } as Reply;
        return item;
      });
      return encodeReply({ type: reply.type as "*", items: out });
    }
    case "command-info": {
      if (reply.type !== "*" || !reply.items) return bytes;
      const trimmed = reply.items.map((info) => {
        if ((info.type !== "*" || !info.items) && info.type !== "_") return info;
        if (!("items" in info) || !info.items) return info;
        const [name, arity, , first, last, step] = info.items;
        return { type: "*", items: [name, arity, first, last, step].filter((x) => x !== undefined) } as Reply;
      });
      return encodeReply({ type: "*", items: trimmed });
    }
    case "count":
      return /^:[1-9]\d*\r\n$/.test(bytes.toString("latin1")) ? Buffer.from("<positive integer>") : bytes;
    case "nonempty":
      return reply.type === "*" && reply.items && reply.items.length > 0 ? Buffer.from("<non-empty array>") : bytes;
    default:
      return bytes;
  }
}

function toStep(step: Step): Exclude<Step, string | string[]> {
  return typeof step === "string" || Array.isArray(step) ? { cmd: step } : step;
}

function describe(step: Exclude<Step, string | string[]>): string {
  const on = step.on ? `[conn ${step.on}] ` : "";
  if ("cmd" in step) return on + words(step.cmd).map((w) => (/^[\x21-\x7e]+$/.test(w) ? w : JSON.stringify(w.length > 60 ? `${w.slice(0, 60)}…(${w.length})` : w))).join(" ");
  if ("raw" in step) return `${on}raw ${showBytes(Buffer.from(step.raw, "latin1"))}`;
  if ("read" in step) return `${on}(read next pushed reply)`;
  return `${on}SCAN full iteration ${step.scan.join(" ")}`;
}

async function flush(port: number): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    await c.command(["FLUSHDB"], TIMEOUT_MS);
  } catch {
    // reported by the steps that depend on it
  } finally {
    c.close();
  }
}

/** Runs one group against both servers; `expected` is redis-server, `actual` is shoal. */
export async function runGroup(group: Group, redisPort: number, shoalPort: number): Promise<GroupResult> {
  await Promise.all([flush(redisPort), flush(shoalPort)]);
  const redis = new Side("redis", redisPort);
  const shoal = new Side("shoal", shoalPort);
  const result: GroupResult = { mismatches: [], notImplemented: [], steps: 0 };
  try {
    for (const raw of group.steps) {
      const step = toStep(raw);
      result.steps++;
      const [want, got] = await Promise.all([execStep(redis, step), execStep(shoal, step)]);
      if (want.equals(got)) continue;
      const norm = "cmd" in step ? step.norm : undefined;
      if (norm === "ttl" && tolerance(want, got, 1)) continue;
      if (norm === "pttl" && tolerance(want, got, 1000)) continue;
      if (norm && norm !== "ttl" && norm !== "pttl" && normalize(norm, want).equals(normalize(norm, got))) continue;
      const name = "cmd" in step ? (words(step.cmd)[0] ?? "").toUpperCase() : "";
      if (OPTIONAL_COMMANDS.has(name) && got.toString("latin1").startsWith("-ERR unknown command")) {
        result.notImplemented.push(`${group.name}: ${describe(step)}`);
        continue;
      }
      result.mismatches.push(
        `[${group.name}] ${describe(step)}${norm ? ` (norm ${norm})` : ""}\n  redis: ${showBytes(want)}\n  shoal: ${showBytes(got)}`,
      );
    }
  } finally {
    redis.closeAll();
    shoal.closeAll();
  }
  return result;
}

/** Encodes a command for raw steps (re-exported for the group list). */
export const resp = encodeCommand;
