/**
 * redis-cli compatible presentation: reply formatting (TTY style and --raw)
 * and splitting of typed lines into arguments (sdssplitargs rules).
 */
import { RespError, RespMap, type RespReply, RespSimple } from "./resp-parser.ts";

const ESCAPES: Record<number, string> = { 92: "\\\\", 34: '\\"', 10: "\\n", 13: "\\r", 9: "\\t", 7: "\\a", 8: "\\b" };

/** Quotes bytes the way redis-cli does: printable ASCII as is, the rest as escapes. */
export function quoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    const esc = ESCAPES[b];
    if (esc !== undefined) out += esc;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `${out}"`;
}

/** Formats a reply like redis-cli on a terminal ("OK", (integer) 1, (nil), numbered arrays). Ends with a newline. */
export function formatReply(reply: RespReply, prefix = ""): string {
  if (reply instanceof RespError) return `(error) ${reply.message}\n`;
  if (reply instanceof RespSimple) return `${reply.value}\n`;
  if (reply === null) return "(nil)\n";
  if (typeof reply === "number" || typeof reply === "bigint") return `(integer) ${reply}\n`;
  if (typeof reply === "boolean") return `(${reply ? "true" : "false"})\n`;
  if (reply instanceof Uint8Array) return `${quoteBytes(reply)}\n`;
  const items: [RespReply, RespReply | undefined][] =
    reply instanceof RespMap ? reply.entries : reply.map((item): [RespReply, undefined] => [item, undefined]);
  if (items.length === 0) return reply instanceof RespMap ? "(empty hash)\n" : "(empty array)\n";
  const width = String(items.length).length;
  const inner = prefix + " ".repeat(width + 2);
  let out = "";
  items.forEach(([item, value], i) => {
    out += `${i === 0 ? "" : prefix}${String(i + 1).padStart(width)}${value === undefined ? ")" : "#"} `;
    if (value === undefined) out += formatReply(item, inner);
    else out += `${formatReply(item, inner).trimEnd()} => ${formatReply(value, inner)}`;
  });
  return out;
}

/** Formats a reply like `redis-cli --raw`: bulk bytes verbatim, one array element per line. */
export function formatRaw(reply: RespReply): string {
  if (reply instanceof RespError) return `${reply.message}\n`;
  if (reply instanceof Uint8Array) return `${new TextDecoder().decode(reply)}\n`;
  if (reply === null) return "\n";
  if (Array.isArray(reply)) return reply.map(formatRaw).join("");
  if (reply instanceof RespMap) return reply.entries.map(([k, v]) => formatRaw(k) + formatRaw(v)).join("");
  return `${String(reply)}\n`;
}

const HEX = /^[0-9a-fA-F]{2}$/;
const SIMPLE_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", a: "\x07" };

/**
 * Splits a typed line into arguments: whitespace separates, "double quotes"
 * allow \n \r \t \b \a \xHH escapes (\xHH is one raw byte), 'single quotes'
 * allow \'. Returns null on unbalanced quotes or a closing quote not followed
 * by a space (redis-cli's "Invalid argument(s)").
 */
export function splitArgs(line: string): Uint8Array[] | null {
  const enc = new TextEncoder();
  const args: Uint8Array[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) return args;
    const bytes: number[] = [];
    const add = (text: string) => {
      for (const b of enc.encode(text)) bytes.push(b);
    };
    let quote: '"' | "'" | null = null;
    let done = false;
    while (!done) {
      let c = line[i];
      if (c !== undefined && c >= "\ud800" && c <= "\udbff") c = line.slice(i, ++i + 1); // keep surrogate pairs whole
      if (quote === '"') {
        if (c === undefined) return null;
        if (c === "\\" && line[i + 1] === "x" && HEX.test(line.slice(i + 2, i + 4))) {
          bytes.push(Number.parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === "\\" && i + 1 < line.length) {
          const next = line[++i]!;
          add(SIMPLE_ESCAPES[next] ?? next);
        } else if (c === '"') {
          if (i + 1 < line.length && !/\s/.test(line[i + 1]!)) return null;
          done = true;
        } else add(c);
      } else if (quote === "'") {
        if (c === undefined) return null;
        if (c === "\\" && line[i + 1] === "'") {
          add("'");
          i++;
        } else if (c === "'") {
          if (i + 1 < line.length && !/\s/.test(line[i + 1]!)) return null;
          done = true;
        } else add(c);
      } else if (c === undefined || /\s/.test(c)) {
        done = true;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else add(c);
      i++;
    }
    args.push(Uint8Array.from(bytes));
  }
}
