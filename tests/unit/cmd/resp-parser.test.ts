import { expect, test } from "bun:test";
import { encodeCommand, RespError, RespMap, RespParser, type RespReply, RespSimple } from "../../../cmd/resp-parser.ts";

const b = (s: string) => new TextEncoder().encode(s);

function parseAll(text: string, chunk: number): RespReply[] {
  const parser = new RespParser();
  const bytes = b(text);
  const out: RespReply[] = [];
  for (let i = 0; i < bytes.length; i += chunk) {
    parser.push(bytes.slice(i, i + chunk));
    for (let r = parser.next(); r !== undefined; r = parser.next()) out.push(r);
  }
  return out;
}

const WIRE = "+OK\r\n-ERR bad\r\n:42\r\n:-7\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n*0\r\n*2\r\n*1\r\n$1\r\nx\r\n$0\r\n\r\n_\r\n#t\r\n%1\r\n+k\r\n:1\r\n:12345678901234567890\r\n";

test("every reply type, whatever the chunking", () => {
  const expected = [
    new RespSimple("OK"),
    new RespError("ERR bad"),
    42,
    -7,
    b("he\r\no"),
    null,
    null,
    [],
    [[b("x")], b("")],
    null,
    true,
    new RespMap([[new RespSimple("k"), 1]]),
    12345678901234567890n,
  ];
  for (const chunk of [1, 2, 3, 7, 1000]) expect(parseAll(WIRE, chunk)).toEqual(expected);
});

test("incomplete input waits for more", () => {
  const p = new RespParser();
  p.push(b("*2\r\n$3\r\nfoo\r\n"));
  expect(p.next()).toBeUndefined();
  p.push(b("$3\r\nbar\r\n"));
  expect(p.next()).toEqual([b("foo"), b("bar")]);
  expect(p.next()).toBeUndefined();
});

test("unknown type byte is an error", () => {
  const p = new RespParser();
  p.push(b("?x\r\n"));
  expect(() => p.next()).toThrow("unexpected RESP type byte");
});

test("encodeCommand writes bulk arrays, bytes verbatim", () => {
  expect(new TextDecoder().decode(encodeCommand(["SET", "k", 12]))).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n");
  const enc = encodeCommand([new Uint8Array([0, 255])]);
  expect(Array.from(enc.slice(-4))).toEqual([0, 255, 13, 10]);
});
