/**
 * Names around the configuration that are not settings: the SHOAL_* variables
 * read for other purposes (accepted, never refused as unknown), other
 * variables the binary reads, and the closest-name suggestion used when a
 * flag, variable or YAML key matches no setting.
 */

/** A variable read for another purpose than a setting, as listed in `shoal serve --help`. */
export interface OtherVariable {
  /** Exact name, or a prefix ending in `_*`. */
  name: string;
  description: string;
}

/** SHOAL_* variables that are not settings and are not refused. */
export const OTHER_SHOAL_VARIABLES: readonly OtherVariable[] = [
  { name: "SHOAL_CONFIG", description: "path of the YAML file (same as --config)" },
  { name: "SHOAL_BIN", description: "binary the test and benchmark scripts run (ignored by serve)" },
  { name: "SHOAL_BENCH_*", description: "benchmark script options (ignored by serve)" },
  { name: "SHOAL_TEST_*", description: "test script options (ignored by serve)" },
  { name: "SHOAL_FUZZ_*", description: "fuzz test options (ignored by serve)" },
  { name: "SHOAL_NODES", description: "RESP host:port list 'shoal chaos --real --run' gives its command (ignored by serve)" },
  { name: "SHOAL_HTTP", description: "HTTP host:port list 'shoal chaos --real --run' gives its command (ignored by serve)" },
  { name: "SHOAL_CHAOS_URL", description: "control URL of the client faults 'shoal chaos --real --run' gives its command (ignored by serve)" },
];

/** Variables without the SHOAL_ prefix that shoal reads. */
export const OTHER_VARIABLES: readonly OtherVariable[] = [
  { name: "REDISCLI_AUTH", description: "password of shoal cli/stats/bench when -a and SHOAL_REQUIREPASS are unset" },
  { name: "KUBERNETES_SERVICE_HOST", description: "API server address for --discovery kubernetes (set inside a pod)" },
  { name: "KUBERNETES_SERVICE_PORT", description: "API server port for --discovery kubernetes (set inside a pod)" },
];

/** Whether `name` is one of {@link OTHER_SHOAL_VARIABLES}. */
export function isOtherShoalVariable(name: string): boolean {
  return OTHER_SHOAL_VARIABLES.some((v) => (v.name.endsWith("_*") ? name.startsWith(v.name.slice(0, -1)) : name === v.name));
}

/** Levenshtein edit distance (insert, delete, substitute, and a swap of two neighbours counts as one). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `name` (case-insensitive), or undefined when none
 * is close enough to be a likely typo: at most a third of the name's length
 * (without a leading `SHOAL_` or `--`) in edits, at least 1 and at most 3; or a candidate that contains the name or
 * is contained in it.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase();
  const core = wanted.replace(/^(shoal_|--)/, "");
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const lower = c.toLowerCase();
    let score = editDistance(wanted, lower);
    if (score > Math.min(3, Math.max(1, Math.floor(core.length / 3)))) {
      // a longer or shorter spelling of the same setting (SHOAL_HTTP vs SHOAL_HTTP_PORT)
      if (core.length >= 4 && (lower.startsWith(wanted) || wanted.startsWith(lower))) score = 10 + Math.abs(lower.length - wanted.length);
      else continue;
    }
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/** `; did you mean X?` when a close candidate exists, else "". */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const c = closestName(name, candidates);
  return c === undefined ? "" : `; did you mean ${c}?`;
}
