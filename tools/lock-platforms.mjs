// Adds package-lock.json entries for platform-specific optional packages that
// the registry reachable here does not serve (other OSes and CPUs of biome,
// deno, msgpackr-extract). npm never fetches an entry whose os/cpu does not
// match the machine, but `npm ci` refuses a lock that lacks them. Run after
// `npm install` changes the lock:  node tools/lock-platforms.mjs
import { readFileSync, writeFileSync } from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const pkgs = lock.packages;

const OS = ["darwin", "linux", "win32", "android", "freebsd", "openbsd", "sunos", "aix"];
const CPU = { arm64: "arm64", x64: "x64", arm: "arm", ia32: "ia32", s390x: "s390x", ppc64: "ppc64", riscv64: "riscv64", loong64: "loong64" };

function platformOf(name) {
  const parts = name.split("/").pop().split("-");
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.map((p) => CPU[p]).find(Boolean);
  const libc = parts.includes("musl") ? "musl" : parts.includes("glibc") || parts.includes("gnu") ? "glibc" : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  if (!path.startsWith("node_modules/") || !entry.optionalDependencies) continue;
  for (const [dep, spec] of Object.entries(entry.optionalDependencies)) {
    const key = `node_modules/${dep}`;
    if (pkgs[key]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os || !cpu) {
      console.error(`skipping ${dep}: cannot tell its platform from the name`);
      continue;
    }
    pkgs[key] = {
      version: spec.replace(/^[\^~=]/, ""),
      cpu: [cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(libc ? { libc: [libc] } : {}),
      optional: true,
      os: [os],
    };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform entries to package-lock.json`);
