/** Where `npm run release` put its output, for the release smoke tests (tests/release/, run by .ci/run after the build). */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { TARGETS } from "../../tools/release/targets.ts";

/** Repository root. */
export const ROOT = resolve(import.meta.dir, "../..");
/** dist/release (or $RELEASE_DIR). */
export const RELEASE_DIR = resolve(ROOT, process.env.RELEASE_DIR ?? "dist/release");
/** package.json's version: the one in every archive name. */
export const VERSION = pkg.version;
export { TARGETS };

/** RELEASE_DIR, after checking `npm run release` has run. @throws Error naming the command. */
export function requireRelease(): string {
  if (!existsSync(join(RELEASE_DIR, "SHA256SUMS"))) throw new Error(`no release in ${RELEASE_DIR}: run \`npm run release\` first`);
  return RELEASE_DIR;
}

/** The 7-character commit of the checkout (what the binaries must report). */
export function headCommit(): string {
  return Bun.spawnSync(["git", "-C", ROOT, "rev-parse", "HEAD"]).stdout.toString().trim().slice(0, 7);
}

/** A fresh temporary directory, and a function removing it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a command to completion with a time bound; stdout, stderr and the exit code. */
export async function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}) {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env ?? (process.env as Record<string, string>), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}
