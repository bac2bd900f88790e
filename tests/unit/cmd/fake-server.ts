/** A tiny in-process RESP server for client tests: PING, SET, GET, INCR, DEL, STATS, INFO, ECHO, AUTH, LIST. */
import { encodeCommand, RespParser, type RespReply } from "../../../cmd/resp-parser.ts";

const dec = new TextDecoder();
const bulk = (b: Uint8Array | string) => {
  const bytes = typeof b === "string" ? new TextEncoder().encode(b) : b;
  return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n")]);
};

export interface FakeServer {
  port: number;
  commands: string[][];
  stop(): void;
}

/** Starts the fake on a free loopback port. `password` makes every command but AUTH require auth. */
export function startFakeServer(password?: string): FakeServer {
  const data = new Map<string, Uint8Array>();
  const commands: string[][] = [];
  const handle = (args: Uint8Array[], state: { authed: boolean }): Uint8Array | string => {
    const words = args.map((a) => dec.decode(a));
    commands.push(words);
    const name = words[0]!.toUpperCase();
    if (name === "AUTH") {
      state.authed = words[1] === password;
      return state.authed ? "+OK\r\n" : "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    }
    if (password !== undefined && !state.authed) return "-NOAUTH Authentication required.\r\n";
    switch (name) {
      case "PING":
        return "+PONG\r\n";
      case "ECHO":
        return bulk(args[1]!);
      case "SET":
        data.set(words[1]!, args[2]!);
        return "+OK\r\n";
      case "GET": {
        const v = data.get(words[1]!);
        return v === undefined ? "$-1\r\n" : bulk(v);
      }
      case "INCR": {
        const n = Number(dec.decode(data.get(words[1]!) ?? new Uint8Array([48]))) + 1;
        data.set(words[1]!, new TextEncoder().encode(String(n)));
        return `:${n}\r\n`;
      }
      case "DEL":
        return `:${data.delete(words[1]!) ? 1 : 0}\r\n`;
      case "LIST":
        return "*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n*0\r\n";
      case "BIG": {
        const n = Number(words[1] ?? 1000);
        return `*${n}\r\n${Array.from({ length: n }, (_, i) => `$${String(i).length}\r\n${i}\r\n`).join("")}`;
      }
      case "STATS":
        return bulk(JSON.stringify({ member: { name: "fake", port: 1 }, uptimeSeconds: 3725, keys: data.size, memoryBytes: 2048, hits: 3, misses: 1, evictions: 0, expirations: 0, connections: { current: 1, total: 2 }, commands: { get: 4, set: 2 }, dmaps: { default: { length: data.size, inuse: 2048 } } }));
      case "INFO":
        return bulk("# Server\r\nredis_version:7.0.15\r\n");
      default:
        return `-ERR unknown command '${words[0]}'\r\n`;
    }
  };
  const server = Bun.listen<{ parser: RespParser; state: { authed: boolean } }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { parser: new RespParser(), state: { authed: false } };
      },
      data(s, chunk) {
        s.data.parser.push(chunk);
        for (let cmd = s.data.parser.next(); cmd !== undefined; cmd = s.data.parser.next()) {
          s.write(handle(cmd as Uint8Array[], s.data.state));
        }
      },
    },
  });
  return { port: server.port, commands, stop: () => server.stop(true) };
}

/** Collects what a subcommand writes. */
export function captureIO(env: Record<string, string> = {}, input: string[] = []) {
  const io = {
    stdout: "",
    stderr: "",
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
    env,
    async *lines() {
      for (const line of input) yield line;
    },
  };
  return io;
}

export type { RespReply };
export { encodeCommand };
