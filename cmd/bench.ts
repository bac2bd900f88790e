/**
 * `shoal bench`: a redis-benchmark style load generator over real
 * connections. Prints per test requests/s, p50 and p99 latency (ms).
 */
import { BENCH_HELP } from "./help.ts";
import { CONNECTION_OPTIONS, type CommandIO, connectionTarget, parseOptions, positiveInt, UsageError } from "./io.ts";
import { encodeCommand, RespClient, RespError, type RespReply } from "./resp-client.ts";

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  "-c": { key: "clients", value: true },
  "-n": { key: "requests", value: true },
  "-d": { key: "size", value: true },
  "-P": { key: "pipeline", value: true },
  "-t": { key: "tests", value: true },
  "-r": { key: "keyspace", value: true },
  "-q": { key: "quiet", value: false },
};

type Args = (string | Uint8Array)[];

/** Command generators per test name; `key()` draws a key from the keyspace. */
const TESTS: Record<string, (key: () => string, value: Uint8Array) => Args> = {
  ping: () => ["PING"],
  set: (key, value) => ["SET", key(), value],
  get: (key) => ["GET", key()],
  incr: (key) => ["INCR", `counter:${key().slice(4)}`],
  del: (key) => ["DEL", key()],
  "dm.put": (key, value) => ["DM.PUT", "bench", key(), value],
  "dm.get": (key) => ["DM.GET", "bench", key()],
};

/** Result of one test. */
export interface BenchResult {
  test: string;
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** Quantile q (0..1) of sorted latencies. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/** One result line, like `redis-benchmark -q`. */
export function formatResult(r: BenchResult): string {
  const errors = r.errors > 0 ? ` (${r.errors} errors, first: ${r.firstError})` : "";
  return `${r.test.toUpperCase()}: ${r.opsPerSec.toFixed(2)} requests per second, p50=${r.p50Ms.toFixed(3)} msec, p99=${r.p99Ms.toFixed(3)} msec${errors}\n`;
}

async function runTest(
  clients: RespClient[],
  test: string,
  total: number,
  pipeline: number,
  keyspace: number,
  value: Uint8Array,
  progress: ((done: number, elapsed: number) => void) | null,
): Promise<BenchResult> {
  const make = TESTS[test]!;
  const key = keyspace > 0 ? () => `key:${String(Math.floor(Math.random() * keyspace)).padStart(12, "0")}` : () => "key:__rand_int__";
  const latencies = new Float64Array(total);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  progress?.(0, 0);
  const timer = progress ? setInterval(() => progress(done, (performance.now() - started) / 1000), 250) : undefined;
  const worker = async (client: RespClient): Promise<void> => {
    while (issued < total) {
      const batch = Math.min(pipeline, total - issued);
      issued += batch;
      const parts = Array.from({ length: batch }, () => encodeCommand(make(key, value)));
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      const sent = performance.now();
      await new Promise<void>((resolve, reject) => {
        let left = batch;
        const onReply = (reply: RespReply | Error): void => {
          if (reply instanceof Error) return reject(reply);
          if (reply instanceof RespError) {
            errors++;
            firstError ??= reply.message;
          }
          latencies[done++] = performance.now() - sent;
          if (--left === 0) resolve();
        };
        client.writeRaw(bytes, Array.from({ length: batch }, () => onReply));
      });
    }
  };
  try {
    await Promise.all(clients.map(worker));
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  return { test, requests: total, errors, firstError, seconds, opsPerSec: total / seconds, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
}

/** Runs `shoal bench`; returns the exit status. */
export async function runBench(args: readonly string[], io: CommandIO): Promise<number> {
  const { options, rest, help } = parseOptions(args, OPTIONS);
  if (help) {
    io.out(BENCH_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const target = connectionTarget(options, io.env);
  const clientCount = positiveInt(options["clients"] ?? "50", "-c");
  const requests = positiveInt(options["requests"] ?? "100000", "-n");
  const size = positiveInt(options["size"] ?? "100", "-d");
  const pipeline = positiveInt(options["pipeline"] ?? "1", "-P");
  const keyspace = options["keyspace"] === undefined ? 0 : positiveInt(options["keyspace"], "-r");
  const tests = (options["tests"] ?? "set,get").split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
  for (const t of tests) if (!TESTS[t]) throw new UsageError(`-t: unknown test ${JSON.stringify(t)} (known: ${Object.keys(TESTS).join(",")})`);
  const quiet = options["quiet"] === "true";
  const value = new Uint8Array(size).fill(0x78);

  let clients: RespClient[];
  try {
    clients = await Promise.all(Array.from({ length: clientCount }, () => RespClient.connect(target)));
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    return 1;
  }
  try {
    for (const test of tests) {
      const progress = quiet
        ? null
        : (done: number, elapsed: number) => io.err(`\r${test.toUpperCase()}: ${done}/${requests} requests, ${(elapsed > 0 ? done / elapsed : 0).toFixed(1)} req/s`);
      const result = await runTest(clients, test, requests, pipeline, keyspace, value, progress);
      if (!quiet) io.err("\r\x1b[K");
      io.out(formatResult(result));
    }
    return 0;
  } catch (err) {
    io.err(`\n${(err as Error).message}\n`);
    return 1;
  } finally {
    for (const c of clients) c.close();
  }
}
