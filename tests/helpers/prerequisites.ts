/**
 * Tests that need something from the machine: a program (redis-server,
 * dnsmasq, deno), root, network namespaces. Off CI a missing prerequisite
 * skips the test and prints why; with CI=true the test FAILS naming what is
 * missing and how to install it, so CI never hides a test behind a skip.
 *
 *   const cli = programPath("redis-cli");
 *   testIf(missingProgram("redis-cli", "redis-tools"))("PING", async () => { … });
 *   describeIf(missingRoot())("namespaces", () => { … });
 *
 * tests/unit/ci/no-silent-skips.test.ts refuses `.skipIf(`/`.skip(`/`test.if(`
 * anywhere else in tests/, so every environmental skip goes through here.
 */
import { describe, test } from "bun:test";
import { existsSync } from "node:fs";

/** True when the run is CI (`CI=true`, as `.ci/run` and GitHub Actions set it): missing prerequisites fail. */
export const inCI = process.env.CI === "true" || process.env.CI === "1";

const SYSTEM_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin"];

/** Absolute path of `name` on PATH or in the usual system directories (root's sbin included), or null. */
export function programPath(name: string): string | null {
  const onPath = Bun.which(name);
  if (onPath) return onPath;
  for (const dir of SYSTEM_DIRS) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  return null;
}

/** null when `name` is installed, else the reason naming the Debian package that provides it. */
export function missingProgram(name: string, debianPackage: string): string | null {
  return programPath(name) ? null : `${name} is not installed (apt-get install ${debianPackage})`;
}

/** null when running as root, else the reason. */
export function missingRoot(): string | null {
  return process.getuid?.() === 0 ? null : "needs root (network namespaces, nftables)";
}

/** null when this process may create a network namespace (root and `ip netns add` works), else the reason. */
export function missingNetns(): string | null {
  const root = missingRoot();
  if (root) return root;
  const ip = programPath("ip");
  if (!ip) return "ip is not installed (apt-get install iproute2)";
  const name = `shoalprobe-${process.pid}`;
  const probe = Bun.spawnSync([ip, "netns", "add", name], { stderr: "pipe" });
  if (!probe.success) return `ip netns add is not permitted here: ${probe.stderr.toString().trim()}`;
  Bun.spawnSync([ip, "netns", "del", name]);
  return null;
}

/** The first reason in `reasons` that is not null (several prerequisites for one test). */
export function firstMissing(...reasons: (string | null)[]): string | null {
  return reasons.find((r) => r !== null) ?? null;
}

/** A test body; bun's optional per-test timeout in ms. */
type TestRegistrar = (name: string, fn: () => unknown, timeoutMs?: number) => void;

/**
 * `test` when `missing` is null. Otherwise: off CI the test is skipped (reason
 * printed); in CI it is registered as a failing test whose error is the reason.
 */
export function testIf(missing: string | null): TestRegistrar {
  if (missing === null) return (name, fn, timeoutMs) => test(name, fn as () => Promise<void>, timeoutMs);
  if (inCI) {
    return (name) =>
      test(name, () => {
        throw new Error(`CI cannot run "${name}": ${missing}. CI must provide it (add the package to PACKAGES in .ci/run; CI runs as root) rather than skip.`);
      });
  }
  return (name, fn, timeoutMs) => {
    console.warn(`SKIPPED "${name}": ${missing}`);
    test.skip(name, fn as () => Promise<void>, timeoutMs);
  };
}

/** `describe` when `missing` is null; otherwise a skipped block off CI, or one failing test in CI. */
export function describeIf(missing: string | null): (name: string, fn: () => void) => void {
  if (missing === null) return (name, fn) => describe(name, fn);
  if (inCI) {
    return (name) =>
      describe(name, () => {
        test("prerequisites", () => {
          throw new Error(`CI cannot run "${name}": ${missing}. CI must provide it (add the package to PACKAGES in .ci/run; CI runs as root) rather than skip.`);
        });
      });
  }
  return (name, fn) => {
    console.warn(`SKIPPED "${name}": ${missing}`);
    describe.skip(name, fn);
  };
}
