/**
 * Warm restart with the compiled binary and `--data-dir`: a million keys and
 * keys with TTLs survive SIGTERM and a restart (TTLs kept, keys that expired
 * while the node was down gone); kill -9 during a BGSAVE leaves the previous
 * snapshot, which loads; a corrupted or truncated snapshot is refused with
 * exit 2 and never served, and `--snapshot-on-error start-empty` sets it
 * aside. SNAPSHOT_E2E_KEYS changes the key count (default 1,000,000).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bulkCheck, bulkSet } from "../helpers/bulk.ts";
import { freePorts, sleep } from "../helpers/ports.ts";
import { runCommand, type ServerProcess, startShoal } from "../helpers/processes.ts";
import { RawClient } from "../helpers/raw-client.ts";
import { BIN, requireBinary } from "./binary.ts";

const KEYS = Number(process.env.SNAPSHOT_E2E_KEYS ?? 1_000_000);
const key = (i: number): string => `key:${i}`;
const value = (i: number): string => `value-${i}-${"x".repeat(i % 40)}`;

let root: string;
beforeAll(() => {
  requireBinary();
  root = mkdtempSync(join(tmpdir(), `shoal-snapshot-e2e-${process.pid}-`));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function call(port: number, ...args: string[]): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    return (await c.command(args, 30_000)).toString("latin1");
  } finally {
    c.close();
  }
}

const infoField = (info: string, field: string): string => new RegExp(`^${field}:(.*)\\r$`, "m").exec(info)?.[1] ?? "";

function start(dataDir: string, extra: string[] = []): Promise<ServerProcess> {
  return startShoal({ binary: BIN, args: ["--data-dir", dataDir, "--log-level", "info", ...extra], startTimeoutMs: 60_000 });
}

describe("warm restart with --data-dir", () => {
  test(
    `${KEYS.toLocaleString("en")} keys and keys with TTLs survive SIGTERM; kill -9 during BGSAVE keeps the last snapshot`,
    async () => {
      const dir = join(root, "big");
      let node = await start(dir);
      try {
        await bulkSet(node.port, 0, KEYS, key, value);
        // 1000 keys that outlive the restart, 1000 that expire while the node is down
        const c = await RawClient.connect(node.port);
        for (let i = 0; i < 1000; i++) c.send(`*5\r\n$3\r\nSET\r\n$${`long:${i}`.length}\r\nlong:${i}\r\n$1\r\nv\r\n$2\r\nEX\r\n$4\r\n3600\r\n`);
        for (let i = 0; i < 1000; i++) await c.readReply(10_000);
        const shortSetAt = Date.now();
        for (let i = 0; i < 1000; i++) c.send(`*5\r\n$3\r\nSET\r\n$${`short:${i}`.length}\r\nshort:${i}\r\n$1\r\nv\r\n$2\r\nPX\r\n$4\r\n6000\r\n`);
        for (let i = 0; i < 1000; i++) await c.readReply(10_000);
        c.close();
        // a hash past the compact encoding and a small set come back too
        const fields: string[] = [];
        for (let i = 0; i < 200; i++) fields.push(`f${i}`, `v${i}`);
        expect(await call(node.port, "HSET", "profile", ...fields)).toBe(":200\r\n");
        expect(await call(node.port, "SADD", "tags", "a", "b", "c")).toBe(":3\r\n");
        expect(await call(node.port, "DBSIZE")).toBe(`:${KEYS + 2002}\r\n`);

        // SIGTERM: a final snapshot, exit 0
        expect(await node.stop(60_000)).toBe(0);
        const saved = /snapshot saved .*keys=(\d+)/.exec(node.output());
        expect(saved?.[1]).toBe(String(KEYS + 2002));
        expect(existsSync(join(dir, "snapshot.shoal"))).toBe(true);
        expect(existsSync(join(dir, "shoal.lock"))).toBe(false);
        // let the short TTLs run out while the node is down
        await sleep(Math.max(0, shortSetAt + 6500 - Date.now()));

        node = await start(dir);
        // loaded before the port opened: everything is there at the first PING
        expect(await call(node.port, "DBSIZE")).toBe(`:${KEYS + 1002}\r\n`);
        expect(node.output()).toMatch(new RegExp(`snapshot loaded .*keys=${KEYS + 1002} expiredWhileDown=1000 `));
        expect(await call(node.port, "HLEN", "profile")).toBe(":200\r\n");
        expect(await call(node.port, "HGET", "profile", "f199")).toBe("$4\r\nv199\r\n");
        expect(await call(node.port, "SISMEMBER", "tags", "b")).toBe(":1\r\n");
        expect(await bulkCheck(node.port, 0, KEYS, key, value)).toEqual([]);
        expect(await bulkCheck(node.port, 0, 1000, (i) => `short:${i}`, () => null)).toEqual([]);
        expect(await bulkCheck(node.port, 0, 1000, (i) => `long:${i}`, () => "v")).toEqual([]);
        const ttl = Number((await call(node.port, "TTL", "long:7")).slice(1, -2));
        expect(ttl).toBeGreaterThan(3500);
        expect(ttl).toBeLessThanOrEqual(3600);
        const info = await call(node.port, "INFO", "persistence");
        expect(infoField(info, "rdb_last_load_keys_loaded")).toBe(String(KEYS + 1002));
        expect(infoField(info, "rdb_last_load_keys_expired")).toBe("1000");

        // kill -9 in the middle of a BGSAVE: the temporary file is left, the snapshot is the previous one
        await call(node.port, "SET", "after-the-snapshot", "1");
        const before = readFileSync(join(dir, "snapshot.shoal"));
        expect(await call(node.port, "BGSAVE")).toBe("+Background saving started\r\n");
        let inProgress = false;
        for (let i = 0; i < 200 && !inProgress; i++) inProgress = infoField(await call(node.port, "INFO", "persistence"), "rdb_bgsave_in_progress") === "1";
        expect(inProgress).toBe(true);
        node.proc.kill("SIGKILL");
        await node.exited;
        expect(readFileSync(join(dir, "snapshot.shoal")).equals(before)).toBe(true);

        node = await start(dir);
        expect(await call(node.port, "DBSIZE")).toBe(`:${KEYS + 1002}\r\n`);
        expect(await call(node.port, "GET", "after-the-snapshot")).toBe("$-1\r\n");
        expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
      } finally {
        await node.stop(60_000);
      }
    },
    240_000,
  );
});

describe("a bad snapshot is never served", () => {
  async function goodSnapshot(name: string): Promise<string> {
    const dir = join(root, name);
    const node = await start(dir);
    await bulkSet(node.port, 0, 5000, key, value, 500);
    expect(await call(node.port, "SAVE")).toBe("+OK\r\n");
    node.proc.kill("SIGKILL"); // no final save: the file stays as SAVE wrote it
    await node.exited;
    return dir;
  }

  async function refusedStart(dir: string): Promise<{ code: number; stderr: string; stdout: string }> {
    const [port, httpPort] = await freePorts(2);
    return runCommand([BIN, "serve", "--port", String(port), "--http-port", String(httpPort), "--data-dir", dir], { timeoutMs: 30_000 });
  }

  test("a flipped byte or a truncated file: exit 2, the message names the file and the block", async () => {
    const dir = await goodSnapshot("corrupt");
    const file = join(dir, "snapshot.shoal");
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[Math.floor(good.length / 2)]! ^= 0x20;
    writeFileSync(file, flipped);
    let r = await refusedStart(dir);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(`snapshot ${file} is corrupt: block `);
    expect(r.stdout + r.stderr).toMatch(/checksum mismatch/);
    expect(r.stdout + r.stderr).not.toMatch(/shoal listening/);

    writeFileSync(file, good);
    truncateSync(file, good.length - 100);
    r = await refusedStart(dir);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/is corrupt: block \d+ \(at byte \d+\): the file ends inside this block/);
    expect(readFileSync(file).length).toBe(good.length - 100); // not touched
  }, 60_000);

  test("--snapshot-on-error start-empty starts empty and keeps the bad file aside", async () => {
    const dir = await goodSnapshot("start-empty");
    const file = join(dir, "snapshot.shoal");
    const bad = readFileSync(file);
    bad[100]! ^= 1;
    writeFileSync(file, bad);
    const node = await start(dir, ["--snapshot-on-error", "start-empty"]);
    try {
      expect(await call(node.port, "DBSIZE")).toBe(":0\r\n");
      expect(node.output()).toMatch(/is corrupt: block \d+ .*starting empty/);
      const aside = readdirSync(dir).filter((f) => f.startsWith("snapshot.shoal.bad-"));
      expect(aside.length).toBe(1);
      expect(readFileSync(join(dir, aside[0]!)).equals(bad)).toBe(true);
      expect(existsSync(file)).toBe(false);
    } finally {
      await node.stop(30_000);
    }
    // the next snapshot is a new file; the bad one is still there
    expect(readdirSync(dir).filter((f) => f.startsWith("snapshot.shoal")).length).toBe(2);
  }, 60_000);

  test("SHOAL_DATA_DIR turns persistence on, and a second node on the same directory is refused", async () => {
    const dir = join(root, "env");
    const node = await startShoal({ binary: BIN, env: { SHOAL_DATA_DIR: dir } });
    try {
      await call(node.port, "SET", "k", "v");
      expect(infoField(await call(node.port, "INFO", "persistence"), "snapshot_file")).toBe(join(dir, "snapshot.shoal"));
      const r = await refusedStart(dir);
      expect(r.code).toBe(2);
      expect(r.stdout + r.stderr).toContain(`in use by process ${node.pid}`);
    } finally {
      await node.stop(30_000);
    }
    const again = await start(dir);
    try {
      expect(await call(again.port, "GET", "k")).toBe("$1\r\nv\r\n");
    } finally {
      await again.stop(30_000);
    }
  }, 60_000);
});
