import { describe, expect, test } from "bun:test";
import { SeededRng, systemClock } from "../../../core/clock.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { credentials, routeAccess } from "../../../core/http/auth.ts";
import { ShoalNode } from "../../../core/node.ts";
import { Acl, AclError } from "../../../core/protocol/acl.ts";
import { sha256Hex } from "../../../core/protocol/acl-sha256.ts";
import { ClientSession } from "../../../core/protocol/session.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const resp = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${enc.encode(a).length}\r\n${a}\r\n`).join("")}`;

const FILE = [
  "# comment",
  "user default on nopass ~* &* +@all",
  "user alice on >secret ~user:* ~orders/* %R~pub:* &news +@read +@write -del +config|get +@dmap +@pubsub",
  "",
  "user ro on >ro ~* +@read",
  "user off off >x ~* +@all",
];

function node(opts: { requirepass?: string; lines?: string[] } = {}) {
  return new ShoalNode({
    clock: systemClock,
    rng: new SeededRng(1),
    config: { requirepass: opts.requirepass, aclLines: opts.lines ?? FILE, aclSource: "users.acl" },
  });
}

/** A session on a real node; `call` sends one command and returns the reply text. */
function client(n: ShoalNode) {
  const out: string[] = [];
  let closed = false;
  const s = new ClientSession(n, { remote: "127.0.0.1:1", write: (b) => out.push(dec.decode(b)), close: () => void (closed = true) });
  return {
    s,
    closed: () => closed,
    call(...args: string[]): string {
      out.length = 0;
      s.onData(enc.encode(resp(...args)));
      return out.join("");
    },
  };
}

describe("sha256", () => {
  test("matches the known digest Redis shows for 'secret'", () => {
    expect(sha256Hex("secret")).toBe("2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});

describe("ACL rules", () => {
  test("ACL LIST lines have Redis' shape; passwords only as hashes", () => {
    const acl = node().acl;
    expect(acl.users.get("alice")!.describe()).toBe(
      "user alice on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~user:* ~orders/* %R~pub:* resetchannels &news -@all +@read +@write -del +config|get +@dmap +@pubsub",
    );
    expect(acl.users.get("default")!.describe()).toBe("user default on nopass ~* &* +@all");
    for (const u of acl.users.values()) expect(u.describe()).not.toContain("secret");
  });

  test("bad rules name the file and line, never a password", () => {
    const bad = (line: string) => () => node({ lines: ["user default on nopass ~* &* +@all", line] });
    expect(bad("user bob on +nosuch")).toThrow("users.acl:2: Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL");
    expect(bad("user bob on +@nosuch")).toThrow(AclError);
    expect(bad("user bob on bogus")).toThrow("Syntax error");
    expect(bad("alice on")).toThrow("line should start with user keyword");
    try {
      bad("user bob on #topsecretpassword")();
    } catch (e) {
      expect((e as Error).message).not.toContain("topsecret");
    }
  });

  test("requirepass becomes the default user's password", () => {
    const n = node({ requirepass: "pw", lines: [] });
    expect(n.requiresAuth()).toBe(true);
    expect(n.acl.authenticate("default", "pw")).not.toBeNull();
    expect(n.acl.authenticate("default", "nope")).toBeNull();
    expect(n.acl.defaultUser.describe()).not.toContain("pw ");
  });

  test("disabled users cannot log in even with the right password", () => {
    expect(node().acl.authenticate("off", "x")).toBeNull();
  });

  test("a fresh Acl has an open default user", () => {
    const acl = new Acl(() => true);
    expect(acl.defaultIsOpen()).toBe(true);
    expect(acl.defaultUser.unrestricted).toBe(true);
  });
});

describe("ACL in the session", () => {
  test("commands, subcommands, keys and channels are checked with Redis 7.0's errors", () => {
    const c = client(node());
    expect(c.call("AUTH", "alice", "secret")).toBe("+OK\r\n");
    expect(c.call("SET", "user:1", "x")).toBe("+OK\r\n");
    expect(c.call("SET", "other", "x")).toBe("-NOPERM this user has no permissions to access one of the keys used as arguments\r\n");
    expect(c.call("DEL", "user:1")).toBe("-NOPERM this user has no permissions to run the 'del' command\r\n");
    expect(c.call("CONFIG", "GET", "maxclients")).toStartWith("*2\r\n");
    expect(c.call("CONFIG", "SET", "maxclients", "1")).toBe("-NOPERM this user has no permissions to run the 'config|set' command\r\n");
    expect(c.call("GET", "pub:1")).toBe("$-1\r\n");
    expect(c.call("SET", "pub:1", "x")).toBe("-NOPERM this user has no permissions to access one of the keys used as arguments\r\n");
    expect(c.call("PUBLISH", "news", "x")).toBe(":0\r\n");
    expect(c.call("PUBLISH", "other", "x")).toBe("-NOPERM this user has no permissions to access one of the channels used as arguments\r\n");
    expect(c.call("DM.PUT", "orders", "k", "v")).toBe("+OK\r\n");
    expect(c.call("DM.PUT", "other", "k", "v")).toStartWith("-NOPERM");
    expect(c.call("DM.PUT", "default", "user:2", "v")).toBe("+OK\r\n");
    expect(c.call("DM.DESTROY", "orders")).toBe("+OK\r\n");
    expect(c.call("DM.DESTROY", "default")).toStartWith("-NOPERM");
    expect(c.call("ACL", "WHOAMI")).toBe("-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n");
    expect(c.call("FOO")).toStartWith("-ERR unknown command 'FOO'");
  });

  test("a read-only user reads everything and writes nothing", () => {
    const c = client(node());
    c.call("SET", "k", "v");
    expect(c.call("AUTH", "ro", "ro")).toBe("+OK\r\n");
    expect(c.call("GET", "k")).toBe("$1\r\nv\r\n");
    expect(c.call("SET", "k", "w")).toBe("-NOPERM this user has no permissions to run the 'set' command\r\n");
    expect(c.call("FLUSHALL")).toStartWith("-NOPERM");
  });

  test("AUTH / HELLO AUTH / ACL WHOAMI / RESET", () => {
    const c = client(node({ requirepass: "pw" }));
    expect(c.call("GET", "k")).toBe("-NOAUTH Authentication required.\r\n");
    expect(c.call("AUTH", "wrong")).toBe("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    expect(c.call("HELLO", "3", "AUTH", "alice", "secret")).toContain("proto");
    expect(c.call("ACL", "WHOAMI")).toStartWith("-NOPERM");
    expect(c.call("AUTH", "pw")).toBe("+OK\r\n");
    expect(c.call("ACL", "WHOAMI")).toBe("$7\r\ndefault\r\n");
    expect(c.call("RESET")).toBe("+RESET\r\n");
    expect(c.call("GET", "k")).toBe("-NOAUTH Authentication required.\r\n");
  });

  test("ACL USERS, CAT, SETUSER, DELUSER (which disconnects the user's clients)", () => {
    const n = node();
    const admin = client(n);
    expect(admin.call("ACL", "USERS")).toBe("*4\r\n$5\r\nalice\r\n$7\r\ndefault\r\n$3\r\noff\r\n$2\r\nro\r\n");
    expect(admin.call("ACL", "CAT")).toContain("$9\r\ndangerous\r\n");
    expect(admin.call("ACL", "CAT", "dangerous")).toContain("$8\r\nflushall\r\n");
    expect(admin.call("ACL", "CAT", "nosuch")).toBe("-ERR Unknown category 'nosuch'\r\n");
    expect(admin.call("ACL", "SETUSER", "bob", "on", ">pw", "~b:*", "+get")).toBe("+OK\r\n");
    const bob = client(n);
    expect(bob.call("AUTH", "bob", "pw")).toBe("+OK\r\n");
    expect(bob.call("GET", "b:1")).toBe("$-1\r\n");
    expect(admin.call("ACL", "SETUSER", "bob", "-get")).toBe("+OK\r\n");
    expect(bob.call("GET", "b:1")).toBe("-NOPERM this user has no permissions to run the 'get' command\r\n");
    expect(admin.call("ACL", "SETUSER", "bob", "+nosuch")).toBe("-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL\r\n");
    expect(admin.call("ACL", "DELUSER", "bob")).toBe(":1\r\n");
    expect(bob.closed()).toBe(true);
    expect(admin.call("ACL", "DELUSER", "default")).toStartWith("-ERR");
  });

  test("--max-commands-per-second answers an error past the limit", () => {
    const n = new ShoalNode({ clock: systemClock, rng: new SeededRng(1), config: { maxCommandsPerSecond: 5 } });
    const c = client(n);
    const replies: string[] = [];
    for (let i = 0; i < 8; i++) replies.push(c.call("PING"));
    expect(replies.filter((r) => r === "+PONG\r\n").length).toBeGreaterThanOrEqual(5);
    expect(replies.filter((r) => r.startsWith("-ERR max commands per second")).length).toBeGreaterThanOrEqual(1);
  });
});

describe("HTTP with ACL users", () => {
  const n = node();
  const app = createHttpApp(n, { auth: n });
  const req = (method: string, path: string, auth?: string, body?: string) =>
    app.request(path, { method, body, headers: auth ? { authorization: auth } : {} });
  const basic = (u: string, p: string) => `Basic ${btoa(`${u}:${p}`)}`;

  test("Bearer user:pass and Basic map to the same users and rules", async () => {
    expect((await req("PUT", "/v1/maps/orders/keys/k1", "Bearer alice:secret", "v")).status).toBe(204);
    expect((await req("GET", "/v1/maps/orders/keys/k1", basic("alice", "secret"))).status).toBe(200);
    expect((await req("PUT", "/v1/maps/other/keys/k1", "Bearer alice:secret", "v")).status).toBe(403);
    expect((await req("PUT", "/v1/maps/x/keys/k", basic("ro", "ro"), "v")).status).toBe(403);
    expect((await req("GET", "/v1/stats", basic("ro", "bad"))).status).toBe(401);
    expect((await req("GET", "/healthz")).status).toBe(200);
    // no credentials: the default user is on nopass here
    expect((await req("GET", "/v1/stats")).status).toBe(200);
  });

  test("a map called 'keys' is not mistaken for a key listing", () => {
    expect(routeAccess("DELETE", "/v1/maps/keys", () => undefined)).toEqual({ command: "dm.destroy", map: "keys", keys: ["*"] });
    expect(routeAccess("GET", "/v1/maps/m/keys", () => undefined)).toEqual({ command: "dm.scanall", map: "m", keys: ["*"] });
    expect(routeAccess("GET", "/v1/maps/m/keys/a%2Fb", () => undefined)).toEqual({ command: "dm.get", map: "m", keys: ["a/b"] });
  });

  test("credentials: Basic, Bearer user:pass, Bearer pass", () => {
    expect(credentials(basic("u", "p:q"))).toEqual([["u", "p:q"]]);
    expect(credentials("Bearer u:p")).toEqual([
      ["u", "p"],
      ["default", "u:p"],
    ]);
    expect(credentials("Bearer pw")).toEqual([["default", "pw"]]);
    expect(credentials("Digest x")).toEqual([]);
  });
});
