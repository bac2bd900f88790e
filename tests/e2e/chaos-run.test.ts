/**
 * `shoal chaos --real --run "<command>"` from the compiled binary, with a
 * stand-in for a user's test suite (tests/fixtures/chaos-app.ts) that reads
 * SHOAL_NODES, writes and reads through the cluster and retries on other
 * nodes:
 * - under --faults kill it runs through at least one kill and shoal exits 0,
 *   JUnit names its test case, nothing it left running survives;
 * - the same command exiting 3 makes shoal exit 3 (JUnit: failure + output);
 * - a 200 ms client latency fault is seen by the command (every round trip
 *   ≥ 200 ms), can be removed and set again through SHOAL_CHAOS_URL, and is
 *   removed when the run ends (log interval closed, proxies gone);
 * - a violation found by shoal's checkers (the command destroys the
 *   canary's map) makes shoal exit 1 although the command exits 0;
 * - SIGINT is forwarded to the command; --timeout kills it (124); bad
 *   client-fault specs are usage errors (2).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChaosRunReport } from "../../chaos/report.ts";
import { sleep } from "../helpers/ports.ts";
import { childEnv, REPO_ROOT, runCommand } from "../helpers/processes.ts";
import { BIN, requireBinary } from "./binary.ts";

const APP = `${process.execPath} ${join(REPO_ROOT, "tests/fixtures/chaos-app.ts")}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  report: ChaosRunReport;
  junit: string;
  /** The JSON line the app printed. */
  app: Record<string, unknown>;
}

async function chaosRun(command: string, flags: string[], timeoutMs = 150_000): Promise<Run> {
  requireBinary();
  const dir = mkdtempSync(join(tmpdir(), "shoal-chaos-run-"));
  try {
    const reportFile = join(dir, "report.json");
    const junitFile = join(dir, "junit.xml");
    const r = await runCommand([BIN, "chaos", "--real", "--run", command, ...flags, "--report", reportFile, "--junit", junitFile], { timeoutMs });
    if (!existsSync(reportFile)) throw new Error(`no report (exit ${r.code})\nstdout:\n${r.stdout.slice(-2000)}\nstderr:\n${r.stderr.slice(-3000)}`);
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as ChaosRunReport;
    const line = r.stdout.split("\n").filter((l) => l.startsWith("{")).at(-1);
    const app = line ? (JSON.parse(line) as Record<string, unknown>) : {};
    return { ...r, report, junit: readFileSync(junitFile, "utf8"), app };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** True when something accepts connections on `addr` (host:port). */
function listening(addr: string): Promise<boolean> {
  const [host, port] = addr.split(":");
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host!, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** An unusual `sleep` argument that marks the process the command leaves behind. */
const SLEEPER = `${300 + (process.pid % 97)}.25`;

/** Live `sleep SLEEPER` processes. */
function sleepers(): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8") === `sleep\0${SLEEPER}\0` && !/\) Z /.test(readFileSync(`/proc/${d}/stat`, "utf8"))) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Everything the run started is gone: nodes, proxies. */
async function expectAllStopped(report: ChaosRunReport): Promise<void> {
  for (const n of report.cluster.nodes) {
    for (const a of [n.resp, n.http, n.proxyResp, n.proxyHttp]) expect(`${a} ${await listening(a)}`).toBe(`${a} false`);
  }
}

describe("shoal chaos --real --run", () => {
  test("--help documents the mode, the variables and the client faults", async () => {
    requireBinary();
    const r = await runCommand([BIN, "chaos", "--real", "--help"]);
    expect(r.code).toBe(0);
    for (const s of ["--run", "SHOAL_NODES", "SHOAL_HTTP", "REDIS_URL", "SHOAL_CHAOS_URL", "--client-faults", "latency=", "--junit", "--report", "--timeout"]) expect(r.stdout).toContain(s);
    const top = await runCommand([BIN, "chaos", "--help"]);
    expect(top.stdout).toContain("--run");
  });

  test("under --faults kill the command runs through a kill and shoal exits 0; JUnit names it; nothing it left survives", async () => {
    // the shell leaves a `sleep` behind: the runner must end it
    const cmd = `sleep ${SLEEPER} & ${APP} --until-fault kill`;
    const r = await chaosRun(cmd, ["--faults", "kill", "--fault-every", "1s", "--fault-hold", "1s", "--seed", "11"]);
    const kills = r.report.log.filter((e) => e.what === "kill");
    console.log(`chaos --run kill: ${r.app.written} keys written and read back, kills ${kills.map((k) => `${k.target}@${k.startMs}ms`).join(" ")}, command ${r.report.command.durationMs} ms`);
    expect(r.app.error).toBeUndefined();
    expect(r.app.nodes).toHaveLength(3);
    expect(r.app.sawFault).toBe(true);
    expect(Number(r.app.written)).toBeGreaterThanOrEqual(40);
    expect(kills.length).toBeGreaterThanOrEqual(1);
    expect(kills[0]!.startMs).toBeLessThan(r.report.command.durationMs);
    expect(kills[0]!.endMs).not.toBeNull();
    expect(r.report.checkers.map((c) => `${c.name}:${c.status}`)).toEqual(["linearizable:passed", "lost-write:passed", "resurrection:passed", "counter:passed", "liveness:passed"]);
    expect(r.report).toMatchObject({ seed: 11, exitStatus: 0, exitReason: "command", command: { text: cmd, status: 0 } });
    expect(r.report.replay).toContain("--seed 11");
    expect(r.report.replay).toContain("--faults kill");
    expect(r.stderr).toContain(`replay: ${r.report.replay}`);
    expect(r.stderr).toMatch(/\+\d+\.\ds kill n\d/);
    expect(r.junit).toContain(`<testcase classname="shoal-chaos.command" name="${cmd.replace("&", "&amp;")}"`);
    expect(r.junit).toContain('failures="0" errors="0"');
    expect(r.junit).toContain('<property name="seed" value="11"/>');
    expect(r.report.command.stragglersKilled).toBeGreaterThanOrEqual(1);
    expect(sleepers()).toEqual([]);
    await expectAllStopped(r.report);
    expect(r.code).toBe(0);
  }, 180_000);

  test("the same command exiting 3 makes shoal exit 3; JUnit records the failure with its output", async () => {
    const r = await chaosRun(`${APP} --until-fault kill --exit 3`, ["--faults", "kill", "--fault-every", "1s", "--fault-hold", "1s", "--seed", "12"]);
    expect(r.app.sawFault).toBe(true);
    expect(r.report).toMatchObject({ exitStatus: 3, exitReason: "command", command: { exitCode: 3, status: 3 } });
    expect(r.junit).toContain('<failure message="exited with status 3" type="ExitStatus">');
    expect(r.junit).toContain("--- stdout (last part)");
    expect(r.junit).toContain("sawFault&quot;:true");
    expect(r.junit).toContain('tests="6" failures="1"');
    expect(r.code).toBe(3);
  }, 180_000);

  test("a 200 ms client latency fault is seen by the command, changes at run time, and is removed when the run ends", async () => {
    const r = await chaosRun(`${APP} --ping 5 --latency-steps`, ["--faults", "none", "--client-faults", "latency=200ms", "--canary-rate", "0", "--seed", "13"]);
    const rtts = r.app.rtts as number[];
    const rtts300 = r.app.rtts300 as number[];
    console.log(`chaos --run client latency: rtts ${rtts.join(",")} ms; after DELETE ${(r.app.rttsOff as number[]).join(",")} ms; latency=300ms ${rtts300.join(",")} ms`);
    expect(rtts).toHaveLength(5);
    for (const ms of rtts) expect(ms).toBeGreaterThanOrEqual(200);
    expect(r.app.httpStatus).toBe(200); // SHOAL_HTTP goes through a proxy with the same faults
    expect(r.app.httpMs).toBeGreaterThanOrEqual(200);
    for (const ms of rtts300) expect(ms).toBeGreaterThanOrEqual(300);
    expect((r.app.faults as { spec: string }).spec).toBe("latency=200ms");
    expect((r.app.deleted as { spec: string }).spec).toBe("none");
    expect((r.app.put as { spec: string }).spec).toBe("latency=300ms");
    // both intervals are in the log and closed: the first by DELETE, the second by the end of the run
    const client = r.report.log.filter((e) => e.what === "client");
    expect(client.map((e) => `${e.detail} via ${e.source}`)).toEqual(["latency=200ms via --client-faults", "latency=300ms via PUT /v1/faults"]);
    expect(client[0]!.endMs).toBeLessThan(client[1]!.startMs);
    expect(client[1]!.endMs).toBeGreaterThanOrEqual(r.report.command.durationMs - 50);
    expect(r.report.clientFaults.stats["delayedChunks"]).toBeGreaterThanOrEqual(10);
    expect(r.report.checkers.find((c) => c.name === "linearizable")!.status).toBe("skipped");
    await expectAllStopped(r.report);
    expect(r.code).toBe(0);
  }, 120_000);

  test("a violation found by shoal's checkers makes shoal exit 1 although the command exits 0", async () => {
    const r = await chaosRun(`${APP} --destroy-map shoal-chaos-canary`, ["--faults", "none", "--canary-rate", "50", "--seed", "14"]);
    const failed = r.report.checkers.filter((c) => c.status === "failed");
    console.log(`chaos --run violation: ${failed.map((c) => `${c.name} (${c.violations.length})`).join(", ")}`);
    expect(r.report.command.status).toBe(0);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(r.report).toMatchObject({ exitStatus: 1, exitReason: "violation" });
    expect(r.junit).toContain('type="Violation"');
    expect(r.code).toBe(1);
  }, 120_000);

  test("SIGINT is forwarded to the command; everything stops", async () => {
    requireBinary();
    const proc = Bun.spawn([BIN, "chaos", "--real", "--faults", "none", "--canary-rate", "0", "--run", "sleep 60"], { env: childEnv(), stdout: "pipe", stderr: "pipe" });
    const errText: string[] = [];
    const reader = (async () => {
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) errText.push(new TextDecoder().decode(chunk));
    })();
    for (let i = 0; i < 300 && !errText.join("").includes("running: sleep 60"); i++) await sleep(100);
    expect(errText.join("")).toContain("running: sleep 60");
    const t0 = performance.now();
    proc.kill("SIGINT");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
    const code = await proc.exited;
    clearTimeout(timer);
    await reader;
    expect(code).toBe(130);
    expect(performance.now() - t0).toBeLessThan(25_000);
    const err = errText.join("");
    expect(err).toContain("SIGINT: forwarded to the command");
    expect(err).toContain("was ended by SIGINT");
    const addrs = [...err.matchAll(/SHOAL_NODES=(\S+)/g)].flatMap((m) => m[1]!.split(","));
    for (const a of addrs) expect(await listening(a)).toBe(false);
  }, 60_000);

  test("--timeout kills the command and shoal exits 124; bad client faults are usage errors", async () => {
    const r = await chaosRun("sleep 60", ["--faults", "none", "--canary-rate", "0", "--timeout", "2s", "--grace", "1s"]);
    expect(r.report).toMatchObject({ exitStatus: 124, exitReason: "timeout", command: { timedOut: true, signal: "SIGTERM" } });
    expect(r.junit).toContain("killed after the timeout");
    expect(r.code).toBe(124);
    const bad = await runCommand([BIN, "chaos", "--real", "--run", "true", "--client-faults", "latancy=1s"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--client-faults: unknown client fault "latancy"; did you mean latency?');
  }, 120_000);
});
