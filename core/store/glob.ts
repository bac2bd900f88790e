/**
 * Redis glob matching (stringmatchlen) over bytes: `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
 */
export function globMatch(p: Uint8Array, s: Uint8Array, nocase = false): boolean {
  return match(p, 0, s, 0, nocase, 0);
}

const lower = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);

function match(p: Uint8Array, pi: number, s: Uint8Array, si: number, nocase: boolean, depth: number): boolean {
  if (depth > 1000) return false;
  while (pi < p.length && si <= s.length) {
    const c = p[pi]!;
    if (c === 42 /* * */) {
      while (pi + 1 < p.length && p[pi + 1] === 42) pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k <= s.length; k++) if (match(p, pi + 1, s, k, nocase, depth + 1)) return true;
      return false;
    }
    if (si === s.length) return false;
    if (c === 63 /* ? */) {
      si++;
      pi++;
      continue;
    }
    if (c === 91 /* [ */) {
      pi++;
      const not = p[pi] === 94;
      if (not) pi++;
      let hit = false;
      const ch = nocase ? lower(s[si]!) : s[si]!;
      while (pi < p.length && p[pi] !== 93) {
        if (p[pi] === 92 && pi + 1 < p.length) {
          pi++;
          if (p[pi] === s[si]) hit = true;
        } else if (pi + 2 < p.length && p[pi + 1] === 45 /* - */) {
          let a = p[pi]!;
          let b = p[pi + 2]!;
          if (a > b) [a, b] = [b, a];
          if (nocase) {
            a = lower(a);
            b = lower(b);
          }
          if (ch >= a && ch <= b) hit = true;
          pi += 2;
        } else if ((nocase ? lower(p[pi]!) : p[pi]) === ch) hit = true;
        pi++;
      }
      if (not) hit = !hit;
      if (!hit) return false;
      pi++;
      si++;
      continue;
    }
    let lit = c;
    if (c === 92 /* \ */ && pi + 1 < p.length) lit = p[++pi]!;
    if (nocase ? lower(lit) !== lower(s[si]!) : lit !== s[si]) return false;
    pi++;
    si++;
  }
  while (pi < p.length && p[pi] === 42) pi++;
  return pi === p.length && si === s.length;
}
