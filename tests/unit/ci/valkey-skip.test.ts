/**
 * The Valkey suite's skip list (tests/compat/valkey-skip.txt) stays honest:
 * every skipped test is under a "# reason" line, and names a test that exists
 * in the vendored suite (a renamed or removed test must not linger as a
 * silent skip).
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../../..");
const SUITE = join(ROOT, "tests/compat/valkey/unit");

function tclFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tclFiles(p) : p.endsWith(".tcl") ? [p] : [];
  });
}

test("every skipped Valkey test has a reason and exists in the vendored suite", () => {
  const lines = readFileSync(join(ROOT, "tests/compat/valkey-skip.txt"), "utf8").split("\n");
  // every test name of the vendored files, as a pattern: loop variables ($type, $enc…) match anything
  const names = tclFiles(SUITE).flatMap((f) =>
    [...readFileSync(f, "utf8").matchAll(/\btest\s+(?:\{([^}\n]*)\}|"([^"\n]*)")/g)].map((m) => {
      const name = (m[1] ?? m[2])!;
      return new RegExp(`^${name.split(/\$\{?\w+\}?/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    }),
  );
  let reason = false;
  const problems: string[] = [];
  let count = 0;
  for (const line of lines) {
    if (line.startsWith("#")) {
      reason = line.replace(/^#\s*/, "").length > 0 || reason;
      continue;
    }
    if (line.trim() === "") continue;
    count++;
    if (!reason) problems.push(`no reason above: ${line}`);
    if (!names.some((re) => re.test(line))) problems.push(`not a test of the vendored suite: ${line}`);
  }
  expect(problems).toEqual([]);
  expect(count).toBeGreaterThan(0);
});
