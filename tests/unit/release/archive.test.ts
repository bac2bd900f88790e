/**
 * The release archive writers (tools/release/tar.ts, zip.ts) checked by the
 * system's own tar and unzip: contents and Unix modes come back exactly,
 * incompressible data is stored and compressible data deflated, the same
 * inputs give the same bytes, and paths tar cannot hold are refused.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArchiveEntry } from "../../../tools/release/archive-entry.ts";
import { tar, tarGz } from "../../../tools/release/tar.ts";
import { zip } from "../../../tools/release/zip.ts";
import { firstMissing, missingProgram, testIf } from "../../helpers/prerequisites.ts";

const dir = mkdtempSync(join(tmpdir(), "shoal-archive-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const random = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(70_000))); // incompressible
const text = new TextEncoder().encode("shoal ".repeat(5000)); // compressible
const entries: ArchiveEntry[] = [
  { path: "pkg/", mode: 0o755 },
  { path: "pkg/shoal", data: random, mode: 0o755 },
  { path: "pkg/README.md", data: text, mode: 0o644 },
  { path: "pkg/empty", data: new Uint8Array(0), mode: 0o600 },
  { path: "pkg/one-block-and-one", data: new Uint8Array(513).fill(7), mode: 0o644 },
];
const MTIME = 1_767_225_600; // 2026-01-01T00:00:00Z

function checkExtracted(root: string): void {
  for (const e of entries) {
    const p = join(root, e.path);
    expect(statSync(p).mode & 0o777).toBe(e.mode);
    if (e.data) expect(Buffer.compare(readFileSync(p), e.data)).toBe(0);
  }
}

testIf(missingProgram("tar", "tar"))("tar.gz: GNU tar extracts every file with its mode, owner root and the given mtime", async () => {
  const archive = join(dir, "a.tar.gz");
  writeFileSync(archive, tarGz(entries, MTIME));
  const out = join(dir, "tar-out");
  mkdirSync(out);
  const x = Bun.spawnSync(["tar", "-xzf", archive, "-C", out, "--no-same-owner"]);
  expect(x.exitCode).toBe(0);
  checkExtracted(out);
  const list = Bun.spawnSync(["tar", "-tvzf", archive, "--numeric-owner", "--utc"]).stdout.toString();
  expect(list).toMatch(/^-rwxr-xr-x 0\/0 +70000 2026-01-01 00:00 pkg\/shoal$/m);
  expect(list).toMatch(/^drwxr-xr-x 0\/0 +0 2026-01-01 00:00 pkg\/$/m);
});

testIf(firstMissing(missingProgram("unzip", "unzip"), missingProgram("zipinfo", "unzip")))(
  "zip: unzip -t passes, contents and Unix modes come back, random data stored and text deflated",
  async () => {
    const archive = join(dir, "a.zip");
    writeFileSync(archive, zip(entries, MTIME));
    expect(Bun.spawnSync(["unzip", "-t", archive]).stdout.toString()).toContain("No errors detected");
    const out = join(dir, "zip-out");
    mkdirSync(out);
    expect(Bun.spawnSync(["unzip", "-q", archive, "-d", out]).exitCode).toBe(0);
    checkExtracted(out);
    const info = Bun.spawnSync(["zipinfo", archive]).stdout.toString();
    expect(info).toMatch(/-rwxr-xr-x .* unx +70000 b- stor 26-Jan-01 00:00 pkg\/shoal/);
    expect(info).toMatch(/-rw-r--r-- .* unx +30000 b- defN 26-Jan-01 00:00 pkg\/README.md/);
  },
);

test("the same inputs give the same bytes (a release can be rebuilt and compared)", () => {
  expect(tarGz(entries, MTIME)).toEqual(tarGz(entries, MTIME));
  expect(zip(entries, MTIME)).toEqual(zip(entries, MTIME));
  expect(tar(entries, MTIME).length % 512).toBe(0);
});

test("tar refuses a path over 100 bytes instead of truncating it", () => {
  expect(() => tar([{ path: `${"x".repeat(101)}`, data: new Uint8Array(1), mode: 0o644 }], MTIME)).toThrow(/longer than 100 bytes/);
});
