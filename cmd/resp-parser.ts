/**
 * Incremental RESP reply parser and command encoder for shoal's own clients
 * (cli, stats, bench). Understands RESP2 and the common RESP3 types.
 */

/** A simple-string reply (`+OK`), kept apart from bulk strings for display. */
export class RespSimple {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** An error reply (`-ERR …`); returned as a value, not thrown, by the parser. */
export class RespError {
  constructor(readonly message: string) {}
  toString(): string {
    return this.message;
  }
}

/** RESP3 map reply, kept as ordered pairs. */
export class RespMap {
  constructor(readonly entries: [RespReply, RespReply][]) {}
}

/** A parsed reply. Bulk strings are bytes; integers are numbers (bigint past 2^53). */
export type RespReply = RespSimple | RespError | RespMap | number | bigint | boolean | Uint8Array | null | RespReply[];

const NEED = Symbol("need more bytes");
const CR = 13;
const dec = new TextDecoder();
const enc = new TextEncoder();

/** Feeds chunks in, pulls complete replies out. */
export class RespParser {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;

  /** Appends bytes read from the socket. */
  push(chunk: Uint8Array): void {
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      const rest = this.buf.subarray(this.pos);
      const joined = new Uint8Array(rest.length + chunk.length);
      joined.set(rest);
      joined.set(chunk, rest.length);
      this.buf = joined;
    }
    this.pos = 0;
  }

  /** The next complete reply, or undefined when more bytes are needed. */
  next(): RespReply | undefined {
    const start = this.pos;
    const value = this.read(0);
    if (value === NEED) {
      this.pos = start;
      return undefined;
    }
    return value;
  }

  private line(): string | typeof NEED {
    const buf = this.buf;
    for (let i = this.pos; i + 1 < buf.length; i++) {
      if (buf[i] === CR && buf[i + 1] === 10) {
        const text = dec.decode(buf.subarray(this.pos, i));
        this.pos = i + 2;
        return text;
      }
    }
    return NEED;
  }

  private read(depth: number): RespReply | typeof NEED {
    if (this.pos >= this.buf.length) return NEED;
    if (depth > 512) throw new Error("reply nested too deeply");
    const type = String.fromCharCode(this.buf[this.pos]!);
    this.pos++;
    const text = this.line();
    if (text === NEED) return NEED;
    switch (type) {
      case "+":
        return new RespSimple(text);
      case "-":
        return new RespError(text);
      case ":": {
        const n = Number(text);
        return Number.isSafeInteger(n) ? n : BigInt(text);
      }
      case "_":
        return null;
      case "#":
        return text === "t";
      case ",":
        return new RespSimple(text);
      case "(":
        return BigInt(text);
      case "$":
      case "=":
      case "!": {
        const len = Number(text);
        if (len < 0) return null;
        if (this.pos + len + 2 > this.buf.length) return NEED;
        const bytes = this.buf.slice(this.pos, this.pos + len);
        this.pos += len + 2;
        return type === "!" ? new RespError(dec.decode(bytes)) : bytes;
      }
      case "*":
      case "~":
      case ">": {
        const len = Number(text);
        if (len < 0) return null;
        const items: RespReply[] = [];
        for (let i = 0; i < len; i++) {
          const item = this.read(depth + 1);
          if (item === NEED) return NEED;
          items.push(item);
        }
        return items;
      }
      case "%":
      case "|": {
        const len = Number(text);
        const entries: [RespReply, RespReply][] = [];
        for (let i = 0; i < len; i++) {
          const k = this.read(depth + 1);
          if (k === NEED) return NEED;
          const v = this.read(depth + 1);
          if (v === NEED) return NEED;
          entries.push([k, v]);
        }
        if (type === "|") return this.read(depth);
        return new RespMap(entries);
      }
      default:
        throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
    }
  }
}

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly (string | number | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = [enc.encode(`*${args.length}\r\n`)];
  let size = parts[0]!.length;
  for (const arg of args) {
    const bytes = arg instanceof Uint8Array ? arg : enc.encode(String(arg));
    const head = enc.encode(`$${bytes.length}\r\n`);
    parts.push(head, bytes, enc.encode("\r\n"));
    size += head.length + bytes.length + 2;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A reply as text: bulk bytes decoded as UTF-8, simple strings unwrapped; for scripts. */
export function replyText(reply: RespReply): string {
  if (reply instanceof Uint8Array) return dec.decode(reply);
  if (reply === null) return "";
  if (Array.isArray(reply)) return reply.map(replyText).join("\n");
  if (reply instanceof RespMap) return reply.entries.map(([k, v]) => `${replyText(k)}: ${replyText(v)}`).join("\n");
  return String(reply);
}
