/**
 * RESP helpers for tests: encode commands as RESP arrays, find where one
 * reply ends in a byte stream, parse replies into a tree, re-encode a tree
 * and print bytes readably. Covers RESP2 and RESP3 reply types.
 */

/** One parsed reply. `type` is the RESP type byte (`+ - : $ * _ , # ( = % ~ > |`). */
export type Reply =
  | { type: "+" | "-" | ":" | "," | "(" | "#"; text: string }
  | { type: "$" | "="; data: Buffer | null }
  | { type: "*" | "~" | ">" | "%" | "|"; items: Reply[] | null }
  | { type: "_" };

const CRLF = Buffer.from("\r\n");

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg) : Buffer.from(arg);
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

function lineEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf(CRLF, from);
  return i;
}

/**
 * Returns the offset just past one complete reply starting at `offset`, or -1
 * when the buffer does not hold a complete reply yet. Throws on a byte that
 * starts no RESP type (the peer sent something that is not RESP).
 */
export function replyEnd(buf: Buffer, offset = 0): number {
  if (offset >= buf.length) return -1;
  const type = String.fromCharCode(buf[offset]!);
  const eol = lineEnd(buf, offset + 1);
  if (eol < 0) return -1;
  const header = buf.toString("latin1", offset + 1, eol);
  const next = eol + 2;
  switch (type) {
    case "+":
    case "-":
    case ":":
    case ",":
    case "(":
    case "#":
    case "_":
      return next;
    case "$":
    case "=":
    case "!": {
      const len = Number(header);
      if (len < 0) return next;
      return buf.length >= next + len + 2 ? next + len + 2 : -1;
    }
    case "*":
    case "~":
    case ">":
    case "%":
    case "|": {
      const n = Number(header);
      if (n < 0) return next;
      const count = type === "%" || type === "|" ? n * 2 : n;
      let at = next;
      for (let i = 0; i < count; i++) {
        at = replyEnd(buf, at);
        if (at < 0) return -1;
      }
      // An attribute (`|`) is followed by the reply it annotates.
      return type === "|" ? replyEnd(buf, at) : at;
    }
    default:
      throw new Error(`not a RESP reply: ${showBytes(buf.subarray(offset, offset + 40))}`);
  }
}

/** Parses one complete reply (as delimited by {@link replyEnd}). */
export function parseReply(buf: Buffer): Reply {
  const [reply] = parseAt(buf, 0);
  return reply;
}

function parseAt(buf: Buffer, offset: number): [Reply, number] {
  const type = String.fromCharCode(buf[offset]!);
  const eol = lineEnd(buf, offset + 1);
  const header = buf.toString("utf8", offset + 1, eol);
  const next = eol + 2;
  switch (type) {
    case "+":
    case "-":
    case ":":
    case ",":
    case "(":
    case "#":
      return [{ type, text: header }, next];
    case "_":
      return [{ type: "_" }, next];
    case "$":
    case "=": {
      const len = Number(header);
      if (len < 0) return [{ type, data: null }, next];
      return [{ type, data: Buffer.from(buf.subarray(next, next + len)) }, next + len + 2];
    }
    case "*":
    case "~":
    case ">":
    case "%":
    case "|": {
      const n = Number(header);
      if (n < 0) return [{ type, items: null }, next];
      const count = type === "%" || type === "|" ? n * 2 : n;
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const [item, end] = parseAt(buf, at);
        items.push(item);
        at = end;
      }
      return [{ type, items }, at];
    }
    default:
      throw new Error(`not a RESP reply: ${showBytes(buf.subarray(offset, offset + 40))}`);
  }
}

/** Encodes a reply tree back to bytes (inverse of {@link parseReply}). */
export function encodeReply(reply: Reply): Buffer {
  switch (reply.type) {
    case "_":
      return Buffer.from("_\r\n");
    case "$":
    case "=":
      if (reply.data === null) return Buffer.from(`${reply.type}-1\r\n`);
      return Buffer.concat([Buffer.from(`${reply.type}${reply.data.length}\r\n`), reply.data, CRLF]);
    case "*":
    case "~":
    case ">":
    case "%":
    case "|": {
      if (reply.items === null) return Buffer.from(`${reply.type}-1\r\n`);
      const n = reply.type === "%" || reply.type === "|" ? reply.items.length / 2 : reply.items.length;
      return Buffer.concat([Buffer.from(`${reply.type}${n}\r\n`), ...reply.items.map(encodeReply)]);
    }
    default:
      return Buffer.from(`${reply.type}${reply.text}\r\n`);
  }
}

/** Text of a simple/bulk reply, or null. */
export function replyText(reply: Reply): string | null {
  if ("text" in reply) return reply.text;
  if ("data" in reply) return reply.data === null ? null : reply.data.toString("utf8");
  return null;
}

/** Bytes as a JSON-ish string with \r\n and non-printables escaped; long input is elided in the middle. */
export function showBytes(bytes: Uint8Array, max = 400): string {
  let out = "";
  const b = Buffer.from(bytes);
  const view = b.length > max ? Buffer.concat([b.subarray(0, max / 2), b.subarray(b.length - max / 2)]) : b;
  for (let i = 0; i < view.length; i++) {
    if (b.length > max && i === max / 2) out += `…(${b.length - max} bytes elided)…`;
    const c = view[i]!;
    if (c === 0x0d) out += "\\r";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x22) out += '\\"';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return `"${out}"`;
}
