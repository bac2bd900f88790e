/**
 * `shoal chaos --real` from the compiled binary: a bounded loopback run with
 * kill -9 and SIGSTOP faults ends with exit 0, JSON, faults applied, no
 * checker violation and no node process left; SIGINT in the middle of a run
 * stops every node it started; as root with network namespaces, a run with
 * 10% loss on every link plus partitions leaves no namespace behind.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { sleep } from "../helpers/ports.ts";
import { missingNetns, testIf } from "../helpers/prerequisites.ts";
import { childEnv, runCommand } from "../helpers/processes.ts";
import { BIN, requireBinary } from "./binary.ts";

/** True when `pid` is a live (non-zombie) process. */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** PIDs whose parent is `ppid`. */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

interface Report {
  mode: string;
  violations: { checker: string; message: string }[];
  faults: { byKind: Record<string, number> };
  ops: { logical: number; byKind: Record<string, { ok: number }> };
  convergence: { ok: boolean };
  finalReads: { reads: number; ok: number };
  nodePids: number[];
  netBackend?: string;
}

function parseReport(stdout: string, stderr: string): Report {
  try {
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as Report;
  } catch {
    throw new Error(`no JSON report on stdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-3000)}`);
  }
}

describe("shoal chaos --real", () => {
  test("--help documents the flags", async () => {
    requireBinary();
    const r = await runCommand([BIN, "chaos", "--real", "--help"]);
    expect(r.code).toBe(0);
    for (const f of ["--nodes", "--ops", "--duration", "--faults", "--netns", "--seed", "--json"]) expect(r.stdout).toContain(f);
  });

  test("loopback run with kill -9 and SIGSTOP faults: exit 0, JSON, no violation, no process left", async () => {
    requireBinary();
    const r = await runCommand(
      [BIN, "chaos", "--real", "--nodes", "3", "--duration", "25s", "--ops", "20000", "--faults", "kill,stop", "--fault-every", "3s", "--fault-hold", "2s", "--seed", "7", "--json", "--quiet"],
      { timeoutMs: 150_000 },
    );
    const report = parseReport(r.stdout, r.stderr);
    const faults = Object.values(report.faults.byKind).reduce((a, b) => a + b, 0);
    console.log(`chaos --real loopback: ${report.ops.logical} ops, faults ${JSON.stringify(report.faults.byKind)}, violations ${report.violations.length}`);
    for (const v of report.violations.slice(0, 3)) console.log(`  [${v.checker}] ${v.message}`);
    expect(report.mode).toBe("real");
    expect(faults).toBeGreaterThanOrEqual(2);
    expect(report.ops.byKind["put"]!.ok).toBeGreaterThan(100);
    expect(report.convergence.ok).toBe(true);
    expect(report.finalReads.ok).toBe(report.finalReads.reads);
    expect(report.nodePids.filter(alive)).toEqual([]);
    expect(report.violations.map((v) => `[${v.checker}] ${v.message}`)).toEqual([]);
    expect(r.code).toBe(0);
  }, 180_000);

  test("SIGINT during a run stops every node it started and exits 130", async () => {
    requireBinary();
    const proc = Bun.spawn([BIN, "chaos", "--real", "--duration", "120s", "--faults", "stop", "--fault-every", "1s", "--quiet"], {
      env: childEnv(),
      stdout: "pipe",
      stderr: "pipe",
    });
    let nodes: number[] = [];
    for (let i = 0; i < 100 && nodes.length < 3; i++) {
      await sleep(200);
      nodes = childrenOf(proc.pid);
    }
    expect(nodes.length).toBe(3);
    await sleep(3000); // a SIGSTOP fault is likely in progress now
    nodes = childrenOf(proc.pid);
    proc.kill("SIGINT");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    const code = await proc.exited;
    clearTimeout(timer);
    expect(code).toBe(130);
    for (let i = 0; i < 20 && nodes.some(alive); i++) await sleep(100);
    expect(nodes.filter(alive)).toEqual([]);
  }, 60_000);

  testIf(missingNetns())("netns run with 10% loss on every link and partitions: exit 0, no namespace left", async () => {
    requireBinary();
    const proc = Bun.spawn(
      [BIN, "chaos", "--real", "--netns", "--duration", "25s", "--faults", "partition,netem-loss,kill", "--link-loss", "10", "--fault-every", "3s", "--seed", "11", "--json", "--quiet"],
      { env: childEnv(), stdout: "pipe", stderr: "pipe" },
    );
    const timer = setTimeout(() => proc.kill("SIGINT"), 160_000);
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    const report = parseReport(stdout, stderr);
    console.log(`chaos --real --netns (${report.netBackend}): ${report.ops.logical} ops, faults ${JSON.stringify(report.faults.byKind)}, violations ${report.violations.length}`);
    for (const v of report.violations.slice(0, 3)) console.log(`  [${v.checker}] ${v.message}`);
    const ns = Bun.spawnSync(["ip", "netns", "list"]).stdout.toString();
    expect(ns).not.toContain(`shoalc-${proc.pid}-`);
    expect(existsSync(`/sys/class/net/sc${proc.pid}br`)).toBe(false);
    expect(report.nodePids.filter(alive)).toEqual([]);
    expect(Object.values(report.faults.byKind).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    expect(report.violations.map((v) => `[${v.checker}] ${v.message}`)).toEqual([]);
    expect(code).toBe(0);
  }, 180_000);
});
