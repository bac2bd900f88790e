/**
 * install.sh against the local dist/release: installs this machine's
 * platform from the directory, another platform (the Windows zip) over HTTP
 * with curl, refuses a tampered archive (checksum mismatch: exit 1, nothing
 * installed, an earlier install left alone), and refuses a platform or
 * version SHA256SUMS does not list. Run with /bin/sh (dash on Debian: POSIX).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { headCommit, ROOT, requireRelease, run, tempDir, VERSION } from "./release-dir.ts";

const INSTALL = join(ROOT, "install.sh");
const tmp = tempDir("shoal-install-");
afterAll(() => tmp.remove());

const install = (...args: string[]) => run(["sh", INSTALL, ...args], { timeoutMs: 120_000 });
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("install.sh", () => {
  test("parses as POSIX sh and documents itself", async () => {
    expect((await run(["sh", "-n", INSTALL])).code).toBe(0);
    const help = await install("--help");
    expect(help.code).toBe(0);
    for (const opt of ["--from", "--prefix", "--platform", "--version"]) expect(help.stdout).toContain(opt);
    const bad = await install("--frobnicate");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown argument '--frobnicate'");
    const noSource = await install();
    expect(noSource.code).toBe(2);
    expect(noSource.stderr).toContain("--from");
  });

  test("installs this machine's platform from a local directory into <prefix>/bin, and the binary runs", async () => {
    const dir = requireRelease();
    const prefix = join(tmp.dir, "local");
    const r = await install("--from", dir, "--prefix", prefix);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`shoal-${VERSION}-linux-x64.tar.gz`);
    expect(r.stdout).toContain("checksum OK");
    const v = await run([join(prefix, "bin", "shoal"), "version", "--json"]);
    expect(JSON.parse(v.stdout)).toMatchObject({ version: VERSION, commit: headCommit(), platform: "linux-x64" });
  });

  test("downloads over HTTP with curl: the windows-x64 zip, checked and unpacked to shoal.exe", async () => {
    const dir = requireRelease();
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        const name = new URL(req.url).pathname.replace(/^\/rel\//, "");
        const path = join(dir, name);
        return /^[\w.-]+$/.test(name) && existsSync(path) ? new Response(Bun.file(path)) : new Response("not found", { status: 404 });
      },
    });
    try {
      const prefix = join(tmp.dir, "http");
      const r = await install("--from", `http://127.0.0.1:${server.port}/rel/`, "--prefix", prefix, "--platform", "windows-x64");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`shoal-${VERSION}-windows-x64.zip`);
      expect((await run(["file", "-b", join(prefix, "bin", "shoal.exe")])).stdout).toContain("PE32+ executable");
      const missing = await install("--from", `http://127.0.0.1:${server.port}/nothing-here/`, "--prefix", prefix);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("could not download");
    } finally {
      server.stop(true);
    }
  });

  test("a tampered archive is refused: exit 1 naming the mismatch, nothing installed, an earlier install untouched", async () => {
    const dir = requireRelease();
    const archive = `shoal-${VERSION}-linux-x64.tar.gz`;
    const bad = join(tmp.dir, "tampered");
    mkdirSync(bad);
    copyFileSync(join(dir, "SHA256SUMS"), join(bad, "SHA256SUMS"));
    copyFileSync(join(dir, archive), join(bad, archive));
    const fd = openSync(join(bad, archive), "r+");
    writeSync(fd, new Uint8Array([0x42]), 0, 1, 1_000_000); // one byte inside the compressed binary
    closeSync(fd);

    const fresh = join(tmp.dir, "fresh");
    const refused = await install("--from", bad, "--prefix", fresh);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`checksum mismatch for ${archive}`);
    expect(refused.stderr).toContain("Refusing to install");
    expect(existsSync(join(fresh, "bin", "shoal"))).toBe(false);

    const earlier = join(tmp.dir, "earlier");
    expect((await install("--from", dir, "--prefix", earlier)).code).toBe(0);
    const before = sha(join(earlier, "bin", "shoal"));
    expect((await install("--from", bad, "--prefix", earlier)).code).toBe(1);
    expect(sha(join(earlier, "bin", "shoal"))).toBe(before);
  });

  test("a platform or version that SHA256SUMS does not list is refused", async () => {
    const dir = requireRelease();
    const noPlatform = join(tmp.dir, "no-platform");
    mkdirSync(noPlatform);
    const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8").split("\n").filter((l) => !l.includes("linux-x64")).join("\n");
    writeFileSync(join(noPlatform, "SHA256SUMS"), sums);
    const r = await install("--from", noPlatform, "--prefix", join(tmp.dir, "p1"), "--platform", "linux-x64");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("lists no shoal archive for linux-x64");
    const v = await install("--from", dir, "--prefix", join(tmp.dir, "p2"), "--version", "9.9.9");
    expect(v.code).toBe(1);
    expect(v.stderr).toContain("lists no shoal 9.9.9 archive for linux-x64");
  });
});
