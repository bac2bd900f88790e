/** The platforms a release is built for, and how each is named and packed. */

/** One release platform. */
export interface ReleaseTarget {
  /** Platform name in archive names and `shoal version`: linux-x64, windows-x64, … */
  platform: string;
  /** `bun build --compile --target` value. */
  bunTarget: string;
  /** The binary's file name inside the archive. */
  binary: string;
  /** Archive format. */
  format: "tar.gz" | "zip";
}

/** Every platform `npm run release` builds, in build order. */
export const TARGETS: readonly ReleaseTarget[] = [
  { platform: "linux-x64", bunTarget: "bun-linux-x64", binary: "shoal", format: "tar.gz" },
  { platform: "linux-arm64", bunTarget: "bun-linux-arm64", binary: "shoal", format: "tar.gz" },
  { platform: "darwin-x64", bunTarget: "bun-darwin-x64", binary: "shoal", format: "tar.gz" },
  { platform: "darwin-arm64", bunTarget: "bun-darwin-arm64", binary: "shoal", format: "tar.gz" },
  { platform: "windows-x64", bunTarget: "bun-windows-x64", binary: "shoal.exe", format: "zip" },
];

/** "shoal-0.1.0-linux-x64" — the archive's base name and its top directory. */
export function releaseName(version: string, t: ReleaseTarget): string {
  return `shoal-${version}-${t.platform}`;
}

/** "shoal-0.1.0-linux-x64.tar.gz". */
export function archiveName(version: string, t: ReleaseTarget): string {
  return `${releaseName(version, t)}.${t.format}`;
}
