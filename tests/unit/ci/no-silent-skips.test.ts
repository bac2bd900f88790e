/**
 * CI hides nothing: every test that depends on the machine goes through
 * tests/helpers/prerequisites.ts (skips off CI, fails in CI). A bare
 * `.skipIf(` / `.skip(` / `test.if(` / `.todo(` elsewhere in tests/ would let a
 * missing program or permission pass CI silently, so this test names each one.
 * A deliberate non-environmental skip may stay with `// skip-ok: <why>` on its
 * line or the line above.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "../../..");
const TESTS = join(ROOT, "tests");
const ALLOWED = new Set(["tests/helpers/prerequisites.ts", "tests/unit/ci/no-silent-skips.test.ts"]);
const SKIP = /\b(?:test|it|describe)\s*\.\s*(?:skipIf|skip|if|todo|todoIf)\s*\(/;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.(ts|tsx|js|mjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

/** "file:line: text" for every bare skip in `text` not marked skip-ok. */
export function bareSkips(file: string, text: string): string[] {
  const lines = text.split("\n");
  const found: string[] = [];
  lines.forEach((line, i) => {
    if (!SKIP.test(line)) return;
    if (line.includes("skip-ok:") || (lines[i - 1] ?? "").includes("skip-ok:")) return;
    found.push(`${file}:${i + 1}: ${line.trim()}`);
  });
  return found;
}

test("the pattern catches the forms bun offers and lets marked ones through", () => {
  const sample = ["test.skipIf(!cli)(\"a\", () => {});", "describe.skip(\"b\", () => {});", "test.if(x)(\"c\", f);", "it.todo(\"d\");", "// skip-ok: flaky upstream", "test.skip(\"e\", f);", "test(\"fine\", f);"].join("\n");
  expect(bareSkips("x.ts", sample)).toEqual(["x.ts:1: test.skipIf(!cli)(\"a\", () => {});", "x.ts:2: describe.skip(\"b\", () => {});", "x.ts:3: test.if(x)(\"c\", f);", "x.ts:4: it.todo(\"d\");"]);
});

test("no test in tests/ skips outside tests/helpers/prerequisites.ts (use testIf/describeIf)", () => {
  const found: string[] = [];
  for (const path of sources(TESTS)) {
    const rel = relative(ROOT, path);
    if (ALLOWED.has(rel)) continue;
    found.push(...bareSkips(rel, readFileSync(path, "utf8")));
  }
  if (found.length > 0) {
    throw new Error(`bare skips hide tests from CI; use testIf(missing…)/describeIf(missing…) from tests/helpers/prerequisites.ts:\n${found.join("\n")}`);
  }
});
