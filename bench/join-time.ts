/**
 * Join time: a 3-node shoal cluster (RF=2, W=2) holding N keys (16-byte keys,
 * 100-byte values), then a 4th node joins. Measures the time from spawning
 * the 4th process to its /readyz answering 200, the entries its initial pull
 * received, the time until every copy is where the 4-member table puts it
 * (sum of local key counts back to 2 × N and stable), and the post-join
 * imbalance: owned partitions max/mean (and replica slots) from the table,
 * and keys per node max/mean from each node's /v1/stats. RSS (VmRSS) of every
 * node is sampled every 10-100 ms from the spawn until settled: the *join RSS
 * overhead* of an old node is its peak minus its RSS before the join (what
 * rebalancing costs it), the joiner's is its peak minus its RSS once settled.
 *
 *   npx bun bench/join-time.ts [--quick] [--keys 1000000] [--rounds 3] [--compare-bin OLD] [--no-write] [--keep-logs DIR]
 *
 * `--compare-bin` runs every round a second time with another binary (the
 * code before a change), so both are measured on the same machine state.
 * Uses the compiled binary ($SHOAL_BIN, default dist/shoal). Every process is
 * stopped by PID at the end of each round, also on error or Ctrl-C.
 */
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { PartitionTable } from "../core/cluster/partition-table.ts";
import { loadCluster } from "./cluster-load.ts";
import {
  cleanup,
  clusterFlags,
  isReady,
  memberPorts,
  type ShoalMember,
  shoalBin,
  startMember,
  startShoalCluster,
  tempDir,
  until,
} from "./cluster-servers.ts";
import { loadAverage, machineLines, median, table, writeSection } from "./report.ts";
import { rssBytes } from "./servers.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    keys: { type: "string" },
    rounds: { type: "string" },
    "no-write": { type: "boolean", default: false },
    "keep-logs": { type: "string" },
    "compare-bin": { type: "string" },
  },
});
const COMPARE = values["compare-bin"];
const MIB = 1024 * 1024;
const quick = values.quick === true;
const KEYS = Number(values.keys ?? (quick ? 100_000 : 1_000_000));
const ROUNDS = Number(values.rounds ?? (quick ? 1 : 3));
const RF = 2;
const PARTITIONS = 271;
const SETTLE_LIMIT_MS = 180_000;

/** Local entry count of a member (its own copies, not cluster-wide). */
async function localKeys(m: ShoalMember): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${m.httpPort}/v1/stats`);
  return Number(((await r.json()) as { keys: number }).keys);
}

/** The JSON fields of the last log line with `event` in a member's log, or null. */
function lastEvent(m: ShoalMember, event: string): Record<string, unknown> | null {
  const lines = readFileSync(m.logFile, "utf8").split("\n").filter((l) => l.includes(`"event":"${event}"`));
  return lines.length ? (JSON.parse(lines.at(-1)!) as Record<string, unknown>) : null;
}

interface Round {
  loadMs: number;
  readyMs: number;
  /** Spawn → last partition-table rebuild in the 4th node's log (membership converged), ms. */
  tableMs: number;
  /** Spawn → "initial sync done" in the 4th node's log, ms. */
  syncMs: number;
  settledMs: number;
  pulled: number;
  partitionsHeld: number;
  keysPerNode: number[];
  ownedMaxOverMean: number;
  replicaMaxOverMean: number;
  loadBefore: string;
  /** Binary the round ran. */
  bin: string;
  /** Per old node: peak RSS during the join minus RSS before it, bytes. */
  oldOverhead: number[];
  /** The joiner's peak RSS minus its RSS once settled, bytes. */
  joinerOverhead: number;
  /** RSS of the old nodes before the join and of the joiner once settled, bytes. */
  rssBefore: number[];
  joinerSettled: number;
}

/** Peak RSS per process over the samples taken by {@link RssPeaks.sample}. */
class RssPeaks {
  readonly peak: number[];
  constructor(private readonly pids: number[]) {
    this.peak = pids.map(() => 0);
  }
  sample(): void {
    this.pids.forEach((pid, i) => {
      try {
        this.peak[i] = Math.max(this.peak[i]!, rssBytes(pid));
      } catch {
        // exited: the round fails elsewhere
      }
    });
  }
}

async function round(i: number, bin: string): Promise<Round> {
  const dir = tempDir("shoal-join-");
  const flags = clusterFlags(RF, 2);
  const three = await startShoalCluster(3, flags, dir, bin);
  const loadMs = await loadCluster(three, KEYS, { partitionCount: PARTITIONS });
  const counts = await Promise.all(three.map(localKeys));
  const copies = counts.reduce((a, b) => a + b, 0);
  if (copies !== RF * KEYS) throw new Error(`after loading ${KEYS} keys the 3 nodes hold ${copies} copies (${counts.join(", ")}), expected ${RF * KEYS}`);
  console.log(`round ${i}: loaded ${KEYS} keys in ${(loadMs / 1000).toFixed(1)} s (${Math.round(KEYS / (loadMs / 1000))}/s); copies per node ${counts.join(", ")}`);
  await Bun.sleep(3000);
  const rssBefore = three.map((m) => rssBytes(m.pid));
  const loadBefore = loadAverage();
  const [p] = await memberPorts(1);
  const peers = [...three.map((m) => m.peer), p!.peer];
  const wall0 = Date.now();
  const t0 = performance.now();
  const fourth = await startMember(p!, peers, flags, dir, bin);
  const peaks = new RssPeaks([...three, fourth].map((m) => m.pid));
  await until(
    () => {
      peaks.sample();
      return isReady(fourth);
    },
    120_000,
    "the 4th node's /readyz",
    10,
  );
  const readyMs = performance.now() - t0;
  const sync = lastEvent(fourth, "initial sync round done");
  const since = (e: Record<string, unknown> | null): number => (e ? Date.parse(String(e.time)) - wall0 : Number.NaN);
  const tableMs = since(lastEvent(fourth, "partition table rebuilt"));
  const syncMs = since(sync);
  const all = [...three, fourth];
  // Settled: every copy where the 4-member table puts it, and the counts stable for 1 s.
  let last = "";
  let stableSince = performance.now();
  let keysPerNode: number[] = [];
  await until(
    async () => {
      peaks.sample();
      keysPerNode = await Promise.all(all.map(localKeys));
      const now = keysPerNode.join(",");
      if (now !== last) {
        last = now;
        stableSince = performance.now();
      }
      return keysPerNode.reduce((a, b) => a + b, 0) === RF * KEYS && performance.now() - stableSince >= 1000;
    },
    SETTLE_LIMIT_MS,
    `copies to settle at ${RF * KEYS} (last ${last})`,
    100,
  );
  const settledMs = stableSince - t0;
  peaks.sample();
  const joinerSettled = rssBytes(fourth.pid);
  const t = PartitionTable.build(
    all.map((m) => m.peer),
    1,
    { partitionCount: PARTITIONS, replicaCount: RF },
  );
  const replicaSlots = new Map<string, number>();
  for (let q = 0; q < PARTITIONS; q++) for (const r of t.replicas(q)) replicaSlots.set(r, (replicaSlots.get(r) ?? 0) + 1);
  const replicaMax = Math.max(...replicaSlots.values());
  const r: Round = {
    loadMs,
    readyMs,
    tableMs,
    syncMs,
    settledMs,
    pulled: Number(sync?.entries ?? Number.NaN),
    partitionsHeld: Number(sync?.partitions ?? Number.NaN),
    keysPerNode,
    ownedMaxOverMean: t.balance().maxOverMean,
    replicaMaxOverMean: replicaMax / ((PARTITIONS * (RF - 1)) / all.length),
    loadBefore,
    bin,
    oldOverhead: rssBefore.map((b, n) => peaks.peak[n]! - b),
    joinerOverhead: peaks.peak[3]! - joinerSettled,
    rssBefore,
    joinerSettled,
  };
  console.log(
    `round ${i}: 4-member table after ${(tableMs / 1000).toFixed(2)} s, pull done after ${(syncMs / 1000).toFixed(2)} s, ready after ${(readyMs / 1000).toFixed(2)} s (pulled ${r.pulled} entries for ${r.partitionsHeld} partitions); settled after ${(settledMs / 1000).toFixed(2)} s; keys per node ${keysPerNode.join(", ")}; RSS overhead old nodes ${r.oldOverhead.map((b) => (b / MIB).toFixed(1)).join(" / ")} MiB, joiner ${(r.joinerOverhead / MIB).toFixed(1)} MiB (${bin})`,
  );
  const keep = values["keep-logs"];
  if (keep) {
    mkdirSync(keep, { recursive: true });
    for (const [n, m] of all.entries()) copyFileSync(m.logFile, `${keep}/round${i}-node${n + 1}.log`);
  }
  await cleanup();
  return r;
}

async function main(): Promise<void> {
  const machine = machineLines();
  console.log(`bench pid ${process.pid}; binary ${shoalBin()}; ${KEYS} keys, ${ROUNDS} round(s)`);
  const all: Round[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    all.push(await round(i, shoalBin()));
    if (COMPARE) all.push(await round(i, COMPARE));
  }
  const rounds = all.filter((r) => r.bin === shoalBin());
  const compared = all.filter((r) => r.bin !== shoalBin());
  const med = (f: (r: Round) => number): number => median(rounds.map(f));
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  const keysMaxOverMean = (r: Round): number => Math.max(...r.keysPerNode) / ((RF * KEYS) / r.keysPerNode.length);
  const rows = rounds.map((r, i) => [
    String(i + 1),
    s(r.loadMs),
    s(r.tableMs),
    s(r.syncMs),
    `**${s(r.readyMs)}**`,
    r.pulled.toLocaleString("en-US"),
    String(r.partitionsHeld),
    s(r.settledMs),
    r.keysPerNode.map((k) => k.toLocaleString("en-US")).join(" / "),
    keysMaxOverMean(r).toFixed(3),
    r.loadBefore,
  ]);
  rows.push(["median", s(med((r) => r.loadMs)), s(med((r) => r.tableMs)), s(med((r) => r.syncMs)), `**${s(med((r) => r.readyMs))}**`, "", "", s(med((r) => r.settledMs)), "", med(keysMaxOverMean).toFixed(3), ""]);
  const tbl = table(
    ["round", "load s", "join → table s", "join → pull done s", "join → /readyz s", "entries pulled", "partitions held", "join → settled s", "copies per node after", "keys max/mean", "load avg before join"],
    rows,
  );
  const r0 = rounds[0]!;
  const summary = `4-member table: owned partitions max/mean **${r0.ownedMaxOverMean.toFixed(3)}**, replica slots max/mean ${r0.replicaMaxOverMean.toFixed(3)}; join → ready median **${s(med((r) => r.readyMs))} s** (goal ≤ 10 s).`;
  const mib = (b: number): string => (b / MIB).toFixed(1);
  const rssRow = (label: string, rs: Round[]): string[] => [
    label,
    rs.map((r) => r.rssBefore.map(mib).join(" / ")).join("; "),
    rs.map((r) => r.oldOverhead.map(mib).join(" / ")).join("; "),
    `**${mib(median(rs.map((r) => Math.max(...r.oldOverhead))))}**`,
    rs.map((r) => `${mib(r.joinerSettled)} (+${mib(r.joinerOverhead)})`).join("; "),
    `**${mib(median(rs.map((r) => r.joinerOverhead)))}**`,
  ];
  const rssTbl = table(
    ["binary", "old nodes' RSS before, MiB (per round)", "old nodes' peak − before, MiB", "median of the largest, MiB", "joiner settled RSS (+ peak above it), MiB", "joiner median, MiB"],
    [rssRow(process.env.SHOAL_BIN ?? "dist/shoal", rounds), ...(compared.length ? [rssRow(`${COMPARE} (--compare-bin)`, compared)] : [])],
  );
  console.log(`\n${tbl}\n\n${summary}\n\n${rssTbl}`);
  if (!values["no-write"]) {
    writeSection(
      "join-time",
      [
        "### Join time with data in the cluster",
        "",
        `A 3-node cluster (RF=${RF}, W=2, ${PARTITIONS} partitions, preset lan) holding ${KEYS.toLocaleString("en-US")} keys (16 B keys, 100 B values,`,
        "written to each key's owner with pipelined SETs), then a 4th node joins with static peers. *join → /readyz* is from",
        "spawning the 4th process to its /readyz answering 200 (polled every 10 ms): it has pulled every partition it holds.",
        "*table* and *pull done* are the 4th node's own log times (last `partition table rebuilt`, last `initial sync round done`) from the spawn.",
        "*settled* is when the copies on all four nodes add up to 2 × keys again (the old holders dropped what they handed",
        "over) and stay there for 1 s. Keys per node from each node's `/v1/stats` (local copies, owner + replica).",
        `Generated by \`npx bun bench/join-time.ts --keys ${KEYS} --rounds ${ROUNDS}\` with \`${process.env.SHOAL_BIN ?? "dist/shoal"}\`.`,
        "",
        ...machine,
        `- load average after the run ${loadAverage()}`,
        "",
        tbl,
        "",
        summary,
        "",
        "Join RSS overhead (VmRSS sampled every 10-100 ms from the spawn until settled; old nodes: peak minus RSS 3 s before the",
        "join, what rebalancing costs them; joiner: peak minus its RSS once settled)" +
          (compared.length ? `; the second row is the same rounds with \`--compare-bin ${COMPARE}\`, run right after each:` : ":"),
        "",
        rssTbl,
      ].join("\n"),
    );
  }
}

try {
  await main();
} finally {
  await cleanup();
}
