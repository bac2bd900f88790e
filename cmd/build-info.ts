/**
 * What this binary is: version, the commit it was built from and the
 * platform it runs on (`shoal version`). The commit is embedded at build
 * time (`bun build --define SHOAL_BUILD_COMMIT='"abc1234"'`, done by
 * tools/release/build.ts for `npm run build` and `npm run release`); run from
 * source, it is read from git, else "unknown".
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pkg from "../package.json" with { type: "json" };

// Replaced by the bundler with a string literal; an undeclared global when run from source.
declare const SHOAL_BUILD_COMMIT: string;

/** Release platform names, as in the archive names (`shoal-<version>-<platform>`). */
export function platformName(platform: string = process.platform, arch: string = process.arch): string {
  const os = platform === "win32" ? "windows" : platform;
  return `${os}-${arch}`;
}

/** The 7-character commit of this build: embedded at build time, else from git, else "unknown". */
export function buildCommit(): string {
  if (typeof SHOAL_BUILD_COMMIT === "string" && SHOAL_BUILD_COMMIT !== "") return SHOAL_BUILD_COMMIT;
  try {
    const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
    const sha = execFileSync("git", ["-C", repo, "rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 2000 });
    return /^[0-9a-f]{40}/.test(sha) ? sha.slice(0, 7) : "unknown";
  } catch {
    return "unknown";
  }
}

/** Everything `shoal version` reports. */
export interface BuildInfo {
  name: string;
  version: string;
  commit: string;
  platform: string;
  /** The runtime executing shoal ("bun 1.4.5"). */
  runtime: string;
}

/** This process's build info. */
export function buildInfo(): BuildInfo {
  const runtime = typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.versions.node}`;
  return { name: pkg.name, version: pkg.version, commit: buildCommit(), platform: platformName(), runtime };
}

/** "shoal 0.1.0 (commit abc1234, linux-arm64, bun 1.4.5)". */
export function versionLine(info: BuildInfo = buildInfo()): string {
  return `${info.name} ${info.version} (commit ${info.commit}, ${info.platform}, ${info.runtime})`;
}
