/**
 * Embedded get/put: shoal's in-process map vs the npm `lru-cache` package,
 * same keys and values, timed with a manual loop (median of interleaved passes).
 *
 *   bun bench/embedded-vs-lru-cache.ts [--keys 100000] [--passes 21] [--no-write]
 *
 * Variants, all through the embedded API of `Shoal.start()` (one node, no
 * cluster): `shoal.map(name, { storage: "reference" })` put/get with string
 * keys (values kept by reference, as lru-cache keeps them; once unbounded,
 * once with maxKeys 2N as the lru-cache has max 2N), the default arena
 * map's put/get (get returns a copy), the arena's `setRange/lookup` on byte
 * ranges (the RESP hot path; lookup returns an entry index), and lru-cache
 * `set/get` with string keys. Writes the "embedded-vs-lru-cache" section of
 * BENCHMARKS.md.
 */
import { parseArgs } from "node:util";
import { LRUCache } from "lru-cache";
import { Shoal } from "../core/mod.ts";
import type { MapStore } from "../core/store/map-store.ts";
import type { RefMap } from "../core/store/ref-map.ts";
import { machineLines, median, table, writeSection } from "./report.ts";
import { benchKey } from "./resp-load.ts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "100000" },
    passes: { type: "string", default: "21" },
    "no-write": { type: "boolean", default: false },
  },
});
const N = Number(values.keys);
const PASSES = Number(values.passes);
const KEY_BYTES = 16;
const VALUE_BYTES = 100;

const keys = Array.from({ length: N }, (_, i) => benchKey(i, KEY_BYTES));
const keyBuf = new TextEncoder().encode(keys.join(""));
const value = new Uint8Array(VALUE_BYTES).fill(0x76);
let sink = 0;

const shoal = await Shoal.start();
const refMap = shoal.map("bench-ref", { storage: "reference" });
// the same map bounded as the lru-cache is (max 2N entries): eviction armed, never reached
const boundedMap = shoal.map("bench-ref-bounded", { storage: "reference" }) as RefMap;
boundedMap.limits = { ...boundedMap.limits, maxKeys: N * 2 };
const apiMap = shoal.map("bench-api");
const rawMap = shoal.map("bench-raw") as MapStore;
const lru = new LRUCache<string, Uint8Array>({ max: N * 2 });

/** One pass = N operations; returns ns per operation. */
type Pass = () => number;
const timed = (fn: () => void): number => {
  const t0 = Bun.nanoseconds();
  fn();
  return (Bun.nanoseconds() - t0) / N;
};

const variants: Record<string, { put: Pass; get: Pass }> = {
  "lru-cache set/get": {
    put: () => timed(() => { for (let i = 0; i < N; i++) lru.set(keys[i]!, value); }),
    get: () => timed(() => { for (let i = 0; i < N; i++) sink += lru.get(keys[i]!)!.length; }),
  },
  "shoal map.put/get, storage reference (string keys)": {
    put: () => timed(() => { for (let i = 0; i < N; i++) refMap.put(keys[i]!, value); }),
    get: () => timed(() => { for (let i = 0; i < N; i++) sink += refMap.get(keys[i]!)!.length; }),
  },
  "shoal map.put/get, storage reference, maxKeys 2N": {
    put: () => timed(() => { for (let i = 0; i < N; i++) boundedMap.put(keys[i]!, value); }),
    get: () => timed(() => { for (let i = 0; i < N; i++) sink += boundedMap.get(keys[i]!)!.length; }),
  },
  "shoal map.put/get, storage arena (string keys)": {
    put: () => timed(() => { for (let i = 0; i < N; i++) apiMap.put(keys[i]!, value); }),
    get: () => timed(() => { for (let i = 0; i < N; i++) sink += apiMap.get(keys[i]!)!.length; }),
  },
  "shoal setRange/lookup (byte ranges)": {
    put: () => timed(() => { for (let i = 0; i < N; i++) rawMap.setRange(keyBuf, i * KEY_BYTES, KEY_BYTES, value, 0, VALUE_BYTES, 0); }),
    get: () => timed(() => { for (let i = 0; i < N; i++) sink += rawMap.lookup(keyBuf, i * KEY_BYTES, KEY_BYTES); }),
  },
};

const samples = new Map<string, number[]>();
const names = Object.keys(variants);
for (let pass = 0; pass < PASSES + 2; pass++) {
  // Rotate the order each pass; the first two passes are warm-up (JIT, first inserts).
  for (let j = 0; j < names.length; j++) {
    const name = names[(pass + j) % names.length]!;
    Bun.gc(true);
    for (const op of ["put", "get"] as const) {
      const ns = variants[name]![op]();
      if (pass >= 2) samples.set(`${name}/${op}`, [...(samples.get(`${name}/${op}`) ?? []), ns]);
    }
  }
}
if (refMap.size() !== N || boundedMap.size() !== N || apiMap.size() !== N || rawMap.size() !== N || lru.size !== N || sink === 0) throw new Error("benchmark maps are incomplete");

const base = { put: median(samples.get(`${names[0]}/put`)!), get: median(samples.get(`${names[0]}/get`)!) };
const rows: string[][] = [];
for (const name of names) {
  for (const op of ["put", "get"] as const) {
    const ns = median(samples.get(`${name}/${op}`)!);
    const ratio = base[op] / ns;
    rows.push([name, op === "put" ? "set/put" : "get", ns.toFixed(0), `${(1e3 / ns).toFixed(2)}M`, name === names[0] ? "1.00x" : `**${ratio.toFixed(2)}x**`]);
  }
}
const tbl = table(["variant", "op", "ns/op (median)", "ops/s", "speed vs lru-cache"], rows);
console.log(tbl);
if (!values["no-write"]) {
  writeSection(
    "embedded-vs-lru-cache",
    [
      "## Embedded get/put vs lru-cache",
      "",
      `${N.toLocaleString("en")} keys of ${KEY_BYTES} bytes, ${VALUE_BYTES}-byte Uint8Array values, all hits; each pass`,
      `does every key once (puts overwrite after the first pass). Median over ${PASSES} passes after 2 warm-up`,
      "passes, variants interleaved with a full GC before each. Every shoal variant is a map of `await Shoal.start()`",
      "(the embedded API, one node): `storage: \"reference\"` keeps and returns the caller's arrays as lru-cache does",
      "(a hit stamps the entry with a use counter and eviction samples, as Redis does, where lru-cache relinks its list;",
      "the maxKeys 2N row is bounded like the lru-cache, which has max 2N);",
      "the arena map copies values in and `get` copies them out; `lookup` returns an entry index without copying.",
      `Generated by \`bun bench/embedded-vs-lru-cache.ts --keys ${N} --passes ${PASSES}\`.`,
      "",
      ...machineLines(),
      "",
      tbl,
    ].join("\n"),
  );
}
await shoal.stop();
