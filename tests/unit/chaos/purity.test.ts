import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The simulator and checkers must replay bit for bit: no runtime APIs, real time or Math.random. */
const root = join(import.meta.dir, "../../../chaos");
const files = [...readdirSync(root).filter((f) => f.endsWith(".ts")), ...readdirSync(join(root, "sim")).map((f) => `sim/${f}`)];
const code = (src: string): string => src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");

describe("chaos/ (simulator and checkers) is deterministic", () => {
  test("finds the sources", () => expect(files.length).toBeGreaterThanOrEqual(8));
  for (const rel of files) {
    test(rel, () => {
      const src = code(readFileSync(join(root, rel), "utf8"));
      expect(src).not.toMatch(/from\s+["'](node:|bun|deno|fs|path|os|net|dgram|crypto)["'/]/);
      expect(src).not.toMatch(/\b(Bun|Deno|process)\./);
      expect(src).not.toMatch(/\bDate\.now\(|\bnew Date\(|\bsetTimeout\(|\bsetInterval\(|\bMath\.random\(|\bperformance\.now\(|\bqueueMicrotask\(/);
    });
  }
});
