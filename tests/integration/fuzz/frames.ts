/**
 * fast-check arbitraries for hostile RESP input: valid commands with random
 * arguments, mutated frames (truncated, flipped, bad lengths), inline
 * commands, binary garbage and pathological headers (deep nesting, huge
 * counts). The command vocabulary leaves out anything that would wipe or
 * reconfigure the node (FLUSHDB, FLUSHALL, DM.DESTROY, CONFIG SET, SHUTDOWN,
 * DEBUG, CLIENT KILL/PAUSE), so data written before the fuzz must survive.
 */
import fc from "fast-check";
import { encodeCommand } from "../../helpers/resp.ts";

const COMMANDS = [
  "PING", "ECHO", "SET", "GET", "DEL", "UNLINK", "EXISTS", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "TTL", "PTTL",
  "PERSIST", "INCR", "INCRBY", "DECR", "DECRBY", "INCRBYFLOAT", "GETSET", "GETDEL", "GETEX", "MGET", "MSET", "MSETNX",
  "SETNX", "SCAN", "KEYS", "DBSIZE", "TYPE", "INFO", "CONFIG", "CLIENT", "HELLO", "COMMAND", "AUTH", "SELECT", "QUIT",
  "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "DM.PUT", "DM.GET", "DM.DEL", "DM.EXPIRE",
  "DM.PEXPIRE", "DM.INCR", "DM.DECR", "DM.INCRBYFLOAT", "DM.GETPUT", "DM.LOCK", "DM.UNLOCK", "DM.LOCKLEASE", "DM.SCAN",
  "STATS", "CLUSTER.MEMBERS", "CLUSTER.ROUTINGTABLE", "CLUSTER", "MULTI", "EXEC", "WATCH",
];

const TOKENS = [
  "EX", "PX", "EXAT", "PXAT", "NX", "XX", "GT", "LT", "KEEPTTL", "GET", "PERSIST", "MATCH", "COUNT", "TYPE", "*", "?",
  "[", "0", "-1", "-5", "1", "10", "1.5", "abc", "nan", "inf", "-inf", "9223372036854775807", "9223372036854775808",
  "-9223372036854775809", "99999999999999999999", "1e308", "", "m", "k", "fz:key", "fz:map", "SETNAME", "ID", "LIST",
  "INFO", "GETNAME", "3", "2", "4", "default", "FOO", "\r\n", "\x00",
];

/** A command name: mostly known, sometimes random or oddly cased. */
const commandName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...COMMANDS) },
  { weight: 1, arbitrary: fc.constantFrom(...COMMANDS).map((c) => c.toLowerCase()) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

/** One argument: option tokens, numbers, text or bytes. Random keys use the fz: prefix or are random. */
const argument: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...TOKENS) },
  { weight: 2, arbitrary: fc.integer().map(String) },
  { weight: 2, arbitrary: fc.string({ maxLength: 24 }).map((s) => `fz:${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

/** A well-formed RESP command frame. */
export const validFrame = fc.tuple(commandName, fc.array(argument, { maxLength: 7 })).map(([name, args]) => encodeCommand([name, ...args]));

type Mutation = (frame: Buffer) => Buffer;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((n) => (f: Buffer) => f.subarray(0, n % Math.max(1, f.length))),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, b]) => (f: Buffer) => {
    const out = Buffer.from(f);
    if (out.length > 0) out[i % out.length] = b;
    return out;
  }),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, bytes]) => (f: Buffer) => {
    const at = i % (f.length + 1);
    return Buffer.concat([f.subarray(0, at), bytes, f.subarray(at)]);
  }),
  fc.constantFrom("$-5", "$-1", "$99999999999", "$abc", "$", "$1", "$0", "$-0", "$+3").map((h) => (f: Buffer) => {
    return Buffer.from(f.toString("latin1").replace(/\$\d+/, h), "latin1");
  }),
  fc.constantFrom("*1000000000", "*-5", "*-1", "*0", "*abc", "*", "*99999999999999").map((h) => (f: Buffer) => {
    return Buffer.from(f.toString("latin1").replace(/^\*\d+/, h), "latin1");
  }),
  fc.constant((f: Buffer) => Buffer.concat([f, f])),
  fc.constant((f: Buffer) => Buffer.from(f.toString("latin1").replaceAll("\r\n", "\n"), "latin1")),
  fc.constantFrom(":", "+", "-", "_", "%", "~", ">", "#", ",").map((t) => (f: Buffer) => {
    const s = f.toString("latin1");
    const i = s.indexOf("$", 1);
    return Buffer.from(i < 0 ? s : s.slice(0, i) + t + s.slice(i + 1), "latin1");
  }),
);

/** A valid frame with one or two mutations applied. */
export const mutatedFrame = fc.tuple(validFrame, fc.array(mutation, { minLength: 1, maxLength: 2 })).map(([frame, ms]) => ms.reduce((f, m) => m(f), frame));

/** An inline (telnet-style) command line. */
export const inlineFrame = fc
  .tuple(commandName, fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 12 }), fc.constant('"unbalanced')), { maxLength: 5 }))
  .map(([n, a]) => Buffer.from(`${[n, ...a].join(" ")}\r\n`, "latin1"));

/** Pathological frames from the issue: huge lengths and counts, 10,000-deep nesting. */
export const nastyFrame = fc.constantFrom(
  Buffer.from("*1\r\n$-5\r\n"),
  Buffer.from("*1\r\n$99999999999\r\n"),
  Buffer.from("*1000000000\r\n"),
  Buffer.from("*1000000000\r\n$3\r\nSET\r\n"),
  Buffer.from(`${"*1\r\n".repeat(10_000)}$4\r\nPING\r\n`),
  Buffer.from(`${"*2\r\n".repeat(10_000)}`),
  Buffer.from("*2\r\n$3\r\nGET\r\n$100000000\r\nabc"),
  Buffer.from("$5\r\nhello\r\n"),
  Buffer.from(":1\r\n"),
  Buffer.from("\r\n\r\n\r\n"),
  Buffer.from(`${"A".repeat(70_000)}\r\n`),
  Buffer.from("*3\r\n$3\r\nSET\r\n$2\r\nfz\r\n"),
);

/** Any hostile frame. */
export const anyFrame: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: validFrame },
  { weight: 5, arbitrary: mutatedFrame },
  { weight: 2, arbitrary: inlineFrame },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: nastyFrame },
);
