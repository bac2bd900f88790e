/**
 * Text output of the real-network chaos and soak runs: a progress line
 * (rewritten in place on a terminal, one line every few seconds otherwise)
 * and fixed-width tables.
 */

/** Renders rows as a left-aligned table with a header rule. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) => r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c]!))).join("  ");
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n") + "\n";
}

/** A percentage with enough digits for small rates. */
export function pct(part: number, total: number): string {
  if (total === 0) return "-";
  const p = (100 * part) / total;
  return `${p < 1 && p > 0 ? p.toFixed(3) : p.toFixed(2)}%`;
}

/** The p-quantile (0..1) of `xs` (sorted copy), 0 when empty. */
export function quantile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** Writes progress lines to stderr: in place on a terminal, else at most every `everyMs`. */
export class Progress {
  private last = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly enabled: boolean,
    private readonly everyMs = 5000,
  ) {}

  update(text: string): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (this.tty) process.stderr.write(`\r\x1b[2K${text}`);
    else if (now - this.last >= this.everyMs) {
      this.last = now;
      process.stderr.write(`${text}\n`);
    }
  }

  done(): void {
    if (this.enabled && this.tty) process.stderr.write("\n");
  }
}
