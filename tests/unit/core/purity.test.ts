import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../../../core");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Strips comments so JSDoc examples do not count. */
const code = (src: string): string => src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");

describe("core/ is runtime-neutral", () => {
  const all = files(root);
  test("finds the core sources", () => expect(all.length).toBeGreaterThan(20));
  for (const f of all) {
    const rel = f.slice(root.length + 1);
    test(rel, () => {
      const src = code(readFileSync(f, "utf8"));
      expect(src).not.toMatch(/from\s+["'](node:|bun|deno|fs|path|os|net|dgram|crypto)["'/]/);
      expect(src).not.toMatch(/\brequire\(/);
      expect(src).not.toMatch(/\b(Bun|Deno|process)\./);
      if (rel !== "clock.ts") {
        expect(src).not.toMatch(/\bDate\.now\(|\bsetTimeout\(|\bsetInterval\(|\bMath\.random\(|\bperformance\.now\(/);
      }
    });
  }

  test("the check catches a slip", () => {
    const bad = code('import { readFileSync } from "node:fs";\nBun.serve({});');
    expect(bad).toMatch(/from\s+["'](node:|bun|deno)/);
    expect(bad).toMatch(/\b(Bun|Deno|process)\./);
  });
});
