/**
 * The compiled binary's command line: help, version, serve configured by
 * flags, SHOAL_* env and shoal.yaml (flags > env > file), bad config exits 2
 * with a message naming the field, SIGINT stops cleanly.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, sleep } from "../helpers/ports.ts";
import { runCommand, spawnShoal, waitForPing } from "../helpers/processes.ts";
import { RawClient } from "../helpers/raw-client.ts";
import { BIN, requireBinary } from "./binary.ts";

let dir: string;
beforeAll(() => {
  requireBinary();
  dir = mkdtempSync(join(tmpdir(), "shoal-e2e-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("help and version", () => {
  test("--help lists the subcommands and exits 0", async () => {
    const r = await runCommand([BIN, "--help"]);
    expect(r.code).toBe(0);
    for (const sub of ["serve", "cli", "stats", "bench", "version"]) expect(r.stdout).toContain(sub);
  });

  test("version prints a semver and exits 0", async () => {
    const r = await runCommand([BIN, "version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\d+\.\d+\.\d+/);
  });

  test("serve --help documents flags with their env names", async () => {
    const r = await runCommand([BIN, "serve", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--port", "--http-port", "--bind", "--config", "--max-clients"]) expect(r.stdout).toContain(flag);
    expect(r.stdout).toContain("SHOAL_");
  });

  test("an unknown subcommand exits non-zero with a message", async () => {
    const r = await runCommand([BIN, "no-such-subcommand"]);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`.length).toBeGreaterThan(0);
  });
});

describe("configuration sources", () => {
  test("flags: --port/--http-port/--bind", async () => {
    const [port, httpPort] = await freePorts(2);
    const node = await spawnShoal({ binary: BIN, args: ["serve", "--port", String(port), "--http-port", String(httpPort), "--bind", "127.0.0.1"], port: port!, httpPort });
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      await node.stop();
    }
  });

  test("env: SHOAL_PORT/SHOAL_HTTP_PORT", async () => {
    const [port, httpPort] = await freePorts(2);
    const node = await spawnShoal({ binary: BIN, args: ["serve"], env: { SHOAL_PORT: String(port), SHOAL_HTTP_PORT: String(httpPort), SHOAL_BIND: "127.0.0.1" }, port: port!, httpPort });
    try {
      expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    } finally {
      await node.stop();
    }
  });

  test("./shoal.yaml in the working directory is read without --config", async () => {
    const [port, httpPort] = await freePorts(2);
    const cwd = mkdtempSync(join(tmpdir(), "shoal-cwd-"));
    writeFileSync(join(cwd, "shoal.yaml"), `port: ${port}\nhttp_port: ${httpPort}\n`);
    try {
      const node = await spawnShoal({ binary: BIN, args: ["serve"], cwd, port: port!, httpPort });
      await node.stop();
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test("shoal.yaml via --config, and precedence flags > env > file", async () => {
    const [filePort, envPort, flagPort, httpPort, httpPort2] = await freePorts(5);
    const yaml = join(dir, "shoal.yaml");
    writeFileSync(yaml, `port: ${filePort}\nhttp_port: ${httpPort}\nbind: 127.0.0.1\nmax_clients: 50\n`);
    // file only
    let node = await spawnShoal({ binary: BIN, args: ["serve", "--config", yaml], port: filePort!, httpPort });
    const c = await RawClient.connect(filePort!);
    expect(await c.call(["CONFIG", "GET", "maxclients"])).toBe("*2\r\n$10\r\nmaxclients\r\n$2\r\n50\r\n");
    c.close();
    await node.stop();
    // env beats file
    node = await spawnShoal({ binary: BIN, args: ["serve", "--config", yaml], env: { SHOAL_PORT: String(envPort) }, port: envPort!, httpPort });
    await node.stop();
    // flag beats env and file
    node = await spawnShoal({
      binary: BIN,
      args: ["serve", "--config", yaml, "--port", String(flagPort), "--http-port", String(httpPort2)],
      env: { SHOAL_PORT: String(envPort) },
      port: flagPort!,
      httpPort: httpPort2,
    });
    expect(await waitForPing(envPort!, 300, () => false)).toBe(false);
    await node.stop();
  });
});

describe("bad configuration exits 2 with a message naming the field", () => {
  const cases: [string, string[], Record<string, string>, string | null, RegExp][] = [
    ["non-numeric flag", ["serve", "--port", "abc"], {}, null, /port/i],
    ["port out of range", ["serve", "--port", "70000"], {}, null, /port/i],
    ["bad env value", ["serve"], { SHOAL_MAX_CLIENTS: "many" }, null, /max.?clients/i],
    ["bad yaml value", ["serve", "--config", "@file"], {}, "port: nope\n", /port/i],
    ["missing config file", ["serve", "--config", "/nonexistent/shoal.yaml"], {}, null, /nonexistent|not found|no such/i],
    ["unknown flag", ["serve", "--no-such-flag", "1"], {}, null, /no-such-flag/i],
  ];
  for (const [name, args, env, yaml, message] of cases) {
    test(name, async () => {
      let finalArgs = args;
      if (yaml !== null) {
        const file = join(dir, `bad-${name.replaceAll(" ", "-")}.yaml`);
        writeFileSync(file, yaml);
        finalArgs = args.map((a) => (a === "@file" ? file : a));
      }
      const r = await runCommand([BIN, ...finalArgs], { env, timeoutMs: 15000 });
      expect(r.timedOut).toBe(false);
      expect(r.code).toBe(2);
      expect(`${r.stderr}${r.stdout}`).toMatch(message);
    });
  }
});

describe("signals", () => {
  test("SIGINT stops the node cleanly (exit 0) and frees the port", async () => {
    const [port, httpPort] = await freePorts(2);
    const node = await spawnShoal({ binary: BIN, args: ["serve", "--port", String(port), "--http-port", String(httpPort), "--bind", "127.0.0.1"], port: port!, httpPort });
    const c = await RawClient.connect(port!);
    expect(await c.call(["SET", "a", "1"])).toBe("+OK\r\n");
    node.proc.kill("SIGINT");
    const code = await Promise.race([node.exited, sleep(10_000).then(() => -999)]);
    if (code === -999) await node.stop(100);
    expect(code).toBe(0);
    expect(await c.waitClosed(2000)).toBe(true);
    await expect(RawClient.connect(port!, "127.0.0.1", 1000)).rejects.toThrow();
  });
});
