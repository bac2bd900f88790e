import { describe, expect, test } from "bun:test";
import { formatRaw, formatReply, quoteBytes, splitArgs } from "../../../cmd/cli-format.ts";
import { RespError, RespMap, RespSimple } from "../../../cmd/resp-parser.ts";

const b = (s: string) => new TextEncoder().encode(s);
const words = (line: string) => splitArgs(line)?.map((a) => new TextDecoder().decode(a)) ?? null;

describe("formatReply (redis-cli TTY style)", () => {
  test("scalars", () => {
    expect(formatReply(new RespSimple("OK"))).toBe("OK\n");
    expect(formatReply(1)).toBe("(integer) 1\n");
    expect(formatReply(null)).toBe("(nil)\n");
    expect(formatReply(b("hello world"))).toBe('"hello world"\n');
    expect(formatReply(new RespError("ERR unknown command"))).toBe("(error) ERR unknown command\n");
    expect(formatReply([])).toBe("(empty array)\n");
  });
  test("bytes are escaped like redis-cli", () => {
    expect(quoteBytes(new Uint8Array([0x61, 0x0a, 0x22, 0x5c, 0x00, 0xff]))).toBe('"a\\n\\"\\\\\\x00\\xff"');
  });
  test("numbered and nested arrays align like redis-cli", () => {
    expect(formatReply([b("0"), [b("a"), b("b")]])).toBe('1) "0"\n2) 1) "a"\n   2) "b"\n');
    const ten = Array.from({ length: 10 }, (_, i) => i);
    expect(formatReply(ten).split("\n")[0]).toBe(" 1) (integer) 0");
    expect(formatReply(ten).split("\n")[9]).toBe("10) (integer) 9");
    expect(formatReply([[1, [2]]])).toBe("1) 1) (integer) 1\n   2) 1) (integer) 2\n");
  });
  test("RESP3 maps", () => {
    expect(formatReply(new RespMap([[b("a"), 1]]))).toBe('1# "a" => (integer) 1\n');
  });
  test("raw mode", () => {
    expect(formatRaw([b("a"), 1, null])).toBe("a\n1\n\n");
    expect(formatRaw(new RespSimple("OK"))).toBe("OK\n");
  });
});

describe("splitArgs (redis-cli quoting)", () => {
  test.each([
    ["set k v", ["set", "k", "v"]],
    ["  get   k  ", ["get", "k"]],
    ['set k "a b"', ["set", "k", "a b"]],
    ["set k 'it\\'s'", ["set", "k", "it's"]],
    ['set k "line\\nnext"', ["set", "k", "line\nnext"]],
    ['echo ""', ["echo", ""]],
    ["", []],
  ])("%p", (line, expected) => expect(words(line)).toEqual(expected));
  test("\\xHH is one raw byte; other text is UTF-8", () => {
    expect(Array.from(splitArgs('"\\xff\\x00"')![0]!)).toEqual([0xff, 0x00]);
    expect(new TextDecoder().decode(splitArgs("café 🐟")![1]!)).toBe("🐟");
    expect(Array.from(splitArgs("é")![0]!)).toEqual([0xc3, 0xa9]);
  });
  test.each(['"open', "'open", '"a"b'])("invalid: %p", (line) => expect(splitArgs(line)).toBeNull());
});
