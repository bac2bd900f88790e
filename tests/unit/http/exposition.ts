/**
 * Strict parser of the Prometheus text exposition format 0.0.4 for the
 * /metrics tests: throws on any line it cannot parse, on a family without
 * HELP or TYPE, and on a counter whose name does not end in _total.
 */
import { expect } from "bun:test";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL_RE = new RegExp(`^(${NAME.replace(":", "")})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"(?:,|$)`);

/** Strict parser of the 0.0.4 text format: throws on any line it cannot parse. */
export function parseExposition(text: string): Map<string, Family> {
  expect(text.endsWith("\n")).toBe(true);
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type: "", help: "", samples: [] }));
    return f;
  };
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      if (family(m[1]!).help) throw new Error(`second HELP for ${m[1]}`);
      family(m[1]!).help = m[2]!;
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      const f = family(m[1]!);
      if (f.type || f.samples.length) throw new Error(`TYPE for ${m[1]} must come once, before its samples`);
      f.type = m[2]!;
    } else if ((m = SAMPLE_RE.exec(line))) {
      const [, name, rawLabels, rawValue] = m;
      const labels: Record<string, string> = {};
      let rest = rawLabels ?? "";
      while (rest.length > 0) {
        const l = LABEL_RE.exec(rest);
        if (!l) throw new Error(`bad labels in: ${line}`);
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, ch: string) => (ch === "n" ? "\n" : ch));
        rest = rest.slice(l[0].length);
      }
      const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : Number(rawValue);
      if (Number.isNaN(value) && rawValue !== "NaN") throw new Error(`bad value in: ${line}`);
      const base = name!.replace(/_(bucket|sum|count)$/, "");
      const owner = families.has(name!) ? name! : families.get(base)?.type === "histogram" ? base : name!;
      family(owner).samples.push({ name: name!, labels, value });
    } else {
      throw new Error(`unparseable line: ${JSON.stringify(line)}`);
    }
  }
  for (const [name, f] of families) {
    if (!f.help || !f.type) throw new Error(`${name} lacks HELP or TYPE`);
    if (f.type === "counter" && !name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
  }
  return families;
}

/** The value of the first sample of family `name`. */
export const one = (fams: Map<string, Family>, name: string) => fams.get(name)!.samples[0]!.value;
