import { parseFaults, runSimSeed } from "./chaos/sim/mod.ts";
const [from, n, faults, bugs] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] ?? "default", process.argv[5]];
const prof = parseFaults(faults);
let bad = 0;
for (let s = from; s < from + n; s++) {
  const r = await runSimSeed({ seed: s, kinds: prof.kinds, linkSeverity: prof.linkSeverity, workload: "mixed", bugs: bugs ? bugs.split(",") : [] });
  if (r.violations.length) { bad++; console.log(s, r.violations.map(v => `${v.checker}: ${v.message.slice(0, 300)}`).join(" | ")); }
}
console.log(`done ${n} seeds from ${from}: ${bad} failing`);
