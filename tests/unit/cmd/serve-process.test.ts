/** `shoal serve` as a real process: starts, answers, and stops cleanly with exit 0 on SIGTERM/SIGINT. */
import { afterAll, expect, test } from "bun:test";
import { RespClient, RespSimple } from "../../../cmd/resp-client.ts";

const bun = process.execPath;
const started: Bun.Subprocess[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null) p.kill(9);
});

const randomPort = () => 20_000 + Math.floor(Math.random() * 40_000);

/** Starts serve on random ports, retrying on port clashes; resolves once it logs that it listens. */
async function startServe(extraEnv: Record<string, string> = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = randomPort();
    const httpPort = port + 1;
    const proc = Bun.spawn([bun, "cmd/shoal.ts", "serve", "--port", String(port), "--http-port", String(httpPort), "--peer-port", String(port + 2)], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...extraEnv },
    });
    started.push(proc);
    const reader = proc.stdout.getReader();
    let text = "";
    const deadline = Date.now() + 10_000;
    // one read stays pending across ticks: a fresh read() per tick would drop what an abandoned read resolves with
    let pending = reader.read();
    while (Date.now() < deadline && !text.includes("listening")) {
      const chunk = await Promise.race([pending, Bun.sleep(200).then(() => null)]);
      if (chunk === null) {
        if (proc.exitCode !== null) break;
        continue;
      }
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
      pending = reader.read();
    }
    // keep draining stdout so the child never blocks on a full pipe
    void (async () => {
      while (!(await pending.catch(() => ({ done: true }))).done) pending = reader.read();
    })();
    if (text.includes("listening")) return { proc, port, httpPort, banner: text };
    proc.kill(9);
    await proc.exited;
  }
  throw new Error("serve did not start in 5 attempts");
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`serve answers RESP and HTTP, then exits 0 on ${signal}`, async () => {
    const { proc, port, httpPort, banner } = await startServe({ SHOAL_LOG_FORMAT: "json", SHOAL_REQUIREPASS: "pw-secret" });
    const line = JSON.parse(banner.split("\n").find((l) => l.includes("listening"))!);
    expect(line.level).toBe("info");
    expect(banner).not.toContain("pw-secret");
    const client = await RespClient.connect({ port, password: "pw-secret" });
    expect(await client.call("PING")).toEqual(new RespSimple("PONG"));
    expect(await client.call("SET", "k", "v")).toEqual(new RespSimple("OK"));
    expect(new TextDecoder().decode((await client.call("GET", "k")) as Uint8Array)).toBe("v");
    client.close();
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);
    proc.kill(signal);
    expect(await proc.exited).toBe(0);
  }, 20_000);
}

test("serve exits 2 with a message on stderr for bad config", async () => {
  const proc = Bun.spawn([bun, "cmd/shoal.ts", "serve", "--port", "abc"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, SHOAL_PRESET: "moon" } });
  started.push(proc);
  expect(await proc.exited).toBe(2);
  const err = await new Response(proc.stderr).text();
  expect(err).toContain('--port: expected an integer 1-65535, got "abc"');
  expect(err).toContain('SHOAL_PRESET: expected one of local|lan|wan, got "moon"');
  expect(await new Response(proc.stdout).text()).toBe("");
});
