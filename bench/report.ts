/**
 * Writing benchmark figures: the machine description and a generated section
 * of BENCHMARKS.md that each script replaces on every run.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** BENCHMARKS.md at the repository root. */
export const BENCHMARKS_PATH = fileURLToPath(new URL("../BENCHMARKS.md", import.meta.url));

const sh = (cmd: string[]): string => {
  const r = Bun.spawnSync(cmd, { stderr: "ignore" });
  return r.stdout.toString().trim();
};

/** The 1, 5 and 15 minute load averages, space-separated. */
export const loadAverage = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** Markdown lines describing the machine and runtime versions, as of now. */
export function machineLines(): string[] {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  const mem = sh(["free", "-g"]).split("\n")[1]?.trim().split(/\s+/)[1] ?? "?";
  const load = loadAverage();
  const redis = /v=(\S+)/.exec(sh(["redis-server", "--version"]))?.[1] ?? "?";
  return [
    `- date: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- machine: ${sh(["nproc"])} CPUs (${cpu}), ${mem} GB RAM (\`free -g\` total), load average before the run ${load}`,
    `- Bun ${Bun.version}, redis-server ${redis}, ${process.platform} ${sh(["uname", "-r"])}`,
  ];
}

/**
 * Replaces (or appends) the generated section `id` in BENCHMARKS.md. The
 * section is delimited by HTML comments so hand-written text around it stays.
 */
export function writeSection(id: string, markdown: string): void {
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  let doc = existsSync(BENCHMARKS_PATH) ? readFileSync(BENCHMARKS_PATH, "utf8") : "# Benchmarks\n";
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) doc = doc.slice(0, i) + block + doc.slice(j + end.length);
  else doc = `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(BENCHMARKS_PATH, doc);
}

/** A markdown table from a header row and data rows. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Formats an ops/s figure: 123456 → "123.5k". */
export const kops = (n: number): string => `${(n / 1000).toFixed(1)}k`;
