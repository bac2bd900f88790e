/**
 * What `npm run release` produced: five archives named with the version and
 * the platform (.tar.gz, .zip for Windows), a SHA256SUMS that `sha256sum -c`
 * verifies, each archive holding `shoal-<version>-<platform>/shoal[.exe]`
 * executable, and binaries for the right OS/CPU; the linux-x64 one reports
 * the version, this checkout's 7-character commit and its platform.
 */
import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { archiveName } from "../../tools/release/targets.ts";
import { headCommit, requireRelease, run, TARGETS, tempDir, VERSION } from "./release-dir.ts";

const tmp = tempDir("shoal-rel-");
afterAll(() => tmp.remove());

test("five archives named shoal-<version>-<platform> and a SHA256SUMS that sha256sum -c verifies", async () => {
  const dir = requireRelease();
  const expected = TARGETS.map((t) => archiveName(VERSION, t)).sort();
  expect(expected).toEqual([
    `shoal-${VERSION}-darwin-arm64.tar.gz`,
    `shoal-${VERSION}-darwin-x64.tar.gz`,
    `shoal-${VERSION}-linux-arm64.tar.gz`,
    `shoal-${VERSION}-linux-x64.tar.gz`,
    `shoal-${VERSION}-windows-x64.zip`,
  ]);
  expect(readdirSync(dir).sort()).toEqual([...expected, "SHA256SUMS"].sort());
  const check = await run(["sha256sum", "-c", "--strict", "SHA256SUMS"], { cwd: dir });
  expect(check.code).toBe(0);
  expect(check.stdout.trim().split("\n").sort()).toEqual(expected.map((n) => `${n}: OK`));
});

test("each archive holds shoal-<version>-<platform>/ with an executable for that OS and CPU, and the README", async () => {
  const dir = requireRelease();
  const magic: Record<string, RegExp> = {
    "linux-x64": /ELF 64-bit LSB executable, x86-64/,
    "linux-arm64": /ELF 64-bit LSB executable, ARM aarch64/,
    "darwin-x64": /Mach-O 64-bit x86_64 executable/,
    "darwin-arm64": /Mach-O 64-bit arm64 executable/,
    "windows-x64": /PE32\+ executable \(console\) x86-64/,
  };
  for (const t of TARGETS) {
    const name = archiveName(VERSION, t);
    const top = `shoal-${VERSION}-${t.platform}`;
    const out = join(tmp.dir, t.platform);
    await run(["mkdir", "-p", out]);
    const x = t.format === "zip" ? await run(["unzip", "-q", join(dir, name), "-d", out]) : await run(["tar", "-xzf", join(dir, name), "-C", out]);
    expect(x.code).toBe(0);
    expect(readdirSync(join(out, top)).sort()).toEqual(["README.md", t.binary].sort());
    const bin = join(out, top, t.binary);
    expect(Bun.file(bin).size).toBeGreaterThan(10_000_000);
    const mode = (await run(["stat", "-c", "%a", bin])).stdout.trim();
    expect(mode).toBe("755");
    expect((await run(["file", "-b", bin])).stdout).toMatch(magic[t.platform]!);
  }
});

test("the linux-x64 binary says its version, this checkout's 7-character commit and linux-x64", async () => {
  requireRelease();
  const bin = join(tmp.dir, "linux-x64", `shoal-${VERSION}-linux-x64`, "shoal");
  const r = await run([bin, "version", "--json"]);
  expect(r.code).toBe(0);
  const info = JSON.parse(r.stdout) as { version: string; commit: string; platform: string };
  expect(info).toMatchObject({ version: VERSION, commit: headCommit(), platform: "linux-x64" });
  expect(info.commit).toMatch(/^[0-9a-f]{7}$/);
});
