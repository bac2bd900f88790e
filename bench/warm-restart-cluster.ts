/**
 * Warm restart in a cluster (issue 14 part 3): three shoal processes (RF=2,
 * W=2, each with its own --data-dir) holding N keys; member 3 saves a
 * snapshot, is killed with SIGKILL, the survivors take writes while it is
 * down (updates of existing keys and new keys), and member 3 restarts:
 * - warm: from its snapshot (digest catch-up);
 * - fresh: the same again, with its data directory emptied first (a node
 *   joining with nothing: full pull).
 * Measured per case: spawn → /readyz 200, what member 3's catch-up received
 * (GET /v1/cluster: migration.warm / migration.pulled), and the entries the
 * survivors pushed to it (migration.rebalanced), then that every key reads
 * back with its latest value through member 3.
 *
 *   bun bench/warm-restart-cluster.ts [--keys 1000000] [--changes 10000] [--rounds 1] [--no-write]
 *
 * Uses the compiled binary ($SHOAL_BIN, default dist/shoal); every process
 * stopped by PID at the end, also on error or Ctrl-C.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadCluster } from "./cluster-load.ts";
import {
  cleanup,
  clusterFlags,
  isReady,
  type MemberPorts,
  memberPorts,
  redisCli,
  type ShoalMember,
  shoalBin,
  startMember,
  tableMembers,
  tempDir,
  until,
} from "./cluster-servers.ts";
import { loadAverage, machineLines, median, table, writeSection } from "./report.ts";
import { benchKey } from "./resp-load.ts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "1000000" },
    changes: { type: "string", default: "10000" },
    rounds: { type: "string", default: "1" },
    "no-write": { type: "boolean", default: false },
  },
});
const KEYS = Number(values.keys);
const CHANGES = Number(values.changes);
const ROUNDS = Number(values.rounds);
const RF = 2;
const ENTRY_BYTES = 16 + 100 + 16; // key, value, version and expiry: what a pushed or pulled entry carries

/** loadCluster, again on a failed batch (an overloaded machine can time a replica out: SETs are idempotent). */
async function write(targets: ShoalMember[], total: number, opts: Parameters<typeof loadCluster>[2] = {}): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await loadCluster(targets, total, opts);
    } catch (e) {
      if (attempt >= 5) throw e;
      console.log(`write attempt ${attempt} failed (${(e as Error).message.split("\n")[0]}); again`);
      await Bun.sleep(2000);
    }
  }
}

interface View {
  migration: {
    rebalanced: number;
    rebalancing?: boolean;
    pulled: number;
    pulledBytes: number;
    syncing: boolean;
    warm: { fetched: number; received: number; buckets: number; dropped: number; bytes: number; rangesDiffering: number; rangesCompared: number; ms: number } | null;
  };
}

async function view(m: { httpPort: number }): Promise<View> {
  return (await (await fetch(`http://127.0.0.1:${m.httpPort}/v1/cluster`)).json()) as View;
}

interface Case {
  readyMs: number;
  /** Entries member 3 received from its own catch-up (fetched, or pulled). */
  received: number;
  /** Bytes member 3's catch-up received (digests and versions included for warm). */
  receivedBytes: number;
  /** Entries the survivors pushed to member 3 after it came back. */
  pushed: number;
  /** Total bytes moved to member 3 (catch-up + pushes, estimated ENTRY_BYTES per pushed entry). */
  movedBytes: number;
  wrong: number;
  detail: string;
}

/** Kills member 3 with SIGKILL and waits until both survivors built their 2-member table. */
async function kill(m: ShoalMember, survivors: ShoalMember[]): Promise<void> {
  process.kill(m.pid, "SIGKILL");
  await m.exited;
  await until(() => survivors.every((s) => tableMembers(s) === 2), 60_000, "the survivors' 2-member table", 50);
}

/**
 * The survivors' views once no rebalance pass runs on them and their
 * counters stayed put for 3 s (re-replication or hand-offs done; a pass adds
 * its pushes to the counter only when it ends, so a still counter alone can
 * be a pass in the middle of its streams).
 */
async function pushesSettled(survivors: ShoalMember[]): Promise<View[]> {
  let views = await Promise.all(survivors.map(view));
  let last = "";
  let stableSince = performance.now();
  await until(
    async () => {
      views = await Promise.all(survivors.map(view));
      const now = views.map((v) => `${v.migration.rebalanced}${v.migration.rebalancing ? "+" : ""}`).join(",");
      if (now !== last || views.some((v) => v.migration.rebalancing)) {
        last = now;
        stableSince = performance.now();
      }
      return performance.now() - stableSince >= 3000;
    },
    600_000,
    "the survivors' pushes to settle",
    200,
  );
  return views;
}

/** Restarts member 3 and measures its catch-up. */
async function restart(p: MemberPorts, peers: string[], flags: string[], dir: string, survivors: ShoalMember[], total: number): Promise<{ m: ShoalMember; c: Case }> {
  // the survivors re-replicated what member 3 held among themselves after it died: not part of its restart
  const before = await pushesSettled(survivors);
  const t0 = performance.now();
  const spawnedAt = Date.now();
  const m = await startMember(p, peers, flags, dir, shoalBin(), 300_000); // a snapshot is loaded before the port answers
  await until(() => isReady(m), 300_000, "member 3's /readyz", 10);
  const readyMs = performance.now() - t0;
  for (const line of readFileSync(m.logFile, "utf8").split("\n")) if (/snapshot loaded|warm catch-up done|pushing it/.test(line)) console.log(`  member 3: ${line}`);
  // the pushes the join triggered
  const after = await pushesSettled(survivors);
  const pushed = after.reduce((n, v, i) => n + v.migration.rebalanced - before[i]!.migration.rebalanced, 0);
  for (const sv of survivors) {
    for (const line of readFileSync(sv.logFile, "utf8").split("\n")) if (/pushing it|rebalance push failed|partition table rebuilt/.test(line) && Date.parse(JSON.parse(line).time) >= spawnedAt) console.log(`  survivor ${sv.port}: ${line}`);
  }
  const v = (await view(m)).migration;
  const received = v.warm ? v.warm.received : v.pulled;
  const receivedBytes = v.warm ? v.warm.bytes : v.pulledBytes;
  const detail = v.warm
    ? `digest ranges differing ${v.warm.rangesDiffering}/${v.warm.rangesCompared}, smallest differing buckets ${v.warm.buckets}, entries received ${v.warm.received} (newer: ${v.warm.fetched}), dropped ${v.warm.dropped}, catch-up ${Math.round(v.warm.ms)} ms`
    : `pulled ${v.pulled}`;
  // every key through member 3 (forwarded to owners where it does not own them): latest values
  let wrong = 0;
  for (const i of [0, 1, 2, CHANGES - 1, CHANGES, 2 * CHANGES - 1, KEYS - 1, KEYS, KEYS + CHANGES - 1]) {
    if (i >= total) continue;
    const got = redisCli(m.port, ["GET", benchKey(i, 16)]).trim();
    const want = i < 2 * CHANGES ? (i < CHANGES ? "before-kill" : "while-down") : i >= KEYS ? "new-while-down" : "v".repeat(100);
    if (got !== want) wrong++;
  }
  return { m, c: { readyMs, received, receivedBytes, pushed, movedBytes: receivedBytes + pushed * ENTRY_BYTES, wrong, detail } };
}

async function round(i: number): Promise<{ warm: Case; fresh: Case }> {
  const dir = tempDir("shoal-warm-");
  const ports = await memberPorts(3);
  const peers = ports.map((p) => p.peer);
  const flagsOf = (n: number): string[] => [...clusterFlags(RF, 2), "--data-dir", join(dir, `n${n}`), "--snapshot-interval", "0"];
  const members: ShoalMember[] = [];
  for (let n = 0; n < 3; n++) members.push(await startMember(ports[n]!, peers, flagsOf(n), dir));
  await until(() => members.every((m) => tableMembers(m) === 3), 30_000, "3 members");
  for (const m of members) await until(() => isReady(m), 30_000, "ready");
  const loadMs = await write(members, KEYS);
  console.log(`round ${i}: loaded ${KEYS} keys in ${(loadMs / 1000).toFixed(1)} s`);
  const [a, b, c] = members as [ShoalMember, ShoalMember, ShoalMember];
  // changes after member 3's snapshot but before the kill, then while it is down
  let t = performance.now();
  redisCli(c.port, ["SAVE"], 120_000);
  console.log(`round ${i}: member 3 saved its snapshot in ${Math.round(performance.now() - t)} ms`);
  await write(members, CHANGES, { value: "before-kill" });
  await kill(c, [a, b]);
  await write([a, b], CHANGES, { from: CHANGES, value: "while-down" });
  await write([a, b], CHANGES, { from: KEYS, value: "new-while-down" });
  const total = KEYS + CHANGES;
  t = performance.now();
  const warm = await restart(ports[2]!, peers, flagsOf(2), dir, [a, b], total);
  console.log(`round ${i}: warm restart ready after ${(warm.c.readyMs / 1000).toFixed(2)} s; ${warm.c.detail}; survivors pushed ${warm.c.pushed}; wrong ${warm.c.wrong}`);
  // the same with an empty data directory: a node joining with nothing
  await kill(warm.m, [a, b]);
  await write([a, b], CHANGES, { from: CHANGES, value: "while-down" });
  rmSync(join(dir, "n2"), { recursive: true, force: true });
  const fresh = await restart(ports[2]!, peers, flagsOf(2), dir, [a, b], total);
  console.log(`round ${i}: fresh join ready after ${(fresh.c.readyMs / 1000).toFixed(2)} s; ${fresh.c.detail}; survivors pushed ${fresh.c.pushed}; wrong ${fresh.c.wrong}`);
  await cleanup();
  return { warm: warm.c, fresh: fresh.c };
}

async function main(): Promise<void> {
  const machine = machineLines();
  console.log(`bench pid ${process.pid}; binary ${shoalBin()}; ${KEYS} keys, ${CHANGES} changes, ${ROUNDS} round(s)`);
  const rounds: { warm: Case; fresh: Case }[] = [];
  for (let i = 1; i <= ROUNDS; i++) rounds.push(await round(i));
  const med = (k: "warm" | "fresh", f: keyof Case): number => median(rounds.map((r) => r[k][f] as number));
  const MB = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
  const rows = (["warm", "fresh"] as const).map((k) => [
    k === "warm" ? "restart from its snapshot" : "fresh join (empty data dir)",
    `**${(med(k, "readyMs") / 1000).toFixed(2)} s**`,
    Math.round(med(k, "received")).toLocaleString("en-US"),
    MB(med(k, "receivedBytes")),
    Math.round(med(k, "pushed")).toLocaleString("en-US"),
    `**${MB(med(k, "movedBytes"))}**`,
    String(med(k, "wrong")),
  ]);
  const tbl = table(["member 3 after kill -9", "spawn → /readyz", "entries its catch-up received", "bytes its catch-up received", "entries the survivors pushed to it", "data moved to it", "wrong reads (of 9 checked)"], rows);
  const summary = `Warm / fresh: time to ready **${(med("warm", "readyMs") / med("fresh", "readyMs")).toFixed(2)}x**, data moved **${(med("warm", "movedBytes") / med("fresh", "movedBytes")).toFixed(3)}x**.`;
  console.log(`\n${tbl}\n\n${summary}\n${rounds.map((r) => `warm: ${r.warm.detail}`).join("\n")}`);
  if (values["no-write"]) return;
  writeSection(
    "warm-restart-cluster",
    [
      "### Warm restart of one of three nodes (issue 14 part 3)",
      "",
      ...machine,
      `- load average after the run ${loadAverage()}`,
      `- command: \`SHOAL_BIN=${process.env.SHOAL_BIN ?? "dist/shoal"} bun bench/warm-restart-cluster.ts --keys ${KEYS} --changes ${CHANGES} --rounds ${ROUNDS}\``,
      `- 3 processes, RF=${RF}, W=2, preset lan, ${KEYS.toLocaleString("en-US")} keys (16 B keys, 100 B values). Member 3 runs SAVE, then ${CHANGES.toLocaleString("en-US")} keys are`,
      `  updated, member 3 is killed with SIGKILL, and while it is down ${CHANGES.toLocaleString("en-US")} other keys are updated and ${CHANGES.toLocaleString("en-US")} new keys written.`,
      "  *warm*: member 3 restarts with its data directory (snapshot loaded before its ports open, then the digest catch-up);",
      "  *fresh*: it is killed again and restarts with an empty data directory (full pull). *data moved* = what its catch-up",
      `  received (for warm: partition and bucket digests, the entries of the differing buckets) + entries the survivors pushed to it × ${ENTRY_BYTES} B.`,
      `  Medians of ${ROUNDS} round(s); read-back checks through member 3 after each restart.`,
      "",
      tbl,
      "",
      summary,
      "",
      ...rounds.map((r, i) => `- round ${i + 1} warm: ${r.warm.detail}`),
    ].join("\n"),
  );
}

try {
  await main();
} finally {
  await cleanup();
}
