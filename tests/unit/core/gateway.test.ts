import { describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { HTTP_ERRORS, httpErrorOf } from "../../../core/errors.ts";
import { CommandGateway } from "../../../core/gateway/gateway.ts";
import { decodeReply } from "../../../core/gateway/resp-value.ts";
import { ShoalNode } from "../../../core/node.ts";

const enc = new TextEncoder();
const bulk = (s: string) => ({ kind: "bulk", value: enc.encode(s) });

function node(config = {}): ShoalNode {
  const n = new ShoalNode({ clock: systemClock, rng: new SeededRng(1), config });
  n.start();
  return n;
}

describe("decodeReply", () => {
  test("RESP2 and RESP3 types become tagged values; errors split code and message", () => {
    expect(decodeReply(enc.encode("+OK\r\n"))).toEqual({ kind: "simple", text: "OK" });
    expect(decodeReply(enc.encode("-WRITEQUORUM 1 of 2 copies\r\n"))).toEqual({ kind: "error", code: "WRITEQUORUM", message: "1 of 2 copies" });
    expect(decodeReply(enc.encode("-NOAUTH\r\n"))).toEqual({ kind: "error", code: "NOAUTH", message: "" });
    expect(decodeReply(enc.encode(":-42\r\n"))).toEqual({ kind: "int", value: -42 });
    expect(decodeReply(enc.encode("$-1\r\n"))).toEqual({ kind: "nil" });
    expect(decodeReply(enc.encode("_\r\n"))).toEqual({ kind: "nil" });
    expect(decodeReply(enc.encode("$5\r\na\r\nbc\r\n"))).toEqual(bulk("a\r\nbc") as never);
    expect(decodeReply(enc.encode("*2\r\n$1\r\nx\r\n*1\r\n:1\r\n"))).toEqual({
      kind: "array",
      items: [bulk("x") as never, { kind: "array", items: [{ kind: "int", value: 1 }] }],
    });
    expect(decodeReply(enc.encode("%1\r\n+a\r\n:2\r\n"))).toEqual({ kind: "array", items: [{ kind: "simple", text: "a" }, { kind: "int", value: 2 }] });
  });

  test("truncated or trailing bytes are refused (a writer bug, never silently half-read)", () => {
    expect(() => decodeReply(enc.encode("$5\r\nab"))).toThrow();
    expect(() => decodeReply(enc.encode("+OK\r\n+OK\r\n"))).toThrow();
    expect(() => decodeReply(enc.encode("?\r\n"))).toThrow();
  });

  test("bulk values are copies: the buffer they came from may be reused", () => {
    const buf = enc.encode("$2\r\nhi\r\n");
    const v = decodeReply(buf);
    buf.fill(0);
    expect(v).toEqual(bulk("hi") as never);
  });
});

describe("HTTP status table", () => {
  test("cluster conditions are 503 with Retry-After; ACL 403; auth 401; misses 404; MOVED is a bug (500)", () => {
    for (const code of ["WRITEQUORUM", "READQUORUM", "CLUSTERDOWN", "CLUSTERQUORUM", "TRYAGAIN"]) {
      expect(httpErrorOf(code)).toEqual({ status: 503, retryAfter: 1 });
    }
    expect(httpErrorOf("NOPERM").status).toBe(403);
    expect(httpErrorOf("NOAUTH").status).toBe(401);
    expect(httpErrorOf("KEYNOTFOUND").status).toBe(404);
    expect(httpErrorOf("ERR").status).toBe(400);
    expect(httpErrorOf("ERR", "internal error: boom").status).toBe(500);
    expect(httpErrorOf("MOVED").status).toBe(500);
    expect(httpErrorOf("SOMETHINGNEW").status).toBe(500);
    for (const [code, m] of Object.entries(HTTP_ERRORS)) expect(m.status, code).toBeGreaterThanOrEqual(400);
  });
});

describe("CommandGateway", () => {
  test("runs commands through the command table as a user and resolves with typed replies", async () => {
    const n = node();
    const g = new CommandGateway(n);
    const user = n.acl.defaultUser;
    expect(await g.run(user, ["DM.PUT", "m", "k", new Uint8Array([0, 255]), "PX", "60000"])).toEqual({ kind: "simple", text: "OK" });
    const got = await g.run(user, ["DM.GET", "m", "k", "WITHTTL"]);
    expect(got.kind).toBe("array");
    const [v, ttl] = got.kind === "array" ? got.items : [];
    expect(v).toEqual({ kind: "bulk", value: new Uint8Array([0, 255]) });
    expect(ttl?.kind === "int" && ttl.value > 59_000 && ttl.value <= 60_000).toBe(true);
    expect(await g.run(user, ["DM.GET", "m", "nope"])).toMatchObject({ kind: "error", code: "KEYNOTFOUND" });
    expect(await g.run(user, ["INCR", "n"])).toEqual({ kind: "int", value: 1 });
    expect(await g.run(user, ["nosuchcommand"])).toMatchObject({ kind: "error", code: "ERR" });
    // counted like any command; gateway sessions are not client connections
    expect(n.commands.byName.get("dm.put")!.calls).toBe(1);
    expect(n.sessions.size).toBe(0);
    expect(n.stats.connectionsTotal).toBe(0);
  });

  test("concurrent commands each get their own reply; sessions are reused", async () => {
    const n = node();
    const g = new CommandGateway(n);
    const u = n.acl.defaultUser;
    const puts = await Promise.all(Array.from({ length: 200 }, (_, i) => g.run(u, ["SET", `k${i}`, `v${i}`])));
    expect(puts.every((p) => p.kind === "simple")).toBe(true);
    const gets = await Promise.all(Array.from({ length: 200 }, (_, i) => g.run(u, ["GET", `k${i}`])));
    expect(gets.map((r) => (r.kind === "bulk" ? new TextDecoder().decode(r.value) : "?"))).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
  });

  test("ACL rules of the user hold; commands of a connection's own state are refused", async () => {
    const n = node({ aclLines: ["user default on nopass ~* &* +@all", "user app on >pw ~carts/* +@all"] });
    const g = new CommandGateway(n);
    const app = n.acl.users.get("app")!;
    expect(await g.run(app, ["DM.PUT", "carts", "a", "1"])).toEqual({ kind: "simple", text: "OK" });
    expect(await g.run(app, ["DM.PUT", "orders", "a", "1"])).toMatchObject({ kind: "error", code: "NOPERM" });
    for (const c of ["SUBSCRIBE", "auth", "HELLO", "MULTI", "client", "QUIT"]) {
      expect(await g.run(n.acl.defaultUser, [c, "x"])).toMatchObject({ kind: "error", code: "ERR" });
    }
    // the refused user did not leak into the next command on a reused session
    expect(await g.run(n.acl.defaultUser, ["DM.PUT", "orders", "a", "1"])).toEqual({ kind: "simple", text: "OK" });
  });

  test("not rate-limited per connection: --max-commands-per-second is a RESP connection limit", async () => {
    const n = node({ maxCommandsPerSecond: 2 });
    const g = new CommandGateway(n);
    for (let i = 0; i < 10; i++) expect((await g.run(n.acl.defaultUser, ["PING"])).kind).toBe("simple");
  });
});
