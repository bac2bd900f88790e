/**
 * Memory per hash field and per set member: RSS growth of redis-server and
 * of a shoal node after loading hashes and sets, big ones (one key with a
 * million fields: Redis' hashtable encoding, shoal's FieldTable) and small
 * ones (many keys of 10 fields: Redis' listpack, shoal's compact blob).
 *
 *   bun bench/memory-per-field.ts [--fields 1000000] [--no-write]
 *
 * Fields, members and values are 16 bytes. RSS is VmRSS from /proc, read
 * after a settle pause before and after the load; every scenario runs on a
 * fresh server, one server at a time. Writes the "memory-per-field" section
 * of BENCHMARKS.md.
 */
import { parseArgs } from "node:util";
import { machineLines, table, writeSection } from "./report.ts";
import { type BenchServer, rssBytes, shoalCommand, startRedis, startShoal, stopAll } from "./servers.ts";

const { values } = parseArgs({
  options: {
    fields: { type: "string", default: "1000000" },
    settle: { type: "string", default: "3000" },
    "no-write": { type: "boolean", default: false },
  },
});
const FIELDS = Number(values.fields);
const SETTLE_MS = Number(values.settle);
const SMALL = 10;
const MiB = 1024 * 1024;
const enc = new TextEncoder();

const pad = (prefix: string, i: number): string => prefix + String(i).padStart(16 - prefix.length, "0");

/** A scenario: the commands that load it (as argv lists, generated in batches) and what it holds. */
interface Scenario {
  name: string;
  what: string;
  commands: number;
  command(i: number): string[];
}

const scenarios: Scenario[] = [
  {
    name: "hash, big",
    what: `1 hash of ${FIELDS.toLocaleString("en")} fields (HSET one field per command)`,
    commands: FIELDS,
    command: (i) => ["HSET", "bighash", pad("f", i), pad("v", i)],
  },
  {
    name: "hash, small",
    what: `${(FIELDS / SMALL).toLocaleString("en")} hashes of ${SMALL} fields`,
    commands: FIELDS / SMALL,
    command: (i) => ["HSET", pad("h", i), ...Array.from({ length: SMALL }, (_, k) => [pad(`f${k}`, i), pad("v", i)]).flat()],
  },
  {
    name: "set, big",
    what: `1 set of ${FIELDS.toLocaleString("en")} members`,
    commands: FIELDS,
    command: (i) => ["SADD", "bigset", pad("m", i)],
  },
  {
    name: "set, small",
    what: `${(FIELDS / SMALL).toLocaleString("en")} sets of ${SMALL} members`,
    commands: FIELDS / SMALL,
    command: (i) => ["SADD", pad("s", i), ...Array.from({ length: SMALL }, (_, k) => pad(`m${k}`, i))],
  },
];

function encode(argv: string[]): string {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${a.length}\r\n${a}\r\n`;
  return s;
}

/** Sends the scenario's commands pipelined, 5,000 per write, waiting for each batch's integer replies. */
async function load(port: number, sc: Scenario): Promise<number> {
  const t0 = performance.now();
  let lines = 0;
  let want = 0;
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        if (chunk.includes(45)) failure = new Error(`error reply: ${new TextDecoder().decode(chunk.subarray(0, 200))}`);
        for (const c of chunk) if (c === 10) lines++;
        if ((lines >= want || failure) && wake) wake();
      },
      close() {
        failure ??= new Error("connection closed during load");
        wake?.();
      },
    },
  });
  try {
    for (let from = 0; from < sc.commands; from += 5000) {
      const n = Math.min(5000, sc.commands - from);
      let s = "";
      for (let i = from; i < from + n; i++) s += encode(sc.command(i));
      want += n;
      const done = new Promise<void>((resolve) => (wake = resolve));
      socket.write(enc.encode(s));
      if (lines < want && !failure) await done;
      if (failure) throw failure;
    }
  } finally {
    socket.end();
  }
  return performance.now() - t0;
}

function usedMemory(port: number): number {
  const r = Bun.spawnSync(["redis-cli", "-h", "127.0.0.1", "-p", String(port), "info", "memory"]);
  return Number(/used_memory:(\d+)/.exec(r.stdout.toString())?.[1] ?? Number.NaN);
}

interface Result {
  server: string;
  scenario: string;
  perField: number;
  usedPerField: number;
  loadMs: number;
}

async function measure(start: () => Promise<BenchServer>, sc: Scenario): Promise<Result> {
  const server = await start();
  try {
    await Bun.sleep(SETTLE_MS);
    const before = rssBytes(server.pid);
    const usedBefore = usedMemory(server.port);
    const loadMs = await load(server.port, sc);
    await Bun.sleep(SETTLE_MS);
    const after = rssBytes(server.pid);
    const used = usedMemory(server.port) - usedBefore;
    const r = { server: server.name, scenario: sc.name, perField: (after - before) / FIELDS, usedPerField: used / FIELDS, loadMs };
    console.log(
      `${sc.name.padEnd(12)} ${server.name.padEnd(6)} RSS ${(before / MiB).toFixed(1)} -> ${(after / MiB).toFixed(1)} MiB: ${r.perField.toFixed(1)} B/field (used_memory ${r.usedPerField.toFixed(1)}), load ${(loadMs / 1000).toFixed(1)} s`,
    );
    return r;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const machine = machineLines();
  const rows: string[][] = [];
  const ratios: string[] = [];
  for (const sc of scenarios) {
    const r = await measure(() => startRedis(), sc);
    const s = await measure(() => startShoal(), sc);
    const ratio = s.perField / r.perField;
    ratios.push(`${sc.name}: ${ratio.toFixed(2)}x`);
    for (const x of [r, s]) {
      rows.push([
        sc.name,
        x.server,
        `**${x.perField.toFixed(1)}**`,
        x.usedPerField.toFixed(1),
        x === s ? `${ratio.toFixed(2)}x` : "",
        `${Math.round(FIELDS / (x.loadMs / 1000) / 1000)}k`,
      ]);
    }
  }
  const tbl = table(["layout", "server", "RSS growth B/field", "used_memory B/field", "shoal/redis (RSS)", "load fields/s"], rows);
  console.log(`\n${tbl}\n\n${ratios.join(", ")}`);
  if (values["no-write"]) return;
  writeSection(
    "memory-per-field",
    [
      "## Memory per hash field and per set member vs redis-server",
      "",
      `${FIELDS.toLocaleString("en")} fields (or members) of 16 bytes, hash values of 16 bytes, in each layout: ${scenarios.map((s) => s.what).join("; ")}.`,
      "Big collections are past the compact limits (Redis: hashtable; shoal: a FieldTable in the map's arena); small ones are",
      "within them (Redis 7.0: listpack for hashes, hashtable for non-integer sets; shoal: one compact blob per key). RSS growth =",
      `VmRSS after minus before, each read after a ${SETTLE_MS} ms pause; a fresh server per layout, one at a time; pipelined loads`,
      `(5,000 commands per write). shoal: ${shoalCommand()}. Generated by \`bun bench/memory-per-field.ts --fields ${FIELDS}\`.`,
      "",
      ...machine,
      "",
      tbl,
      "",
      `**shoal/redis RSS growth per field: ${ratios.join(", ")}.**`,
    ].join("\n"),
  );
}

try {
  await main();
} finally {
  await stopAll();
}
