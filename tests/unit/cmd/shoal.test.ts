import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { run } from "../../../cmd/shoal.ts";
import { configHelp } from "../../../core/config.ts";
import pkg from "../../../package.json" with { type: "json" };
import { captureIO, type FakeServer, startFakeServer } from "./fake-server.ts";

describe("help and version", () => {
  test("top-level help lists every subcommand", async () => {
    for (const argv of [[], ["--help"], ["-h"], ["help"]]) {
      const io = captureIO();
      expect(await run(argv, io)).toBe(0);
      for (const sub of ["serve", "cli", "stats", "bench", "version", "help"]) expect(io.stdout).toContain(`  ${sub} `);
    }
  });

  const subs: [string, string][] = [
    ["serve", "--http-port"],
    ["cli", "Usage: shoal cli"],
    ["stats", "Usage: shoal stats"],
    ["bench", "Usage: shoal bench"],
    ["version", "Usage: shoal version"],
    ["help", "Usage: shoal help"],
  ];
  test.each(subs)("shoal %s --help / -h / help %s", async (sub, marker) => {
    for (const argv of [[sub, "--help"], [sub, "-h"], ["help", sub]]) {
      const io = captureIO();
      expect(await run(argv, io)).toBe(0);
      expect(io.stdout).toContain(marker);
      expect(io.stderr).toBe("");
    }
  });

  test("serve help is the generated config help", async () => {
    const io = captureIO();
    await run(["serve", "--help"], io);
    expect(io.stdout).toBe(configHelp());
  });

  test("version prints name, version from package.json, the 7-character commit and the platform", async () => {
    const io = captureIO();
    expect(await run(["version"], io)).toBe(0);
    const head = Bun.spawnSync(["git", "rev-parse", "HEAD"]).stdout.toString().trim().slice(0, 7);
    expect(io.stdout).toBe(`shoal ${pkg.version} (commit ${head}, ${process.platform}-${process.arch}, bun ${Bun.version})\n`);
    const json = captureIO();
    expect(await run(["version", "--json"], json)).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ name: "shoal", version: pkg.version, commit: head, platform: `${process.platform}-${process.arch}`, runtime: `bun ${Bun.version}` });
    expect(await run(["version", "--yaml"], captureIO())).toBe(2);
  });

  test("unknown commands and options exit 2 with a hint", async () => {
    let io = captureIO();
    expect(await run(["frobnicate"], io)).toBe(2);
    expect(io.stderr).toContain('unknown command "frobnicate"');
    io = captureIO();
    expect(await run(["bench", "--frob"], io)).toBe(2);
    expect(io.stderr).toContain("unknown option --frob");
    expect(io.stderr).toContain("shoal bench --help");
    io = captureIO();
    expect(await run(["bench", "-c", "zero"], io)).toBe(2);
    expect(io.stderr).toContain('-c: expected a positive integer, got "zero"');
  });

  test("serve with bad config exits 2 listing every bad field", async () => {
    const io = captureIO({ SHOAL_LOG_LEVEL: "loud" });
    expect(await run(["serve", "--port", "abc"], io)).toBe(2);
    expect(io.stderr).toContain('--port: expected an integer 1-65535, got "abc"');
    expect(io.stderr).toContain('SHOAL_LOG_LEVEL: expected one of debug|info|warn|error, got "loud"');
  });
});

describe("client subcommands against a RESP server", () => {
  let server: FakeServer;
  let secured: FakeServer;
  beforeAll(() => {
    server = startFakeServer();
    secured = startFakeServer("s3cret");
  });
  afterAll(() => {
    server.stop();
    secured.stop();
  });

  test("cli one-shot prints like redis-cli and exits 1 on error replies", async () => {
    const p = String(server.port);
    const cases: [string[], string, number][] = [
      [["SET", "greeting", "hello world"], "OK\n", 0],
      [["GET", "greeting"], '"hello world"\n', 0],
      [["GET", "missing"], "(nil)\n", 0],
      [["INCR", "n"], "(integer) 1\n", 0],
      [["LIST"], '1) "a"\n2) 1) (integer) 1\n   2) (nil)\n3) (empty array)\n', 0],
      [["NOPE"], "(error) ERR unknown command 'NOPE'\n", 1],
    ];
    for (const [cmd, expected, code] of cases) {
      const io = captureIO();
      expect(await run(["cli", "-p", p, ...cmd], io)).toBe(code);
      expect(io.stdout).toBe(expected);
    }
    const raw = captureIO();
    await run(["cli", "-p", p, "--raw", "GET", "greeting"], raw);
    expect(raw.stdout).toBe("hello world\n");
  });

  test("cli port and password from flags or env", async () => {
    let io = captureIO();
    expect(await run(["cli", "-h", "127.0.0.1", "-p", String(secured.port), "-a", "s3cret", "PING"], io)).toBe(0);
    expect(io.stdout).toBe("PONG\n");
    io = captureIO({ SHOAL_PORT: String(secured.port), SHOAL_REQUIREPASS: "s3cret" });
    expect(await run(["cli", "PING"], io)).toBe(0);
    io = captureIO();
    expect(await run(["cli", "-p", String(secured.port), "-a", "wrong", "PING"], io)).toBe(1);
    expect(io.stderr).toContain("AUTH failed: WRONGPASS");
  });

  test("cli interactive: prompt, quoting, invalid input, quit", async () => {
    const io = captureIO({}, ['set "a key" "two\\nlines"', "get 'a key'", '"unbalanced', "", "quit", "get never"]);
    expect(await run(["cli", "-p", String(server.port)], io)).toBe(0);
    const prompt = `127.0.0.1:${server.port}> `;
    expect(io.stdout).toBe(`${prompt}OK\n${prompt}"two\\nlines"\n${prompt}Invalid argument(s)\n${prompt}${prompt}`);
    expect(server.commands.some((c) => c[0] === "get" && c[1] === "never")).toBe(false);
  });

  test("cli reports a refused connection", async () => {
    const closed = startFakeServer();
    const port = closed.port;
    closed.stop();
    const io = captureIO();
    expect(await run(["cli", "-p", String(port), "PING"], io)).toBe(1);
    expect(io.stderr).toContain(`could not connect to 127.0.0.1:${port}`);
  });

  test("stats prints the STATS summary and INFO", async () => {
    const io = captureIO();
    expect(await run(["stats", "-p", String(server.port)], io)).toBe(0);
    expect(io.stdout).toContain("node            fake (port 1)");
    expect(io.stdout).toContain("uptime          1h 2m 5s");
    expect(io.stdout).toContain("hits / misses   3 / 1 (75.0% hit rate)");
    expect(io.stdout).toContain("memory          2.00 KiB");
    expect(io.stdout).toContain("redis_version:7.0.15");
    const json = captureIO();
    expect(await run(["stats", "-p", String(server.port), "--json"], json)).toBe(0);
    expect(JSON.parse(json.stdout).member.name).toBe("fake");
  });

  test("bench runs every requested test with the requested shape", async () => {
    server.commands.length = 0;
    const io = captureIO();
    const code = await run(["bench", "-p", String(server.port), "-c", "4", "-n", "200", "-d", "10", "-P", "3", "-t", "ping,set,get", "-r", "50"], io);
    expect(code).toBe(0);
    const lines = io.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    for (const [i, name] of ["PING", "SET", "GET"].entries()) {
      expect(lines[i]).toMatch(new RegExp(`^${name}: \\d+\\.\\d\\d requests per second, p50=\\d+\\.\\d{3} msec, p99=\\d+\\.\\d{3} msec$`));
    }
    const sets = server.commands.filter((c) => c[0] === "SET");
    expect(sets).toHaveLength(200);
    expect(sets.every((c) => /^key:\d{12}$/.test(c[1]!) && Number(c[1]!.slice(4)) < 50 && c[2] === "x".repeat(10))).toBe(true);
    expect(server.commands.filter((c) => c[0] === "GET")).toHaveLength(200);
    expect(io.stderr).toContain("requests");
  });

  test("bench counts error replies", async () => {
    const io = captureIO();
    expect(await run(["bench", "-p", String(secured.port), "-c", "2", "-n", "10", "-t", "get", "-q"], io)).toBe(0);
    expect(io.stdout).toContain("(10 errors, first: NOAUTH Authentication required.)");
    expect(io.stderr).toBe("");
  });
});
