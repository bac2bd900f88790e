/**
 * `npm run release` and `npm run build`: compiles cmd/shoal.ts with
 * `bun build --compile --target=bun-<os>-<arch>`, embedding the 7-character
 * commit (`--define SHOAL_BUILD_COMMIT`), and packs one archive per platform
 * into dist/release/ with a SHA256SUMS that `sha256sum -c` verifies.
 * Prints progress while it works and a table of sizes and times at the end.
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { ArchiveEntry } from "./archive-entry.ts";
import { tarGz } from "./tar.ts";
import { archiveName, type ReleaseTarget, releaseName, TARGETS } from "./targets.ts";
import { zip } from "./zip.ts";

const ROOT = resolve(import.meta.dir, "../..");
const ENTRY = join(ROOT, "cmd/shoal.ts");

const HELP = `Usage: bun tools/release/build.ts [--host] [--targets a,b] [--out dir] [--commit sha]

Without options (npm run release): compiles shoal for ${TARGETS.map((t) => t.platform).join(", ")}
into dist/release/ as shoal-<version>-<platform>.tar.gz (.zip for Windows) and writes
SHA256SUMS. Cross-compiling downloads each platform's bun from the npm registry once.

  --host          only dist/shoal for this machine (npm run build)
  --targets LIST  only these platforms (comma-separated), e.g. linux-x64,linux-arm64
  --out DIR       output directory (default dist/release)
  --commit SHA    the commit to embed (default: git rev-parse HEAD)
`;

/** Parsed command line. */
interface Options {
  host: boolean;
  targets: ReleaseTarget[];
  out: string;
  commit?: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { host: false, targets: [...TARGETS], out: join(ROOT, "dist/release") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "--host") o.host = true;
    else if (a === "--out") o.out = resolve(value());
    else if (a === "--commit") o.commit = value();
    else if (a === "--targets") {
      const names = value().split(",").map((s) => s.trim());
      o.targets = names.map((n) => {
        const t = TARGETS.find((x) => x.platform === n);
        if (!t) throw new UsageError(`unknown platform ${JSON.stringify(n)}; known: ${TARGETS.map((x) => x.platform).join(", ")}`);
        return t;
      });
    } else throw new UsageError(`unknown option ${JSON.stringify(a)}`);
  }
  return o;
}

function git(args: string[]): string | undefined {
  const r = Bun.spawnSync(["git", "-C", ROOT, ...args], { stderr: "ignore" });
  return r.success ? r.stdout.toString().trim() : undefined;
}

/** The 7-character commit to embed. @throws UsageError when there is none. */
function commitOf(given: string | undefined): string {
  const sha = given ?? git(["rev-parse", "HEAD"]);
  if (!sha || !/^[0-9a-f]{7,40}$/i.test(sha)) {
    throw new UsageError(given ? `--commit expects a hex commit id, got ${JSON.stringify(given)}` : "not a git checkout: pass --commit <sha>");
  }
  return sha.slice(0, 7).toLowerCase();
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs `bun build --compile` for `bunTarget` (undefined: this machine) into `outfile`. @throws Error with bun's output. */
async function compile(outfile: string, commit: string, bunTarget?: string): Promise<void> {
  const args = [
    process.execPath,
    "build",
    "--compile",
    "--minify",
    ...(bunTarget ? [`--target=${bunTarget}`] : []),
    "--define",
    `SHOAL_BUILD_COMMIT=${JSON.stringify(commit)}`,
    ENTRY,
    "--outfile",
    outfile,
  ];
  const proc = Bun.spawn(args, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) {
    const hint = bunTarget ? `\n(cross-compiling downloads ${bunTarget}'s runtime from the npm registry: is it reachable?)` : "";
    throw new Error(`bun build exited ${code}:\n${out}${err}${hint}`);
  }
}

/** Builds dist/shoal for this machine. */
async function buildHost(commit: string): Promise<void> {
  const outfile = join(ROOT, "dist", process.platform === "win32" ? "shoal.exe" : "shoal");
  const t0 = performance.now();
  console.log(`compiling ${outfile} (commit ${commit}) …`);
  await compile(outfile, commit);
  console.log(`built ${outfile}: ${mb(statSync(outfile).size)} in ${secs(performance.now() - t0)}`);
}

/** The files of one platform's archive. */
function entriesFor(t: ReleaseTarget, version: string, binary: Uint8Array): ArchiveEntry[] {
  const top = `${releaseName(version, t)}/`;
  return [
    { path: top, mode: 0o755 },
    { path: `${top}${t.binary}`, data: binary, mode: 0o755 },
    { path: `${top}README.md`, data: readFileSync(join(ROOT, "README.md")), mode: 0o644 },
  ];
}

/** One row of the final table. */
interface Built {
  archive: string;
  binaryBytes: number;
  archiveBytes: number;
  compileMs: number;
  packMs: number;
}

async function buildRelease(o: Options, commit: string): Promise<void> {
  const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
  const mtime = Number(git(["log", "-1", "--format=%ct"]) ?? "0") || 0; // the commit's time: rebuilding a commit gives the same archives
  rmSync(o.out, { recursive: true, force: true });
  const stage = join(o.out, ".stage");
  mkdirSync(stage, { recursive: true });
  console.log(`shoal ${version} (commit ${commit}): ${o.targets.length} platform(s) into ${o.out}`);
  const started = performance.now();
  const built: Built[] = [];
  for (const [i, t] of o.targets.entries()) {
    const step = `[${i + 1}/${o.targets.length}] ${t.platform}`;
    console.log(`${step}: compiling (--target=${t.bunTarget}) …`);
    const binPath = join(stage, t.platform, t.binary);
    mkdirSync(dirname(binPath), { recursive: true });
    const c0 = performance.now();
    await compile(binPath, commit, t.bunTarget);
    const compileMs = performance.now() - c0;
    const binary = new Uint8Array(readFileSync(binPath));
    console.log(`${step}: ${mb(binary.length)} binary in ${secs(compileMs)}; packing ${t.format} …`);
    const p0 = performance.now();
    const entries = entriesFor(t, version, binary);
    const bytes = t.format === "zip" ? zip(entries, mtime) : tarGz(entries, mtime);
    const archive = archiveName(version, t);
    writeFileSync(join(o.out, archive), bytes);
    chmodSync(join(o.out, archive), 0o644);
    const packMs = performance.now() - p0;
    console.log(`${step}: ${archive} ${mb(bytes.length)} in ${secs(packMs)}`);
    built.push({ archive, binaryBytes: binary.length, archiveBytes: bytes.length, compileMs, packMs });
    rmSync(dirname(binPath), { recursive: true, force: true });
  }
  rmSync(stage, { recursive: true, force: true });
  const sums = built
    .map((b) => b.archive)
    .sort()
    .map((name) => `${createHash("sha256").update(readFileSync(join(o.out, name))).digest("hex")}  ${name}\n`)
    .join("");
  writeFileSync(join(o.out, "SHA256SUMS"), sums);
  console.log(`\n${"archive".padEnd(36)} ${"binary".padStart(9)} ${"archive".padStart(9)} ${"compile".padStart(8)} ${"pack".padStart(7)}`);
  for (const b of built) {
    console.log(`${b.archive.padEnd(36)} ${mb(b.binaryBytes).padStart(9)} ${mb(b.archiveBytes).padStart(9)} ${secs(b.compileMs).padStart(8)} ${secs(b.packMs).padStart(7)}`);
  }
  console.log(`\n${built.length} archives and SHA256SUMS in ${o.out} (${secs(performance.now() - started)})`);
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  let o: Options;
  let commit: string;
  try {
    o = parseArgs(argv);
    commit = commitOf(o.commit);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`release: ${err.message}\nRun 'bun tools/release/build.ts --help' for usage.`);
    return 2;
  }
  try {
    if (o.host) await buildHost(commit);
    else await buildRelease(o, commit);
    return 0;
  } catch (err) {
    console.error(`release: ${(err as Error).message}`);
    return 1;
  }
}

process.exit(await main(process.argv.slice(2)));
