/**
 * Issue 13 part 2: identity travels with forwarded commands. Three real
 * processes (RF=1, so most keys are owned by a node other than the one the
 * client is connected to, and plain clients get their commands forwarded)
 * share an ACL file with `user default off`. Through EVERY node:
 * unauthenticated clients get NOAUTH; alice (~alice:* +@read +@write) writes
 * and reads her keys whichever node owns them, never another's key; reader
 * (+@read) reads all and writes none; FLUSHDB is refused to alice and runs
 * cluster-wide for admin. The owner checks the forwarded command as the
 * sender's user: node 2's ACL file narrows dave's keys and lacks carol, and
 * writes through node 0 to keys node 2 owns are refused there.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, sleep } from "../../helpers/ports.ts";
import { type ServerProcess, spawnShoal } from "../../helpers/processes.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { parseReply, type Reply } from "../../helpers/resp.ts";

const dir = mkdtempSync(join(tmpdir(), "shoal-acl-fwd-"));
const nodes: ServerProcess[] = [];
const clients: RawClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  for (const n of nodes) await n.stop(500);
  rmSync(dir, { recursive: true, force: true });
});

const COMMON = [
  "user default off",
  "user admin on >adminpw ~* &* +@all",
  "user alice on >alicepw ~alice:* +@read +@write -@dangerous",
  "user reader on >readerpw ~* +@read",
];
const aclFile = (name: string, lines: string[]): string => {
  const p = join(dir, name);
  writeFileSync(p, `${lines.join("\n")}\n`);
  return p;
};
const SAME = aclFile("users.acl", [...COMMON, "user dave on >davepw ~dave:* +@all -@dangerous", "user carol on >carolpw ~* +@all -@dangerous"]);
// node 2: dave only on dave:own:*, and no carol
const NARROW = aclFile("node2.acl", [...COMMON, "user dave on >davepw ~dave:own:* +@all -@dangerous"]);

async function until(fn: () => Promise<boolean> | boolean, limitMs: number, stepMs = 100): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return false;
}

const tablesWith = (n: ServerProcess, members: number): boolean =>
  n.output().split("\n").filter((l) => l.includes("partition table rebuilt")).at(-1)?.includes(`"members":${members}`) ?? false;

async function login(port: number, user: string, pass: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.push(c);
  expect(await c.call(["AUTH", user, pass], 10_000)).toBe("+OK\r\n");
  return c;
}

/** RESP port of the owner of every slot, from CLUSTER SLOTS. */
async function slotOwners(c: RawClient): Promise<Map<number, number>> {
  const reply = parseReply(await c.command(["CLUSTER", "SLOTS"], 10_000)) as { items: Reply[] };
  const owners = new Map<number, number>();
  for (const range of reply.items) {
    const [start, end, master] = (range as { items: Reply[] }).items as unknown as [{ text: string }, { text: string }, { items: Reply[] }];
    const port = Number((master.items[1] as { text: string }).text);
    for (let s = Number(start.text); s <= Number(end.text); s++) owners.set(s, port);
  }
  return owners;
}

async function keyOwnedBy(c: RawClient, owners: Map<number, number>, port: number, prefix: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const key = `${prefix}${i}`;
    const slot = Number((await c.call(["CLUSTER", "KEYSLOT", key])).slice(1).trim());
    if (owners.get(slot) === port) return key;
  }
  throw new Error(`no key with prefix ${prefix} owned by :${port}`);
}

const NOPERM_KEY = "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
const noPermCommand = (c: string) => `-NOPERM this user has no permissions to run the '${c}' command\r\n`;

describe("ACL users on a 3-node cluster, through every node", () => {
  test("key patterns, command rules and `user default off` hold whichever node the client is connected to", async () => {
    const ports = await freePorts(9);
    const peers = [0, 1, 2].map((i) => `127.0.0.1:${ports[6 + i]}`).join(",");
    for (let i = 0; i < 3; i++) {
      const args = ["serve", "--bind", "127.0.0.1", "--port", String(ports[i]), "--http-port", String(ports[3 + i]), "--peer-port", String(ports[6 + i])];
      args.push("--peers", peers, "--preset", "local", "--log-format", "json", "--acl-file", i === 2 ? NARROW : SAME);
      nodes.push(await spawnShoal({ port: ports[i]!, httpPort: ports[3 + i]!, args }));
    }
    const converged = await until(() => nodes.every((n) => tablesWith(n, 3)), 15_000);
    if (!converged) throw new Error(`no 3-member cluster:\n${nodes.map((n) => n.output().slice(-1500)).join("\n---\n")}`);
    for (const n of nodes) expect(await until(async () => (await fetch(`http://127.0.0.1:${n.httpPort}/readyz`)).status === 200, 10_000)).toBe(true);

    const KEYS = 24;
    const admin = await login(nodes[0]!.port, "admin", "adminpw");
    const topology = await login(nodes[0]!.port, "admin", "adminpw"); // cluster-aware after CLUSTER SLOTS: gets MOVED
    const owners = await slotOwners(topology);
    expect(new Set(owners.values()).size).toBe(3);
    let forwarded = 0;
    for (let k = 0; k < KEYS; k++) {
      const slot = Number((await admin.call(["CLUSTER", "KEYSLOT", `alice:${k}`])).slice(1).trim());
      if (owners.get(slot) !== nodes[0]!.port) forwarded++;
    }
    expect(forwarded).toBeGreaterThan(KEYS / 3); // most of alice's keys live on another node than node 0

    for (const [i, n] of nodes.entries()) {
      const anon = await RawClient.connect(n.port);
      clients.push(anon);
      expect(await anon.call(["GET", "alice:0"])).toBe("-NOAUTH Authentication required.\r\n");
      expect(await anon.call(["SET", "alice:0", "x"])).toBe("-NOAUTH Authentication required.\r\n");
      expect(await anon.call(["AUTH", "alice", "wrong"])).toBe("-WRONGPASS invalid username-password pair or user is disabled.\r\n");

      // alice writes all her keys through node i (most forwarded to their owner) and reads them back through every node
      const alice = await login(n.port, "alice", "alicepw");
      for (let k = 0; k < KEYS; k++) expect(await alice.call(["SET", `alice:${k}`, `v${i}-${k}`], 10_000)).toBe("+OK\r\n");
      for (const m of nodes) {
        const a = await login(m.port, "alice", "alicepw");
        for (let k = 0; k < KEYS; k++) expect(await a.call(["GET", `alice:${k}`], 10_000)).toBe(`$${`v${i}-${k}`.length}\r\nv${i}-${k}\r\n`);
        a.close();
      }
      for (let k = 0; k < 6; k++) {
        expect(await alice.call(["SET", `bob:${k}`, "x"], 10_000)).toBe(NOPERM_KEY);
        expect(await alice.call(["GET", `bob:${k}`], 10_000)).toBe(NOPERM_KEY);
      }
      expect(await alice.call(["FLUSHDB"], 10_000)).toBe(noPermCommand("flushdb"));

      // reader reads everything through node i and writes nothing
      const reader = await login(n.port, "reader", "readerpw");
      for (let k = 0; k < KEYS; k++) expect(await reader.call(["GET", `alice:${k}`], 10_000)).toBe(`$${`v${i}-${k}`.length}\r\nv${i}-${k}\r\n`);
      expect(await reader.call(["SET", "alice:0", "r"], 10_000)).toBe(noPermCommand("set"));
      expect(await reader.call(["DEL", "alice:1"], 10_000)).toBe(noPermCommand("del"));
      expect(await reader.call(["DBSIZE"], 10_000)).toBe(`:${KEYS}\r\n`);
    }

    // the owner checks as the sender's user: node 2 narrows dave and does not know carol
    const on2 = await keyOwnedBy(admin, owners, nodes[2]!.port, "dave:x");
    const own2 = await keyOwnedBy(admin, owners, nodes[2]!.port, "dave:own:");
    const on1 = await keyOwnedBy(admin, owners, nodes[1]!.port, "dave:x");
    const dave = await login(nodes[0]!.port, "dave", "davepw");
    expect(await dave.call(["SET", on1, "ok"], 10_000)).toBe("+OK\r\n");
    expect(await dave.call(["SET", own2, "ok"], 10_000)).toBe("+OK\r\n");
    expect(await dave.call(["SET", on2, "no"], 10_000)).toBe(NOPERM_KEY);
    expect(await admin.call(["EXISTS", on2], 10_000)).toBe(":0\r\n");
    const carol = await login(nodes[0]!.port, "carol", "carolpw");
    const c2 = await keyOwnedBy(admin, owners, nodes[2]!.port, "carol:");
    expect(await carol.call(["SET", c2, "no"], 10_000)).toBe(
      `-NOPERM user 'carol' does not exist on 127.0.0.1:${ports[8]} (give every node the same ACL file)\r\n`,
    );
    expect(await admin.call(["EXISTS", c2], 10_000)).toBe(":0\r\n");

    // admin's FLUSHDB through node 1 reaches every node
    const admin1 = await login(nodes[1]!.port, "admin", "adminpw");
    expect(await admin1.call(["FLUSHDB"], 10_000)).toBe("+OK\r\n");
    for (const n of nodes) expect(await (await login(n.port, "admin", "adminpw")).call(["DBSIZE"], 10_000)).toBe(":0\r\n");
  }, 90_000);
});
