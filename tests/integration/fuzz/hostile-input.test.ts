/**
 * Targeted hostile-input cases from the issue: bad options that hang or
 * crash Olric, keys at and past the size limit, oversized values, deep
 * nesting and huge headers, max clients, and half-frame clients closed by
 * the frame timeout. After each case the node must still answer and hold
 * its data.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sleep } from "../../helpers/ports.ts";
import { type ServerProcess, startShoal } from "../../helpers/processes.ts";
import { RawClient } from "../../helpers/raw-client.ts";

const KEY_LIMIT = 64 * 1024;

let node: ServerProcess;
beforeAll(async () => {
  node = await startShoal({ args: ["--frame-timeout", "1s", "--max-value-bytes", "1mb"] });
  const c = await RawClient.connect(node.port);
  expect(await c.call(["SET", "keep", "me"])).toBe("+OK\r\n");
  c.close();
});
afterAll(async () => {
  await node?.stop();
});

/** A fresh connection still answers PING and still has the key written in beforeAll. */
async function expectHealthy(): Promise<void> {
  const c = await RawClient.connect(node.port);
  try {
    expect(await c.call(["PING"])).toBe("+PONG\r\n");
    expect(await c.call(["GET", "keep"])).toBe("$2\r\nme\r\n");
  } finally {
    c.close();
  }
}

describe("bad options get an error reply, not a hang", () => {
  const cases: string[][] = [
    ["DM.LOCK", "m", "k", "10", "EX"],
    ["DM.LOCK", "m", "k", "10", "PX"],
    ["DM.LOCK", "m", "k", "abc"],
    ["DM.SCAN", "0", "m", "0", "FOO"],
    ["DM.SCAN", "0", "m", "abc"],
    ["DM.SCAN", "0", "m", "0", "COUNT"],
    ["DM.SCAN", "0", "m", "0", "COUNT", "-1"],
    ["DM.SCAN", "0", "m", "0", "MATCH"],
    ["DM.PUT", "m", "k"],
    ["DM.PUT", "m", "k", "v", "EX"],
    ["DM.PUT", "m", "k", "v", "EX", "-1"],
    ["DM.PUT", "m", "k", "v", "NX", "XX"],
    ["DM.PUT", "m", "k", "v", "FOO"],
    ["DM.UNLOCK", "m", "k"],
    ["DM.LOCKLEASE", "m", "k", "token"],
    ["DM.EXPIRE", "m", "k", "abc"],
    ["DM.INCR", "m", "k", "abc"],
    ["DM.INCRBYFLOAT", "m", "k", "nan"],
    ["SET", "k", "v", "EX"],
    ["SCAN", "0", "COUNT", "0"],
  ];
  for (const args of cases) {
    test(args.join(" "), async () => {
      const c = await RawClient.connect(node.port);
      try {
        const reply = await c.call(args, 3000);
        expect(reply.startsWith("-")).toBe(true);
        expect(reply.endsWith("\r\n")).toBe(true);
        expect(await c.call(["PING"])).toBe("+PONG\r\n");
      } finally {
        c.close();
      }
    });
  }
});

describe("size limits", () => {
  test(`key of exactly ${KEY_LIMIT} bytes is accepted, one byte more is refused`, async () => {
    const c = await RawClient.connect(node.port);
    try {
      const atLimit = "k".repeat(KEY_LIMIT);
      expect(await c.call(["SET", atLimit, "v"])).toBe("+OK\r\n");
      expect(await c.call(["GET", atLimit])).toBe("$1\r\nv\r\n");
      const past = "k".repeat(KEY_LIMIT + 1);
      expect((await c.call(["SET", past, "v"])).startsWith("-")).toBe(true);
      expect((await c.call(["DM.PUT", "m", past, "v"])).startsWith("-")).toBe(true);
      expect(await c.call(["EXISTS", past])).toBe(":0\r\n");
      expect(await c.call(["PING"])).toBe("+PONG\r\n");
    } finally {
      c.close();
    }
    await expectHealthy();
  });

  test("value past --max-value-bytes gets an error or a closed connection, and nothing is stored", async () => {
    const c = await RawClient.connect(node.port);
    const big = Buffer.alloc(1024 * 1024 + 1, 0x61);
    let reply = "";
    try {
      reply = await c.call(["SET", "toobig", big], 5000);
    } catch {
      reply = "<closed>";
    }
    c.close();
    expect(reply === "<closed>" || reply.startsWith("-")).toBe(true);
    const d = await RawClient.connect(node.port);
    expect(await d.call(["EXISTS", "toobig"])).toBe(":0\r\n");
    expect(await d.call(["SET", "fits", Buffer.alloc(1024 * 1024, 0x62)])).toBe("+OK\r\n");
    expect((await d.command(["GET", "fits"])).length).toBe("$1048576\r\n".length + 1024 * 1024 + 2);
    d.close();
    await expectHealthy();
  });
});

describe("pathological frames", () => {
  const frames: [string, string][] = [
    ["bulk length -5", "*1\r\n$-5\r\n"],
    ["bulk length 99999999999", "*1\r\n$99999999999\r\n"],
    ["array of 1,000,000,000", "*1000000000\r\n$4\r\nPING\r\n"],
    ["arrays nested 10,000 deep", `${"*1\r\n".repeat(10_000)}$4\r\nPING\r\n`],
    ["array count not a number", "*abc\r\n"],
    ["binary garbage", "\x00\xff\xfe\x01\r\n\x80\x81"],
    ["inline line of 100 KiB", `${"A".repeat(100 * 1024)}\r\n`],
  ];
  for (const [name, bytes] of frames) {
    test(`${name}: error reply or closed connection, node unaffected`, async () => {
      const c = await RawClient.connect(node.port);
      const bystander = await RawClient.connect(node.port);
      c.send(bytes);
      let reply = "";
      try {
        reply = (await c.readReply(3000)).toString("latin1");
      } catch {
        reply = c.isClosed ? "<closed>" : "<waiting>";
      }
      // a server may legitimately keep waiting for the rest of a huge frame; it must not crash
      expect(reply === "<closed>" || reply === "<waiting>" || reply.startsWith("-")).toBe(true);
      expect(await bystander.call(["GET", "keep"])).toBe("$2\r\nme\r\n");
      c.close();
      bystander.close();
      await expectHealthy();
    });
  }
});

describe("slow clients", () => {
  test("a client that stalls mid-frame is closed after --frame-timeout (1s); an idle client is not", async () => {
    const half = await RawClient.connect(node.port);
    const idle = await RawClient.connect(node.port);
    expect(await idle.call(["PING"])).toBe("+PONG\r\n");
    half.send("*2\r\n$3\r\nGET\r\n$4\r\nke");
    expect(await half.waitClosed(8000)).toBe(true);
    await sleep(300);
    expect(idle.isClosed).toBe(false);
    expect(await idle.call(["GET", "keep"])).toBe("$2\r\nme\r\n");
    idle.close();
  });
});

describe("max clients", () => {
  let small: ServerProcess;
  beforeAll(async () => {
    small = await startShoal({ args: ["--max-clients", "20", "--max-key-bytes", "1kb"] });
  });
  afterAll(async () => {
    await small?.stop();
  });

  test("--max-key-bytes 1kb: a 1024-byte key is stored, 1025 bytes is refused", async () => {
    const c = await RawClient.connect(small.port);
    try {
      expect(await c.call(["SET", "k".repeat(1024), "v"])).toBe("+OK\r\n");
      expect((await c.call(["SET", "k".repeat(1025), "v"])).startsWith("-")).toBe(true);
      expect((await c.call(["DM.PUT", "m", "k".repeat(1025), "v"])).startsWith("-")).toBe(true);
      expect(await c.call(["DBSIZE"])).toBe(":1\r\n");
    } finally {
      c.close();
    }
  });

  test("with --max-clients 20, 25 connections give 20 PONGs and 5 clear errors; a new client works after", async () => {
    // wait until our probe is the only client (the readiness probe's connection has been reaped)
    const probe = await RawClient.connect(small.port);
    let clients = -1;
    for (let i = 0; i < 100 && clients !== 1; i++) {
      const info = await probe.call(["INFO", "clients"]);
      clients = Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? -1);
      if (clients !== 1) await sleep(50);
    }
    expect(clients).toBe(1);
    const conns: RawClient[] = [probe];
    for (let i = 0; i < 24; i++) conns.push(await RawClient.connect(small.port));
    const replies = await Promise.all(
      conns.map(async (c) => {
        try {
          return await c.call(["PING"], 3000);
        } catch {
          return c.isClosed ? "<closed>" : "<timeout>";
        }
      }),
    );
    const pongs = replies.filter((r) => r === "+PONG\r\n").length;
    const refused = replies.filter((r) => r === "-ERR max number of clients reached\r\n").length;
    expect({ pongs, refused, total: pongs + refused }).toEqual({ pongs: 20, refused: 5, total: 25 });
    for (const c of conns) c.close();
    let again = false;
    for (let i = 0; i < 40 && !again; i++) {
      await sleep(50);
      const c = await RawClient.connect(small.port);
      again = (await c.call(["PING"]).catch(() => "")) === "+PONG\r\n";
      c.close();
    }
    expect(again).toBe(true);
  });
});
