/**
 * Property/fuzz test: random and mutated RESP frames over many connections
 * (some left half-sent and stalled) must never take the node down. After
 * every batch a fresh connection must get +PONG and the data written before
 * the fuzz must be intact. Bounded: FUZZ_FRAMES (default 20,000) frames.
 * FUZZ_SEED replays a run; the seed is printed. FUZZ_AGAINST_REDIS=1 points the
 * same fuzz at redis-server (harness self-check; the DM.* sentinel is skipped).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { sleep } from "../../helpers/ports.ts";
import { type ServerProcess, startRedis, startShoal } from "../../helpers/processes.ts";
import { RawClient } from "../../helpers/raw-client.ts";
import { anyFrame } from "./frames.ts";

const TOTAL_FRAMES = Number(process.env.FUZZ_FRAMES ?? 20_000);
const FRAMES_PER_RUN_MIN = 30;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const MAX_STALLED = 40;
const AGAINST_REDIS = Boolean(process.env.FUZZ_AGAINST_REDIS);

const BIN_VALUE = Buffer.from([0, 1, 2, 13, 10, 255, 254, 36, 42]);
const SENTINELS: [string[], string][] = [
  [["GET", "sentinel:str"], "$13\r\nsentinel-data\r\n"],
  [["GET", "sentinel:bin"], `$${BIN_VALUE.length}\r\n${BIN_VALUE.toString("latin1")}\r\n`],
  [["GET", "sentinel:counter"], "$2\r\n42\r\n"],
  [["DM.GET", "sentinel-map", "k"], "$8\r\nmap-data\r\n"],
];

let node: ServerProcess;
const stalled: RawClient[] = [];

beforeAll(async () => {
  node = AGAINST_REDIS ? await startRedis() : await startShoal({ args: ["--frame-timeout", "2s"] });
  const c = await RawClient.connect(node.port);
  expect(await c.call(["SET", "sentinel:str", "sentinel-data"])).toBe("+OK\r\n");
  expect(await c.call(["SET", "sentinel:bin", BIN_VALUE])).toBe("+OK\r\n");
  expect(await c.call(["SET", "sentinel:counter", "41"])).toBe("+OK\r\n");
  expect(await c.call(["INCR", "sentinel:counter"])).toBe(":42\r\n");
  if (!AGAINST_REDIS) expect((await c.call(["DM.PUT", "sentinel-map", "k", "map-data"])).startsWith("-")).toBe(false);
  c.close();
});

afterAll(async () => {
  for (const c of stalled) c.close();
  await node?.stop();
});

async function assertHealthy(): Promise<void> {
  const c = await RawClient.connect(node.port, "127.0.0.1", 5000);
  try {
    expect(await c.call(["PING"], 5000)).toBe("+PONG\r\n");
    for (const [cmd, want] of SENTINELS) if (!AGAINST_REDIS || cmd[0] === "GET") expect(await c.call(cmd, 5000)).toBe(want);
  } finally {
    c.close();
  }
}

test(`fuzz: ${TOTAL_FRAMES} hostile frames leave the node answering and its data intact`, async () => {
  let frames = 0;
  let runs = 0;
  let closedByServer = 0;
  const started = Date.now();
  const batch = fc.record({
    frames: fc.array(fc.tuple(fc.nat(3), anyFrame), { minLength: FRAMES_PER_RUN_MIN, maxLength: FRAMES_PER_RUN_MIN * 2 }),
    stall: fc.boolean(),
  });
  await fc.assert(
    fc.asyncProperty(batch, async ({ frames: batchFrames, stall }) => {
      runs++;
      const conns = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(node.port)));
      for (const [n, [i, frame]] of batchFrames.entries()) {
        // a protocol error closes the connection: reconnect so later frames still reach the parser
        if (conns[i]!.isClosed) {
          closedByServer++;
          conns[i] = await RawClient.connect(node.port);
        }
        conns[i]!.send(frame);
        frames++;
        if (n % 8 === 7) await sleep(1);
      }
      await sleep(5);
      for (const c of conns) {
        if (c.isClosed) closedByServer++;
        if (stall && stalled.length < MAX_STALLED && !c.isClosed) {
          // leave it open, possibly mid-frame: the node must cope with stalled clients
          stalled.push(c);
          // a half frame to make sure it is mid-command
          c.send("*3\r\n$3\r\nSET\r\n$2\r\nfz");
        } else c.close();
      }
      await assertHealthy();
    }),
    { numRuns: Math.ceil(TOTAL_FRAMES / FRAMES_PER_RUN_MIN), seed: SEED, endOnFailure: true, interruptAfterTimeLimit: 10 * 60_000 },
  );
  await assertHealthy();
  const stalledClosed = stalled.filter((c) => c.isClosed).length;
  console.log(
    `resp-fuzz: ${frames} frames in ${runs} batches over ${runs * 4 + closedByServer} connections, seed ${SEED}, ` +
      `${closedByServer} connections closed by the node, ${stalledClosed}/${stalled.length} stalled clients closed, ${Date.now() - started} ms`,
  );
  expect(frames).toBeGreaterThanOrEqual(TOTAL_FRAMES);
}, 15 * 60_000);
