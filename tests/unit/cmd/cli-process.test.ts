/** The cli as a real process: piped output is complete even for large replies and slow readers (no truncation at exit). */
import { afterAll, expect, test } from "bun:test";
import { startFakeServer } from "./fake-server.ts";

const server = startFakeServer();
afterAll(() => server.stop());

test("a 100k-element reply reaches a slow pipe reader in full", async () => {
  // The reader sleeps first so the pipe fills up while the cli is exiting.
  const script = `"${process.execPath}" cmd/shoal.ts cli -p ${server.port} BIG 100000 | (sleep 0.5; wc -l)`;
  const proc = Bun.spawn(["bash", "-c", `set -o pipefail; ${script}`], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  expect(Number(out.trim().split("\n")[0])).toBe(100_000);
}, 30_000);

test("the last lines of a large reply are intact", async () => {
  const proc = Bun.spawn([process.execPath, "cmd/shoal.ts", "cli", "-p", String(server.port), "BIG", "100000"], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  const lines = out.trimEnd().split("\n");
  expect(lines[0]).toBe('     1) "0"');
  expect(lines.at(-1)).toBe('100000) "99999"');
}, 30_000);
