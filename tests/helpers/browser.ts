/**
 * Headless Chromium for tests: Debian's /usr/bin/chromium (apt-get install
 * chromium) driven through playwright-core, with a fresh profile directory
 * per launch and the flags that keep it from reaching anything but the
 * pages a test opens. Screenshots and dumps go to {@link artifactDir}.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { programPath } from "./prerequisites.ts";
import { REPO_ROOT } from "./processes.ts";

/** The flags every test browser runs with (besides the headless mode and profile playwright adds). */
export const CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** The system chromium, or null. */
export function chromiumPath(): string | null {
  return programPath("chromium");
}

/** A running browser with its own fresh profile; close() removes the profile. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches headless chromium with a fresh --user-data-dir and `viewport`. */
export async function launchBrowser(viewport = { width: 1400, height: 1000 }): Promise<TestBrowser> {
  const path = chromiumPath();
  if (!path) throw new Error("chromium is not installed (apt-get install chromium)");
  const profile = mkdtempSync(join(tmpdir(), "shoal-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: path, headless: true, args: CHROMIUM_FLAGS, viewport });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * `chromium --headless --dump-dom --virtual-time-budget=<ms> <url>` with a
 * fresh profile: the DOM after the page's scripts ran for `budgetMs` of
 * virtual time. Throws when chromium fails or takes longer than `timeoutMs`.
 */
export async function dumpDom(url: string, budgetMs = 5000, timeoutMs = 60_000): Promise<string> {
  const path = chromiumPath();
  if (!path) throw new Error("chromium is not installed (apt-get install chromium)");
  const profile = mkdtempSync(join(tmpdir(), "shoal-chromium-"));
  try {
    const proc = Bun.spawn([path, "--headless", ...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "--dump-dom", `--virtual-time-budget=${budgetMs}`, url], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    if (code !== 0) throw new Error(`chromium --dump-dom exited ${code}:\n${err.slice(-2000)}`);
    return out;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Where tests keep screenshots and dumps: $CI_ARTIFACT_DIR, else $CI_LOG_DIR/artifacts, else dist/artifacts. */
export function artifactDir(): string {
  const dir = process.env.CI_ARTIFACT_DIR ?? (process.env.CI_LOG_DIR ? join(process.env.CI_LOG_DIR, "artifacts") : join(REPO_ROOT, "dist", "artifacts"));
  mkdirSync(dir, { recursive: true });
  return dir;
}
