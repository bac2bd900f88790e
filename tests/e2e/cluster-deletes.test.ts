/**
 * Deleted keys stay deleted (issue 4) against dist/shoal, three nodes, RF=2
 * W=2. A replica that missed the deletes comes back in two ways:
 *
 * - paused: SIGSTOP until the others declare it dead, deletes and
 *   overwrites through the others, SIGCONT. It still holds the old copies in
 *   memory and refutes its death; once the views converge, no deleted key
 *   is back and no overwritten key has its old value, through every node,
 *   also after rebalancing settles.
 * - killed and restarted (kill -9, deletes, restart on the same addresses).
 *
 * The isolated-replica case (faults) is in cluster-split.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { RawClient } from "../helpers/raw-client.ts";
import {
  type Expected,
  killAll,
  launch,
  launchAll,
  nodeSpecs,
  timeToEvent,
  waitComplete,
  waitMembers,
  waitReady,
  writeAll,
} from "./cluster-harness.ts";

const KEYS = 6000;
const clients: RawClient[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await killAll();
});

/** Deletes keys `from`…`to-1` and overwrites `to`…`to+(to-from)-1` through `cs`; updates `expected` with what was acknowledged. */
async function deleteAndOverwrite(cs: RawClient[], expected: Expected, tag: string, from: number, to: number): Promise<void> {
  const dels = await writeAll(
    cs,
    Array.from({ length: to - from }, (_, i): [string, string] => [`d:${from + i}`, ""]),
    { command: (k) => ["DEL", k], ok: ":1\r\n", batch: 200 },
  );
  const span = to - from;
  const over = await writeAll(
    cs,
    Array.from({ length: span }, (_, i): [string, string] => [`d:${to + i}`, `${tag}:${to + i}`]),
    { batch: 200 },
  );
  expect(dels.acked.size).toBeGreaterThan(span * 0.95);
  expect(over.acked.size).toBeGreaterThan(span * 0.95);
  for (let i = from; i < to; i++) {
    if (dels.acked.has(`d:${i}`)) expected.set(`d:${i}`, null);
    else expected.delete(`d:${i}`); // unacknowledged: may or may not have happened
  }
  for (let i = to; i < to + span; i++) {
    const v = over.acked.get(`d:${i}`);
    if (v !== undefined) expected.set(`d:${i}`, v);
    else expected.delete(`d:${i}`);
  }
}

describe("e2e deleted keys stay deleted (dist/shoal, RF=2 W=2)", () => {
  test("a paused replica and a restarted replica do not resurrect deleted keys", async () => {
    const figures: Record<string, unknown> = {};
    const specs = await nodeSpecs(3, {
      prefix: "del",
      extra: (_i, peers) => ["--peers", peers.join(","), "--replica-count", "2", "--write-quorum", "2"],
    });
    const nodes = await launchAll(specs);
    await waitMembers(nodes, 3, 20_000, "formation");
    await waitReady(nodes, 20_000);
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    let c = nodes[2]!;
    const ca = await a.connect();
    const cb = await b.connect();
    clients.push(ca, cb);
    const base = await writeAll([ca, cb], Array.from({ length: KEYS }, (_, i): [string, string] => [`d:${i}`, `v1:${i}`]));
    expect(base.acked.size).toBeGreaterThan(KEYS * 0.99);
    const expected: Expected = new Map(base.acked);
    await waitComplete(nodes, expected, 60_000, "before");

    // pause c until declared dead, delete and overwrite, resume
    const pausedAt = Date.now();
    c.signal("SIGSTOP");
    figures["SIGSTOP → declared dead"] = await timeToEvent([a, b], "dead", c.peer, pausedAt, 60_000);
    await waitMembers([a, b], 2, 30_000, "after SIGSTOP");
    await deleteAndOverwrite([ca, cb], expected, "v2", 0, 1000);
    await waitComplete([a, b], expected, 30_000, "while paused");
    const resumedAt = Date.now();
    c.signal("SIGCONT");
    await waitMembers(nodes, 3, 60_000, "after SIGCONT");
    figures["SIGCONT → 3 members everywhere"] = Date.now() - resumedAt;
    figures["refutation"] = c.events("member alive").at(-1)?.reason ?? c.events().filter((e) => String(e.event).startsWith("member")).at(-1);
    await waitComplete(nodes, expected, 60_000, "after the paused replica came back");
    figures["SIGCONT → deletes and overwrites right through every node"] = Date.now() - resumedAt;
    await Bun.sleep(2000);
    await waitComplete(nodes, expected, 5_000, "2 s after the paused replica came back");

    // kill -9 c, delete and overwrite more, restart it
    const killedAt = Date.now();
    await c.kill9();
    figures["kill -9 → declared dead"] = await timeToEvent([a, b], "dead", c.peer, killedAt, 60_000);
    await waitMembers([a, b], 2, 30_000, "after kill -9");
    await deleteAndOverwrite([ca, cb], expected, "v3", 2000, 3000);
    const restartedAt = Date.now();
    c = await launch(c.spec);
    await waitReady([c], 60_000);
    await waitMembers([a, b, c], 3, 30_000, "after restart");
    await waitComplete([a, b, c], expected, 60_000, "after the restarted replica rejoined");
    figures["restart → deletes and overwrites right through every node"] = Date.now() - restartedAt;
    await Bun.sleep(2000);
    await waitComplete([a, b, c], expected, 5_000, "2 s after the restarted replica rejoined");

    console.log(`cluster-deletes:\n${JSON.stringify(figures, null, 2)}`);
    await Promise.all([a, b, c].map((n) => n.stop(10_000)));
  }, 240_000);
});
