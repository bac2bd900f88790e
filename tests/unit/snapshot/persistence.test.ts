import { describe, expect, test } from "bun:test";
import type { ShoalNode } from "../../../core/node.ts";
import { ClientSession } from "../../../core/protocol/session.ts";
import { loadSnapshot } from "../../../core/snapshot/load.ts";
import { Persistence, type SnapshotOutput, type SnapshotStorage } from "../../../core/snapshot/persistence.ts";
import { concat, ManualClock, makeNode } from "./helpers.ts";

/** Snapshots kept in memory: `current` is what a restart would load; `begin` fails when `fail` is set. */
class MemoryStorage implements SnapshotStorage {
  readonly location = "memory://snapshot";
  current: Uint8Array | null = null;
  commits = 0;
  aborts = 0;
  fail = false;
  begin(): SnapshotOutput {
    const parts: Uint8Array[] = [];
    return {
      pending: 0,
      write: (b) => {
        if (this.fail) throw new Error("disk full");
        parts.push(b);
      },
      drain: () => Promise.resolve(),
      commit: async () => {
        this.current = concat(parts);
        this.commits++;
      },
      abort: () => {
        this.aborts++;
      },
    };
  }
}

/** A persistence whose BGSAVE runs `between()` on every event-loop turn it yields (what clients do meanwhile). */
function setup(opts: { intervalMs?: number } = {}) {
  const clock = new ManualClock();
  const node = makeNode(clock);
  const storage = new MemoryStorage();
  let between: () => void = () => undefined;
  let turns = 0;
  const p = new Persistence({
    node,
    storage,
    clock,
    log: { info() {}, warn() {}, error() {} },
    intervalMs: opts.intervalMs ?? 0,
    sliceMs: 0, // one batch of indices per turn
    yieldTurn: async () => {
      turns++;
      between();
    },
  });
  node.persistence = p;
  return { clock, node, storage, p, setBetween: (f: () => void) => (between = f), turns: () => turns };
}

const dec = new TextDecoder();

function command(node: ShoalNode, ...args: string[]): Promise<string> {
  const enc = new TextEncoder();
  return new Promise((resolve) => {
    const out: string[] = [];
    const s = new ClientSession(node, { remote: "t", write: (b) => out.push(dec.decode(b)), close: () => undefined });
    s.onData(enc.encode(`*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`));
    const poll = (): void => (out.length > 0 ? resolve(out.join("")) : void setTimeout(poll, 1));
    poll();
  });
}

const infoField = (info: string, field: string): string => new RegExp(`^${field}:(.*)\\r$`, "m").exec(info)?.[1] ?? "";

describe("Persistence", () => {
  test("BGSAVE writes the cut in slices while writes go on; the snapshot is the state at BGSAVE", async () => {
    const { node, storage, p, setBetween, turns, clock } = setup();
    for (let i = 0; i < 5000; i++) node.db.put(`k${i}`, `v${i}`);
    let writes = 0;
    setBetween(() => {
      node.db.put(`k${writes}`, "changed");
      node.db.put(`new${writes++}`, "x");
    });
    const res = await p.bgsave();
    expect(turns()).toBeGreaterThan(5); // it yielded between slices
    expect(res?.entries).toBe(5000);
    expect(writes).toBeGreaterThan(5);
    const back = makeNode(clock);
    loadSnapshot(back, [storage.current!], clock.now());
    expect(back.db.size()).toBe(5000);
    expect(dec.decode(back.db.get("k0")!)).toBe("v0");
    expect(back.db.get("new0")).toBeNull();
    // writes made during the BGSAVE are changes since it (the cut)
    expect(p.changes).toBe(2 * writes);
  });

  test("SAVE, BGSAVE, LASTSAVE and INFO persistence answer like Redis", async () => {
    const { node, clock, storage } = setup();
    let info = await command(node, "INFO", "persistence");
    expect(info).toContain("# Persistence\r\n");
    expect(infoField(info, "rdb_changes_since_last_save")).toBe("0");
    expect(infoField(info, "rdb_bgsave_in_progress")).toBe("0");
    expect(infoField(info, "loading")).toBe("0");
    expect(infoField(info, "rdb_last_bgsave_status")).toBe("ok");
    node.db.put("a", "1");
    node.db.put("b", "2");
    expect(infoField(await command(node, "INFO", "persistence"), "rdb_changes_since_last_save")).toBe("2");
    clock.advance(5000);
    expect(await command(node, "SAVE")).toBe("+OK\r\n");
    expect(await command(node, "LASTSAVE")).toBe(`:${Math.floor(clock.now() / 1000)}\r\n`);
    info = await command(node, "INFO", "persistence");
    expect(infoField(info, "rdb_changes_since_last_save")).toBe("0");
    expect(infoField(info, "rdb_saves")).toBe("1");
    expect(infoField(info, "snapshot_last_keys")).toBe("2");
    expect(infoField(info, "snapshot_file")).toBe("memory://snapshot");
    expect(await command(node, "BGSAVE")).toBe("+Background saving started\r\n");
    expect(await command(node, "BGSAVE", "nope")).toBe("-ERR syntax error\r\n");
    await new Promise((r) => setTimeout(r, 5));
    expect(storage.commits).toBe(2);
    expect(infoField(await command(node, "INFO"), "rdb_saves")).toBe("2"); // the default INFO has the section too
  });

  test("a second BGSAVE or a SAVE while one runs is refused; BGSAVE SCHEDULE queues one", async () => {
    const { node, p, setBetween, storage } = setup();
    for (let i = 0; i < 3000; i++) node.db.put(`k${i}`, "v");
    const replies: string[] = [];
    let asked = false;
    setBetween(() => {
      if (asked) return;
      asked = true;
      void command(node, "BGSAVE").then((r) => replies.push(r));
      void command(node, "SAVE").then((r) => replies.push(r));
      void command(node, "BGSAVE", "SCHEDULE").then((r) => replies.push(r));
      void command(node, "INFO", "persistence").then((r) => replies.push(`in_progress=${infoField(r, "rdb_bgsave_in_progress")}`));
    });
    await p.bgsave();
    for (let i = 0; i < 50 && storage.commits < 2; i++) await new Promise((r) => setTimeout(r, 2));
    expect(replies.sort()).toEqual(
      ["+Background saving scheduled\r\n", "-ERR Background save already in progress\r\n", "-ERR Background save already in progress\r\n", "in_progress=1"].sort(),
    );
    expect(storage.commits).toBe(2); // the scheduled one ran after
  });

  test("a failed snapshot leaves the previous one, reports err, and SAVE answers an error", async () => {
    const { node, p, storage } = setup();
    node.db.put("a", "1");
    await p.save();
    const good = storage.current;
    storage.fail = true;
    node.db.put("b", "2");
    expect(() => p.bgsave()).toThrow(/background snapshot to memory:\/\/snapshot failed: disk full/);
    expect(storage.current).toBe(good);
    expect(storage.aborts).toBe(1);
    const info = await command(node, "INFO", "persistence");
    expect(infoField(info, "rdb_last_bgsave_status")).toBe("err");
    expect(infoField(info, "rdb_changes_since_last_save")).toBe("1");
    expect(await command(node, "SAVE")).toMatch(/^-ERR snapshot to memory:\/\/snapshot failed: disk full/);
  });

  test("the interval saves only when something changed", async () => {
    const { node, p, clock, storage } = setup({ intervalMs: 60_000 });
    p.start();
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 1));
    expect(storage.commits).toBe(0);
    node.db.put("a", "1");
    clock.advance(60_000);
    for (let i = 0; i < 20 && storage.commits === 0; i++) await new Promise((r) => setTimeout(r, 1));
    expect(storage.commits).toBe(1);
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 2));
    expect(storage.commits).toBe(1);
    await p.shutdown();
  });

  test("shutdown abandons a running BGSAVE and writes a final snapshot with everything", async () => {
    const { node, p, storage, setBetween, clock } = setup();
    for (let i = 0; i < 3000; i++) node.db.put(`k${i}`, "v");
    let n = 0;
    let shut: Promise<unknown> | null = null;
    setBetween(() => {
      node.db.put(`late${n++}`, "x");
      if (n === 3) shut = p.shutdown();
    });
    expect(await p.bgsave()).toBeNull(); // abandoned
    await shut;
    expect(storage.commits).toBe(1);
    const back = makeNode(clock);
    loadSnapshot(back, [storage.current!], clock.now());
    expect(back.db.size()).toBe(3003);
  });

  test("without --data-dir, SAVE and BGSAVE say how to turn snapshots on", async () => {
    const node = makeNode();
    expect(await command(node, "SAVE")).toMatch(/^-ERR snapshots are off on this node: start it with --data-dir <dir>/);
    expect(await command(node, "BGSAVE")).toMatch(/^-ERR snapshots are off/);
    expect(await command(node, "LASTSAVE")).toMatch(/^:\d+\r\n$/);
    expect(infoField(await command(node, "INFO", "persistence"), "rdb_bgsave_in_progress")).toBe("0");
  });
});
