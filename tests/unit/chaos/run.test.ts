/**
 * The pure parts of `shoal chaos --real --run`: the client-fault spec (one
 * parser for the flag and the control endpoint, errors that name the key),
 * the control endpoint's routes, the run flags, the report helpers (exit
 * status, checker verdicts, replay line), the JUnit XML and the seeded
 * fault schedule.
 */
import { describe, expect, test } from "bun:test";
import { junitXml, xmlEscape } from "../../../chaos/junit.ts";
import { drawFault } from "../../../chaos/real/faults.ts";
import { seededRandom } from "../../../chaos/real/workload.ts";
import { type ChaosRunReport, checkerResults, exitStatusOf, type FaultLogEntry, replayCommand, shellQuote } from "../../../chaos/report.ts";
import { ClientFaultSet } from "../../../chaos/run/client-fault-set.ts";
import { ClientFaultError, clientFaultsFromJson, formatClientFaults, isNoFault, NO_CLIENT_FAULTS, parseClientFaults } from "../../../chaos/run/client-faults.ts";
import { handleControl } from "../../../chaos/run/control.ts";
import { isRunMode, parseRunOptions } from "../../../chaos/run/options.ts";
import { UsageError } from "../../../cmd/io.ts";

describe("client-fault spec", () => {
  test("every key, canonical text round-trips", () => {
    const f = parseClientFaults("latency=200ms, jitter=50ms,bandwidth=64kb,reset=1%,timeout=0.5%,slice=16,slice-delay=5ms");
    expect(f).toEqual({ latencyMs: 200, jitterMs: 50, bandwidthBps: 65536, resetPct: 1, timeoutPct: 0.5, sliceBytes: 16, sliceDelayMs: 5 });
    expect(formatClientFaults(f)).toBe("latency=200ms,jitter=50ms,bandwidth=64kb,reset=1%,timeout=0.5%,slice=16,slice-delay=5ms");
    expect(parseClientFaults(formatClientFaults(f))).toEqual(f);
    expect(parseClientFaults("latency=2s")).toEqual({ ...NO_CLIENT_FAULTS, latencyMs: 2000 });
  });
  test("none and empty are no faults", () => {
    for (const t of ["", "none", "  none "]) expect(isNoFault(parseClientFaults(t))).toBe(true);
    expect(formatClientFaults(NO_CLIENT_FAULTS)).toBe("none");
  });
  test.each([
    ["latancy=200ms", /unknown client fault "latancy"; did you mean latency\?/],
    ["reset=1", /reset expects a percentage such as 1% or 0.5%, got "1"/],
    ["reset=101%", /reset is at most 100%/],
    ["latency=soon", /latency expects a duration such as 200ms/],
    ["bandwidth=fast", /bandwidth expects a size such as 16, 64kb/],
    ["latency", /"latency" is not key=value/],
    ["latency=1s,,reset=1%", /empty item/],
    ["latency=1s,latency=2s", /latency is given twice/],
    ["slice-delay=5ms", /slice-delay needs slice=<size>/],
    ["latency=11m", /latency is at most 10m/],
  ])("%p is refused with a clear message", (spec, message) => {
    expect(() => parseClientFaults(spec)).toThrow(ClientFaultError);
    expect(() => parseClientFaults(spec)).toThrow(message);
  });
  test("JSON bodies use the same parser", () => {
    expect(clientFaultsFromJson({ latency: "200ms", reset: "1%" })).toEqual({ ...NO_CLIENT_FAULTS, latencyMs: 200, resetPct: 1 });
    expect(clientFaultsFromJson({ latency: 150 })).toEqual({ ...NO_CLIENT_FAULTS, latencyMs: 150 });
    expect(() => clientFaultsFromJson({ reset: 1 })).toThrow(/percentage/);
    expect(() => clientFaultsFromJson([1])).toThrow(/JSON object/);
    expect(() => clientFaultsFromJson({ latency: true })).toThrow(/string or a number/);
  });
});

describe("control endpoint over the per-node client-fault set", () => {
  const target = () => {
    const log: FaultLogEntry[] = [];
    let clock = 0;
    const lines: string[] = [];
    const set = new ClientFaultSet(["n0", "n1", "n2"], (i) => seededRandom(i), log, () => (clock += 100), (l) => lines.push(l));
    return { set, log, lines };
  };
  const req = (method: string, path: string, body?: string) => new Request(`http://127.0.0.1:1${path}`, { method, ...(body === undefined ? {} : { body }) });

  test("PUT text or JSON, GET, DELETE; every change logged as an interval", async () => {
    const { set, log, lines } = target();
    let r = await handleControl(req("PUT", "/v1/faults", "latency=200ms"), set);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ spec: "latency=200ms", faults: { latencyMs: 200 }, nodes: { n0: "latency=200ms", n2: "latency=200ms" }, stats: { connections: 0 } });
    expect(set.state("n1").faults.latencyMs).toBe(200);
    r = await handleControl(req("PUT", "/v1/faults", '{"reset": "5%"}'), set);
    expect((await r.json()).spec).toBe("reset=5%");
    expect((await (await handleControl(req("GET", "/v1/faults"), set)).json()).spec).toBe("reset=5%");
    r = await handleControl(req("DELETE", "/v1/faults"), set);
    expect((await r.json()).spec).toBe("none");
    expect(lines).toEqual(["client faults: latency=200ms (PUT /v1/faults)", "client faults: reset=5% (PUT /v1/faults)", "client faults: none (DELETE /v1/faults)"]);
    expect(log.map((e) => `${e.target} ${e.detail} ${e.startMs}-${e.endMs} ${e.source}`)).toEqual(["all latency=200ms 100-200 PUT /v1/faults", "all reset=5% 200-300 PUT /v1/faults"]);
    expect(await (await handleControl(req("GET", "/v1/log"), set)).json()).toHaveLength(2);
  });
  test("?node= changes one node's proxies; the shared interval splits into per-node ones", async () => {
    const { set, log } = target();
    await handleControl(req("PUT", "/v1/faults", "latency=50ms"), set);
    const r = await handleControl(req("PUT", "/v1/faults?node=n1", "timeout=100%"), set);
    expect(await r.json()).toMatchObject({ node: "n1", spec: "timeout=100%" });
    expect(set.state("n0").faults.latencyMs).toBe(50);
    expect(set.state("n1").faults).toMatchObject({ latencyMs: 0, timeoutPct: 100 });
    expect((await (await handleControl(req("GET", "/v1/faults"), set)).json()) as object).toMatchObject({ spec: "per node", faults: null, nodes: { n0: "latency=50ms", n1: "timeout=100%" } });
    await handleControl(req("DELETE", "/v1/faults?node=n1"), set);
    set.clear("end of run");
    expect(log.map((e) => `${e.target} ${e.detail} ${e.startMs}-${e.endMs}`)).toEqual(["all latency=50ms 100-200", "n0 latency=50ms 200-400", "n2 latency=50ms 200-400", "n1 timeout=100% 200-300"]);
    expect((await handleControl(req("PUT", "/v1/faults?node=n7", "latency=1s"), set)).status).toBe(404);
  });
  test("bad bodies are 400 with the reason and change nothing", async () => {
    const { set, log } = target();
    for (const body of ["latency=fast", "{not json", '{"jitter": [1]}']) {
      const r = await handleControl(req("PUT", "/v1/faults", body), set);
      expect(r.status).toBe(400);
      expect((await r.json()).error).toMatch(/^PUT \/v1\/faults: /);
    }
    expect(log).toEqual([]);
    expect((await handleControl(req("PATCH", "/v1/faults"), set)).status).toBe(405);
    expect((await handleControl(req("GET", "/nope"), set)).status).toBe(404);
    expect((await handleControl(req("PUT", "/v1/faults", "x".repeat(70_000)), set)).status).toBe(413);
  });
});

describe("--run flags", () => {
  test("defaults: faults while the command runs (bounded by --timeout 1h), canary 20/s", () => {
    const o = parseRunOptions(["--run", "npm test", "--seed", "3"])!;
    expect(o).toMatchObject({ command: "npm test", timeoutMs: 3_600_000, canaryRate: 20, controlPort: 0, graceMs: 5000 });
    expect(o.real).toMatchObject({ seed: 3, nodes: 3, durationMs: 3_600_000, faults: ["kill", "stop", "restart"] });
    expect(isNoFault(o.clientFaults)).toBe(true);
    const p = parseRunOptions(["--run=make check", "--duration", "30s", "--client-faults", "latency=200ms", "--junit", "j.xml", "--report", "r.json"])!;
    expect(p).toMatchObject({ command: "make check", junitFile: "j.xml", reportFile: "r.json" });
    expect(p.real.durationMs).toBe(30_000);
    expect(p.clientFaults.latencyMs).toBe(200);
    expect(isRunMode(["--faults", "kill", "--run", "x"])).toBe(true);
    expect(isRunMode(["--faults", "kill"])).toBe(false);
  });
  test.each([
    [["--run", ""], /--run expects a command/],
    [["--run", "npm", "test"], /quote the whole command/],
    [["--run", "x", "--ops", "5"], /--ops shapes shoal's own workload/],
    [["--run", "x", "--json"], /--report FILE/],
    [["--run", "x", "--client-faults", "reset=2"], /--client-faults: reset expects a percentage/],
    [["--run", "x", "--timeout", "0"], /--timeout must be more than 0/],
    [["--run", "x", "--canary-rate", "-1"], /--canary-rate/],
    [["--run", "x", "--faults", "partition"], /needs --netns/],
    [["--run", "x", "--control-port", "70000"], /--control-port/],
  ])("%p is a usage error", (argv, message) => {
    expect(() => parseRunOptions(argv)).toThrow(UsageError);
    expect(() => parseRunOptions(argv)).toThrow(message);
  });
});

function report(over: Partial<ChaosRunReport> = {}): ChaosRunReport {
  return {
    kind: "shoal-chaos-run",
    version: 1,
    startedAt: "2026-01-02T03:04:05.000Z",
    seed: 9,
    replay: "shoal chaos --real --run 'npm test' --seed 9",
    exitStatus: 0,
    exitReason: "command",
    command: { text: "npm test", exitCode: 0, signal: null, status: 0, durationMs: 1234, timedOut: false, stragglersKilled: 0 },
    cluster: { nodes: [], netns: false, replicaCount: 3, writeQuorum: 2, readQuorum: 2, memberCountQuorum: 2, preset: "local" },
    env: {},
    faults: { kinds: ["kill"], everyMs: 1000, holdMs: 1000, forMs: 10_000, byKind: { kill: 1 } },
    clientFaults: { initial: "none", stats: {} },
    log: [{ what: "kill", target: "n1", startMs: 500, endMs: 900, recoveredMs: 300 }],
    canary: null,
    convergence: { ok: true, ms: 5, detail: "" },
    checkers: checkerResults([], true),
    ...over,
  };
}

describe("report", () => {
  test("exit status: a violation wins, then the timeout, then the command's status", () => {
    const cmd = report().command;
    const failed = checkerResults([{ checker: "lost-write", key: "r1", message: "lost", ops: [] }], true);
    expect(exitStatusOf({ ...cmd, status: 3 }, failed)).toEqual({ exitStatus: 1, exitReason: "violation" });
    expect(exitStatusOf({ ...cmd, status: 3 }, checkerResults([], true))).toEqual({ exitStatus: 3, exitReason: "command" });
    expect(exitStatusOf({ ...cmd, status: 143, timedOut: true }, checkerResults([], true))).toEqual({ exitStatus: 124, exitReason: "timeout" });
    expect(exitStatusOf(cmd, checkerResults([], false))).toEqual({ exitStatus: 0, exitReason: "command" });
  });
  test("checkers: history checkers skipped without a canary, liveness always judged", () => {
    const r = checkerResults([{ checker: "liveness", message: "not converged", ops: [] }], false);
    expect(r.map((c) => `${c.name}:${c.status}`)).toEqual(["linearizable:skipped", "lost-write:skipped", "resurrection:skipped", "counter:skipped", "liveness:failed"]);
  });
  test("replay line: --seed replaced, arguments quoted for sh", () => {
    expect(replayCommand(["/usr/bin/shoal"], ["chaos", "--real", "--run", "npm test", "--seed", "4", "--faults", "kill"], 17)).toBe(
      "/usr/bin/shoal chaos --real --run 'npm test' --faults kill --seed 17",
    );
    expect(replayCommand(["shoal"], ["chaos", "--seed=4", "--run", "echo 'hi'"], 5)).toBe(`shoal chaos --run 'echo '\\''hi'\\''' --seed 5`);
    expect(shellQuote("a$b")).toBe("'a$b'");
  });
});

describe("JUnit XML", () => {
  test("a passing run: one case for the command, one per checker, seed and replay as properties", () => {
    const xml = junitXml(report());
    expect(xml).toStartWith('<?xml version="1.0" encoding="UTF-8"?>');
    expect(xml).toContain('<testcase classname="shoal-chaos.command" name="npm test" time="1.234">');
    for (const c of ["linearizable", "lost-write", "resurrection", "counter", "liveness"]) expect(xml).toContain(`name="${c}"`);
    expect(xml).toContain('tests="6" failures="0" errors="0" skipped="0"');
    expect(xml).toContain('<property name="seed" value="9"/>');
    expect(xml).toContain("replay: shoal chaos --real --run &apos;npm test&apos; --seed 9");
    expect(xml).toContain("0.500s-0.900s kill n1");
    expect(xml).not.toContain("<failure");
  });
  test("a failing command carries its output; a failed checker its violations; escaping holds", () => {
    const r = report({
      exitStatus: 1,
      command: { text: "npm test && echo <ok>", exitCode: 3, signal: null, status: 3, durationMs: 10, timedOut: false, stragglersKilled: 0, stdoutTail: "expected 1 & got 2\u0001", stderrTail: "boom" },
      checkers: checkerResults([{ checker: "lost-write", key: "r1", message: 'write "a" lost', ops: [] }], true),
    });
    const xml = junitXml(r);
    expect(xml).toContain('name="npm test &amp;&amp; echo &lt;ok&gt;"');
    expect(xml).toContain('<failure message="exited with status 3" type="ExitStatus">exited with status 3\n--- stdout (last part)\nexpected 1 &amp; got 2\n--- stderr (last part)\nboom</failure>');
    expect(xml).toContain('failures="2"');
    expect(xml).toContain("r1: write &quot;a&quot; lost");
    expect(xml).not.toContain("\u0001");
    expect(xmlEscape("<a b='c'>&")).toBe("&lt;a b=&apos;c&apos;&gt;&amp;");
  });
  test("a run whose cluster did not start is an error case", () => {
    const r = report({ exitReason: "setup", exitStatus: 1, error: "ports taken", checkers: checkerResults([], false).map((c) => ({ ...c, status: "skipped" as const })) });
    const xml = junitXml(r);
    expect(xml).toContain('<error message="the cluster could not be started: ports taken" type="Setup">');
    expect(xml).toContain('errors="1"');
    expect(xml).toContain('skipped="5"');
  });
});

describe("the fault schedule is fixed by the seed", () => {
  const plan = (seed: number) => {
    const o = { kinds: ["kill", "stop", "restart"] as ("kill" | "stop" | "restart")[], everyMs: 5000, holdMs: 3000, random: seededRandom(seed) };
    return Array.from({ length: 20 }, () => drawFault(o, [0, 1, 2]));
  };
  test("same seed, same schedule; another seed, another one", () => {
    expect(plan(42)).toEqual(plan(42));
    expect(plan(42)).not.toEqual(plan(43));
    for (const f of plan(7)) {
      expect(f.gapMs).toBeGreaterThanOrEqual(2500);
      expect(f.gapMs).toBeLessThan(7500);
      expect(f.holdMs).toBeGreaterThanOrEqual(1500);
      expect([0, 1, 2]).toContain(f.node!);
    }
  });
});
