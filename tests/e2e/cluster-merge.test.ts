/**
 * Split-cluster merge (issue 6 item 7) against dist/shoal: four nodes, RF=2
 * W=2, discovered through the example external plugin
 * (plugins/discovery/examples/file-plugin.ts, a peers file re-read every
 * 200 ms). Nodes 0-1 read a file listing only themselves, nodes 2-3 another:
 * two 2-node clusters form separately and each takes writes — keys only one
 * side has, keys both sides wrote (the later write must win, whichever side
 * made it) and keys one side deleted after both wrote them. Then both files
 * list all four: every node logs `discovery changed`, the views merge into
 * one 4-member cluster, and every key reads back through every node with its
 * last-writer-wins value (deleted ones stay deleted), two copies each, and
 * no orphaned third copy is left anywhere (anti-entropy hands them off).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../helpers/processes.ts";
import type { RawClient } from "../helpers/raw-client.ts";
import {
  type CopyAnomaly,
  copyAnomalies,
  type Expected,
  killAll,
  launchAll,
  nodeSpecs,
  type ShoalProc,
  showAnomaly,
  until,
  waitComplete,
  waitMembers,
  waitReady,
  writeAll,
} from "./cluster-harness.ts";

const PLUGIN = join(REPO_ROOT, "plugins/discovery/examples/file-plugin.ts");
const dir = mkdtempSync(join(tmpdir(), "shoal-e2e-merge-"));
const clients: RawClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `pairs` through `c`; every write must be acknowledged (a healthy 2-node cluster). */
async function writeOk(c: RawClient, pairs: [string, string][], command?: (k: string, v: string) => string[], ok?: string): Promise<void> {
  const r = await writeAll([c], pairs, { batch: 500, command, ok });
  if (r.acked.size !== pairs.length) throw new Error(`${pairs.length - r.acked.size} writes not acknowledged: ${JSON.stringify(Object.fromEntries(r.examples))}`);
}

const range = (n: number, f: (i: number) => [string, string]): [string, string][] => Array.from({ length: n }, (_, i) => f(i));

describe("e2e split-cluster merge (dist/shoal, external file discovery plugin)", () => {
  test("two separately formed halves merge into one cluster when discovery shows all four; data from both sides survives, LWW", async () => {
    const figures: Record<string, unknown> = {};
    const files = [join(dir, "left.txt"), join(dir, "right.txt")];
    const specs = await nodeSpecs(4, {
      prefix: "merge",
      extra: (i) => {
        const yaml = join(dir, `node-${i}.yaml`);
        writeFileSync(yaml, `discovery_options:\n  path: ${files[i < 2 ? 0 : 1]}\n  interval: 200\n`);
        return ["--config", yaml, "--discovery-plugin", PLUGIN, "--replica-count", "2", "--write-quorum", "2", "--fault-injection", "--anti-entropy-interval", "2s"];
      },
    });
    const peer = (i: number) => `${specs[i]!.host}:${specs[i]!.peerPort}`;
    writeFileSync(files[0]!, `${peer(0)}\n${peer(1)}\n`);
    writeFileSync(files[1]!, `${peer(2)}\n${peer(3)}\n`);
    const nodes = await launchAll(specs);
    const left = nodes.slice(0, 2);
    const right = nodes.slice(2);
    await waitMembers(nodes, 2, 20_000, "two halves");
    await waitReady(nodes, 20_000);

    const cl = await nodes[0]!.connect();
    const cr = await nodes[2]!.connect();
    clients.push(cl, cr);
    const expected: Expected = new Map();
    // keys only one side has
    const onlyLeft = range(2000, (i) => [`L:${i}`, `left:${i}`]);
    const onlyRight = range(2000, (i) => [`R:${i}`, `right:${i}`]);
    await writeOk(cl, onlyLeft);
    await writeOk(cr, onlyRight);
    for (const [k, v] of [...onlyLeft, ...onlyRight]) expected.set(k, v);
    // keys both sides write: even ones left first, odd ones right first; the second write wins
    const firstLeft = range(500, (i) => [`C:${2 * i}`, `left-first:${2 * i}`]);
    const firstRight = range(500, (i) => [`C:${2 * i + 1}`, `right-first:${2 * i + 1}`]);
    await writeOk(cl, firstLeft);
    await writeOk(cr, firstRight);
    // keys both sides write, then the left side deletes
    await writeOk(cl, range(300, (i) => [`X:${i}`, `left:${i}`]));
    await writeOk(cr, range(300, (i) => [`X:${i}`, `right:${i}`]));
    await Bun.sleep(200); // the later writes must be later by more than clock noise
    const thenRight = range(500, (i) => [`C:${2 * i}`, `right-later:${2 * i}`]);
    const thenLeft = range(500, (i) => [`C:${2 * i + 1}`, `left-later:${2 * i + 1}`]);
    await writeOk(cr, thenRight);
    await writeOk(cl, thenLeft);
    await writeOk(cl, range(300, (i) => [`X:${i}`, ""]), (k) => ["DEL", k], ":1\r\n");
    for (const [k, v] of [...thenRight, ...thenLeft]) expected.set(k, v);
    for (let i = 0; i < 300; i++) expected.set(`X:${i}`, null);
    // each half on its own: the other half's keys are absent
    const leftView: Expected = new Map([...onlyRight.slice(0, 50)].map(([k]) => [k, null]));
    await waitComplete(left, leftView, 5000, "left half before the merge");
    expect(nodes.every((n) => n.members() === 2)).toBe(true);

    // discovery now shows all four
    const all = `${[0, 1, 2, 3].map(peer).join("\n")}\n`;
    const mergedAt = Date.now();
    for (const f of files) {
      writeFileSync(`${f}.tmp`, all); // whole file at once: the plugin never reads half of it
      renameSync(`${f}.tmp`, f);
    }
    await waitMembers(nodes, 4, 30_000, "after discovery listed all four");
    figures["discovery lists 4 → 4 members everywhere"] = Date.now() - mergedAt;
    // each node's own discovery reports the other half (a node may have been joined by the others first)
    const changed = (n: ShoalProc, i: number) =>
      n.events("discovery changed").some((e) => e.peers === 4 && (e.added as string[]).includes(peer(i < 2 ? 2 : 0)));
    expect(await until(() => nodes.every(changed), 10_000, 50)).toBe(true);
    await waitReady(nodes, 30_000);
    await waitComplete(nodes, expected, 60_000, "after the merge");
    figures["discovery lists 4 → every key right through every node"] = Date.now() - mergedAt;
    // every live key has at least two copies and no deleted key has a live copy anywhere
    let anomalies: CopyAnomaly[] = [];
    const unsafe = (a: CopyAnomaly) => a.holders.length < a.want || (a.want === 0 && a.holders.length > 0);
    const safe = await until(async () => !(anomalies = await copyAnomalies(nodes, 2, expected)).some(unsafe), 60_000, 500);
    if (!safe) throw new Error(`after the merge: ${anomalies.filter(unsafe).map(showAnomaly).slice(0, 12).join("; ")}`);
    figures["discovery lists 4 → ≥ 2 copies of every key, none of deleted ones"] = Date.now() - mergedAt;
    // A node that stops holding a key may keep its copy when a newer version reached it while it pushed its own
    // (the hand-off drops only the version it pushed): anti-entropy hands such orphaned copies to their holders
    // and drops them, so within a few rounds no key has more than its 2 copies.
    let extra: CopyAnomaly[] = [];
    const clean = await until(async () => (extra = (await copyAnomalies(nodes, 2, expected)).filter((a) => a.holders.length > a.want)).length === 0, 60_000, 500);
    figures["discovery lists 4 → no orphaned copies (exactly 2 copies of every key)"] = Date.now() - mergedAt;
    if (!clean) throw new Error(`orphaned copies remain after the merge: ${extra.length} keys, e.g. ${extra.slice(0, 5).map(showAnomaly).join("; ")}`);
    expect(extra).toEqual([]);
    await Bun.sleep(2000);
    await waitComplete(nodes, expected, 5000, "2 s after the merge settled");
    expect([...left, ...right].every((n) => n.members() === 4)).toBe(true);

    console.log(`cluster-merge:\n${JSON.stringify(figures, null, 2)}`);
    await Promise.all(nodes.map((n) => n.stop(10_000)));
  }, 180_000);
});
