import { describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A session on a real node whose socket side is captured in memory. */
function client(node = new ShoalNode({ clock: systemClock, rng: new SeededRng(7) })) {
  const out: string[] = [];
  let closed = false;
  const s = new ClientSession(node, {
    remote: "127.0.0.1:1",
    write: (b) => out.push(dec.decode(b)),
    close: () => {
      closed = true;
    },
  });
  return {
    node,
    s,
    send: (x: string | Uint8Array) => s.onData(typeof x === "string" ? enc.encode(x) : x),
    out: () => out.join(""),
    closed: () => closed,
  };
}

const resp = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${enc.encode(a).length}\r\n${a}\r\n`).join("")}`;

describe("ClientSession", () => {
  test("a pipeline split at every byte boundary gives the same replies", () => {
    const script = resp("SET", "k", "hello") + resp("GET", "k") + resp("INCR", "n") + resp("MGET", "k", "n", "x") + "PING\r\n";
    const whole = client();
    whole.send(script);
    const expected = whole.out();
    expect(expected).toBe("+OK\r\n$5\r\nhello\r\n:1\r\n*3\r\n$5\r\nhello\r\n$1\r\n1\r\n$-1\r\n+PONG\r\n");
    for (let cut = 1; cut < script.length; cut++) {
      const c = client();
      c.send(script.slice(0, cut));
      c.send(script.slice(cut));
      expect(c.out()).toBe(expected);
    }
    const bytes = client();
    for (const ch of script) bytes.send(ch);
    expect(bytes.out()).toBe(expected);
  });

  test("inline commands with quotes", () => {
    const c = client();
    c.send('SET "a key" \'v 1\'\r\nGET "a key"\r\n');
    expect(c.out()).toBe("+OK\r\n$3\r\nv 1\r\n");
  });

  test.each([
    ["*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$99999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ["*2\r\n*1\r\n", "-ERR Protocol error: expected '$', got '*'\r\n"],
    ["*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ['SET "abc\r\n', "-ERR Protocol error: unbalanced quotes in request\r\n"],
  ])("protocol error %j closes the connection", (input, reply) => {
    const c = client();
    c.send(resp("SET", "keep", "me"));
    c.send(input);
    expect(c.out()).toBe(`+OK\r\n${reply}`);
    expect(c.closed()).toBe(true);
    const other = client(c.node);
    other.send(resp("GET", "keep"));
    expect(other.out()).toBe("$2\r\nme\r\n");
  });

  test("deep nesting is refused without recursion", () => {
    const c = client();
    c.send("*1\r\n".repeat(10_000));
    expect(c.out()).toContain("Protocol error");
    expect(c.closed()).toBe(true);
  });

  test("wrong arity, unknown command and too-large key get Redis errors and the session goes on", () => {
    const c = client(new ShoalNode({ config: { maxKeyBytes: 8 }, clock: systemClock, rng: new SeededRng(1) }));
    c.send(resp("GET") + resp("NOPE", "a") + resp("SET", "123456789", "v") + resp("PING"));
    expect(c.out()).toBe(
      "-ERR wrong number of arguments for 'get' command\r\n-ERR unknown command 'NOPE', with args beginning with: 'a' \r\n-ERR key is 9 bytes, above the limit of 8 bytes\r\n+PONG\r\n",
    );
  });

  test("replies after a blocking DM.LOCK keep pipeline order", async () => {
    const c = client();
    c.send(resp("DM.LOCK", "m", "k", "1", "PX", "50"));
    c.send(resp("DM.LOCK", "m", "k", "2", "PX", "50") + resp("PING"));
    await Bun.sleep(200);
    const lines = c.out().split("\r\n");
    expect(lines[0]).toMatch(/^\$\d+$/);
    expect(lines[2]).toMatch(/^\$\d+$/);
    expect(lines[4]).toBe("+PONG");
    const fencing = [lines[1]!, lines[3]!].map((t) => Number(t.split(":")[0]));
    expect(fencing[1]).toBeGreaterThan(fencing[0]!);
  });

  test("AUTH gates commands when requirepass is set", () => {
    const node = new ShoalNode({ config: { requirepass: "s3cret" }, clock: systemClock, rng: new SeededRng(1) });
    const c = client(node);
    c.send(resp("GET", "a") + resp("AUTH", "wrong") + resp("AUTH", "s3cret") + resp("GET", "a"));
    expect(c.out()).toBe(
      "-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n$-1\r\n",
    );
  });

  test("pub/sub delivers to subscribers and restricts RESP2 subscribed mode", () => {
    const sub = client();
    const pub = client(sub.node);
    sub.send(resp("SUBSCRIBE", "ch"));
    pub.send(resp("PUBLISH", "ch", "hi"));
    sub.send(resp("GET", "x"));
    expect(pub.out()).toBe(":1\r\n");
    expect(sub.out()).toBe(
      "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
  });

  test("INFO keyspace counts keys with an expiry from the store's counter, through every way a TTL comes and goes", () => {
    const c = client();
    const expires = (): string => {
      const before = c.out().length;
      c.send(resp("INFO", "keyspace"));
      return /expires=(\d+)/.exec(c.out().slice(before))?.[1] ?? "none";
    };
    c.send(resp("SET", "a", "1", "EX", "100"));
    c.send(resp("SET", "b", "1"));
    c.send(resp("EXPIRE", "b", "100"));
    c.send(resp("SET", "c", "1", "PX", "100000"));
    expect(expires()).toBe("3");
    c.send(resp("PERSIST", "a"));
    c.send(resp("SET", "c", "2")); // a plain SET drops the TTL
    expect(expires()).toBe("1");
    c.send(resp("SET", "b", "3", "KEEPTTL"));
    c.send(resp("RENAME", "b", "d"));
    expect(expires()).toBe("1");
    c.send(resp("DEL", "d"));
    expect(expires()).toBe("0");
    c.send(resp("SET", "e", "1", "EX", "100"));
    c.send(resp("FLUSHDB"));
    c.send(resp("SET", "f", "1"));
    expect(expires()).toBe("0");
  });
});
