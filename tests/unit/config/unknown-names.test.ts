/**
 * Issue 21 part 2: SHOAL_* variables that name no setting are refused like
 * unknown flags and YAML keys, each with the closest setting suggested; the
 * variables read for other purposes are accepted and listed in serve --help.
 * The exact lines a user sees are pinned.
 */
import { describe, expect, test } from "bun:test";
import { run } from "../../../cmd/shoal.ts";
import { ConfigError, configHelp, loadConfig } from "../../../core/config.ts";
import { closestName, editDistance } from "../../../core/config-names.ts";
import { captureIO } from "../cmd/fake-server.ts";

const load = (argv: string[], env: Record<string, string> = {}, yaml?: string) =>
  loadConfig({ argv, env, readFile: (p) => (p === "shoal.yaml" && yaml !== undefined ? yaml : null), hostname: "box" });

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

describe("unknown SHOAL_* variables", () => {
  test.each([
    ["SHOAL_PROT", "SHOAL_PROT: unknown setting; did you mean SHOAL_PORT?"],
    ["SHOAL_HTTP_PROT", "SHOAL_HTTP_PROT: unknown setting; did you mean SHOAL_HTTP_PORT?"],
    ["SHOAL_REQUIREPAS", "SHOAL_REQUIREPAS: unknown setting; did you mean SHOAL_REQUIREPASS?"],
    ["SHOAL_CLUSTER_KEYFILE", "SHOAL_CLUSTER_KEYFILE: unknown setting; did you mean SHOAL_CLUSTER_KEY_FILE?"],
    ["SHOAL_ZZZQX", "SHOAL_ZZZQX: unknown setting"],
    ["SHOAL_MAPS", "SHOAL_MAPS: maps is set in shoal.yaml only"],
    ["SHOAL_SERVICE_HOST", "SHOAL_SERVICE_HOST: unknown setting (a Kubernetes service link? set enableServiceLinks: false in the pod spec)"],
    ["SHOAL_PEERS_PORT_3322_TCP_ADDR", "SHOAL_PEERS_PORT_3322_TCP_ADDR: unknown setting (a Kubernetes service link? set enableServiceLinks: false in the pod spec)"],
  ])("%s is refused", (name, line) => {
    expect(problems(() => load([], { [name]: "7001" }))).toEqual([line]);
  });

  test("every unknown one is reported, in name order, with the other problems", () => {
    expect(problems(() => load(["--port", "x"], { SHOAL_PROT: "1", SHOAL_BIDN: "0.0.0.0" }))).toEqual([
      "SHOAL_BIDN: unknown setting; did you mean SHOAL_BIND?",
      "SHOAL_PROT: unknown setting; did you mean SHOAL_PORT?",
      '--port: expected an integer 1-65535, got "x"',
    ]);
  });

  test("settings, aliases and the variables read for other purposes are accepted; other prefixes are not looked at", () => {
    const env = {
      SHOAL_PORT: "7001",
      SHOAL_DNS_SRV: "_shoal._tcp.example",
      SHOAL_BIN: "dist/shoal",
      SHOAL_BENCH_ENTRY: "bin",
      SHOAL_TEST_SECTION: "{}",
      SHOAL_FUZZ_SEED: "1",
      SHOAL_NODES: "127.0.0.1:1,127.0.0.1:2",
      SHOAL_HTTP: "127.0.0.1:3",
      SHOAL_CHAOS_URL: "http://127.0.0.1:4",
      SHOALX: "1",
      PATH: "/bin",
      CI: "true",
      NO_COLOR: "1",
    };
    const c = load([], env);
    expect(c.port).toBe(7001);
    expect(c.dnsName).toBe("_shoal._tcp.example");
  });

  test("an empty unknown variable is refused too (it still names no setting)", () => {
    expect(problems(() => load([], { SHOAL_PROT: "" }))).toEqual(["SHOAL_PROT: unknown setting; did you mean SHOAL_PORT?"]);
  });

  test("shoal serve prints the line and exits 2", async () => {
    const io = captureIO({ SHOAL_PROT: "7001" });
    expect(await run(["serve"], io)).toBe(2);
    expect(io.stderr).toBe(
      "shoal: invalid configuration:\n  SHOAL_PROT: unknown setting; did you mean SHOAL_PORT?\nRun 'shoal serve --help' for the list of settings.\n",
    );
  });

  test("serve --help lists the variables read for other purposes", () => {
    const help = configHelp();
    expect(help).toContain("Other environment variables (not settings). Any other SHOAL_* variable is refused");
    for (const v of ["SHOAL_CONFIG", "SHOAL_BIN", "SHOAL_BENCH_*", "SHOAL_TEST_*", "SHOAL_FUZZ_*", "SHOAL_NODES", "SHOAL_HTTP", "SHOAL_CHAOS_URL", "REDISCLI_AUTH", "KUBERNETES_SERVICE_HOST"]) {
      expect(help).toMatch(new RegExp(`\\n  ${v.replace("*", "\\*")} +\\S`));
    }
  });
});

describe("unknown flags and YAML keys get the same suggestion", () => {
  test.each([
    [["--prot", "1"], "--prot: unknown flag; did you mean --port?"],
    [["--http-prot", "1"], "--http-prot: unknown flag; did you mean --http-port?"],
    [["--requirepas", "x"], "--requirepas: unknown flag; did you mean --requirepass?"],
    [["--maps", "x"], "--maps: unknown flag (see shoal serve --help)"],
    [["--zzzqx", "1"], "--zzzqx: unknown flag (see shoal serve --help)"],
  ])("%p", (argv, line) => {
    expect(problems(() => load(argv))).toEqual([line]);
  });

  test.each([
    ["prot: 1\n", "shoal.yaml: prot: unknown setting; did you mean port?"],
    ["http_prot: 1\n", "shoal.yaml: http_prot: unknown setting; did you mean http_port?"],
    ["max_keyz: 1\n", "shoal.yaml: max_keyz: unknown setting; did you mean max_keys?"],
    ["zzzqx: 1\n", "shoal.yaml: zzzqx: unknown setting"],
  ])("%p", (yaml, line) => {
    expect(problems(() => load([], {}, yaml))).toEqual([line]);
  });
});

describe("closestName", () => {
  test("edit distance counts a swap of neighbours as one edit", () => {
    expect(editDistance("prot", "port")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });

  test("suggests only likely typos", () => {
    expect(closestName("SHOAL_PROT", ["SHOAL_PORT", "SHOAL_TTL"])).toBe("SHOAL_PORT");
    expect(closestName("SHOAL_FOO", ["SHOAL_TTL", "SHOAL_PORT"])).toBeUndefined();
    expect(closestName("SHOAL_HTTP", ["SHOAL_HTTP_PORT", "SHOAL_HTTP_TLS_PORT"])).toBe("SHOAL_HTTP_PORT");
  });
});

describe("the repository's own scripts", () => {
  // Every server a test starts inherits the test's environment: a SHOAL_* name
  // that CI or a test helper sets and serve does not know stops every node.
  test("every SHOAL_* variable .ci/run exports or tests read is one serve accepts", async () => {
    const { Glob } = await import("bun");
    const root = new URL("../../../", import.meta.url).pathname;
    const names = new Set<string>();
    const ci = await Bun.file(`${root}.ci/run`).text();
    for (const m of ci.matchAll(/\bexport\s+(SHOAL_[A-Z0-9_]+)=/g)) names.add(m[1]!);
    for await (const path of new Glob("tests/**/*.ts").scan(root)) {
      const text = await Bun.file(`${root}${path}`).text();
      for (const m of text.matchAll(/process\.env\.(SHOAL_[A-Z0-9_]+)/g)) names.add(m[1]!);
    }
    expect(names.size).toBeGreaterThan(0);
    const refused = [...names].filter((name) => problems0(() => load([], { [name]: "1" })).some((p) => p.startsWith(`${name}: unknown setting`)));
    expect(refused).toEqual([]);
  });
});

/** The configuration problems `fn` reports, none when it succeeds. */
function problems0(fn: () => unknown): string[] {
  try {
    fn();
    return [];
  } catch (err) {
    return err instanceof ConfigError ? [...err.problems] : [String(err)];
  }
}
