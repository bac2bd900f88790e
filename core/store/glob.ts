/**
 * Redis glob matching (stringmatchlen) over bytes: `*`, `?`, `[abc]`,
 * `[^a-z]`, `\x`. Iterative, backtracking only to the last `*` seen, so any
 * pattern costs at most O(pattern × subject) — a pattern of nested stars
 * cannot stall the node. Like Redis (which stops recursing past a nesting of
 * 1000), a pattern with more than 1000 stars before its end matches nothing.
 */
export function globMatch(p: Uint8Array, s: Uint8Array, nocase = false): boolean {
  if (starGroups(p) > MAX_STARS) return false;
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < p.length && p[pi] === 42 /* * */) {
      while (pi < p.length && p[pi] === 42) pi++;
      if (pi === p.length) return true;
      starP = pi;
      starS = si;
      continue;
    }
    if (pi < p.length) {
      const next = token(p, pi, s[si]!, nocase);
      if (next >= 0) {
        pi = next;
        si++;
        continue;
      }
    }
    if (starP < 0) return false;
    // retry after the last star one byte further on
    pi = starP;
    si = ++starS;
  }
  while (pi < p.length && p[pi] === 42) pi++;
  return pi === p.length;
}

/** Stars Redis would have to nest into (a trailing one does not count). */
const MAX_STARS = 1000;

function starGroups(p: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 92 /* \ */) i++;
    else if (p[i] === 42) {
      while (i + 1 < p.length && p[i + 1] === 42) i++;
      if (i + 1 < p.length) n++;
    }
  }
  return n;
}

const lower = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);

/** Matches one pattern token at `pi` (not a star) against byte `ch`: the index after the token, or -1. */
function token(p: Uint8Array, pi: number, ch: number, nocase: boolean): number {
  const c = p[pi]!;
  if (c === 63 /* ? */) return pi + 1;
  if (c === 91 /* [ */) {
    pi++;
    const not = p[pi] === 94;
    if (not) pi++;
    let hit = false;
    const x = nocase ? lower(ch) : ch;
    while (pi < p.length && p[pi] !== 93) {
      if (p[pi] === 92 && pi + 1 < p.length) {
        pi++;
        if (p[pi] === ch) hit = true;
      } else if (pi + 2 < p.length && p[pi + 1] === 45 /* - */) {
        let a = p[pi]!;
        let b = p[pi + 2]!;
        if (a > b) [a, b] = [b, a];
        if (nocase) {
          a = lower(a);
          b = lower(b);
        }
        if (x >= a && x <= b) hit = true;
        pi += 2;
      } else if ((nocase ? lower(p[pi]!) : p[pi]) === x) hit = true;
      pi++;
    }
    if (not) hit = !hit;
    return hit ? pi + 1 : -1;
  }
  let lit = c;
  if (c === 92 /* \ */ && pi + 1 < p.length) lit = p[++pi]!;
  return (nocase ? lower(lit) === lower(ch) : lit === ch) ? pi + 1 : -1;
}
