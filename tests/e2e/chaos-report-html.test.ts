/**
 * Chaos reports as pictures from the compiled binary: `shoal chaos --real
 * --report FILE.html` and `--real --run "<command>" --report FILE.html`
 * write a self-contained page with the faults applied (one bar each, on the
 * killed or stopped node's lane), the workload's (or canary's) throughput,
 * errors and latency, the command's own traffic through the proxies, and
 * the checkers' verdicts; the page is opened in
 * headless chromium and kept as a screenshot.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { artifactDir, chromiumPath, launchBrowser } from "../helpers/browser.ts";
import { runCommand } from "../helpers/processes.ts";
import { BIN, requireBinary } from "./binary.ts";

const dir = mkdtempSync(join(tmpdir(), "shoal-chaos-report-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** Opens `file` in chromium (when installed) and keeps a full-page screenshot as `name`. */
async function screenshot(file: string, name: string): Promise<void> {
  if (!chromiumPath()) return;
  const b = await launchBrowser({ width: 1200, height: 900 });
  try {
    const page = await b.context.newPage();
    await page.goto(`file://${file}`);
    expect(await page.locator("svg rect").count()).toBeGreaterThan(5);
    await page.screenshot({ path: join(artifactDir(), name), fullPage: true });
  } finally {
    await b.close();
  }
}

describe("chaos reports as HTML", () => {
  test("--real --report FILE.html: faults over the workload's timeline, checkers passed", async () => {
    requireBinary();
    const file = join(dir, "real.html");
    const r = await runCommand([BIN, "chaos", "--real", "--nodes", "3", "--duration", "10s", "--faults", "kill,stop", "--fault-every", "3s", "--fault-hold", "1s", "--seed", "11", "--quiet", "--report", file], { timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`report: ${file}`);
    const html = readFileSync(file, "utf8");
    expect(html).toContain("<h1>shoal chaos --real</h1>");
    expect(html).toContain("✔ no violation in");
    expect(html).toMatch(/<title>(kill|stop) on n\d: [\d.]+ s → [\d.]+ s/);
    expect(html).toMatch(/fill="#30a46c"><title>[\d.]+ s: [\d.]+ ok ops\/s<\/title>/);
    expect(html.match(/<span class="badge passed">passed<\/span>/g)?.length).toBe(5);
    await screenshot(file, "chaos-real-report.png");
  }, 150_000);

  test("--real --run … --report FILE.html: the command, the node faults and the canary's timeline", async () => {
    requireBinary();
    const file = join(dir, "run.html");
    // the command: 7 s of redis-cli writes through the proxy in front of n0
    const command = 'for i in $(seq 1 35); do redis-cli -u "$REDIS_URL" SET "k$i" "$i" >/dev/null 2>&1; sleep 0.2; done; true';
    const r = await runCommand([BIN, "chaos", "--real", "--run", command, "--nodes", "3", "--faults", "stop", "--fault-every", "2s", "--fault-hold", "1s", "--seed", "5", "--report", file], { timeoutMs: 120_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const html = readFileSync(file, "utf8");
    expect(html).toContain("shoal chaos --real --run &quot;for i in");
    expect(html).toContain("✔ the command passed and no checker found a violation");
    expect(html).toMatch(/<title>stop on n\d: /);
    expect(html).toContain("ok ops/s");
    expect(html).toMatch(/<title>[\d.]+ s: [\d.]+ KiB\/s to the nodes, [\d.]+ KiB\/s back, \d+ new connections<\/title>/);
    expect(html).toContain("Replay: <code>");
    await screenshot(file, "chaos-run-report.png");
  }, 150_000);
});
