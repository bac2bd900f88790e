/** The {@link ProcessProbe} of a real process, from node:process and node:os (Bun and Deno both provide them). */
import os from "node:os";
import process from "node:process";
import type { ProcessProbe } from "../core/process-probe.ts";

/** Facts about this process for INFO. */
export function processProbe(runtime: string): ProcessProbe {
  return {
    pid: process.pid,
    os: `${os.type()} ${os.release()} ${os.machine?.() ?? process.arch}`,
    archBits: /64/.test(process.arch) ? 64 : 32,
    runtime,
    executable: process.execPath,
    cpuSeconds() {
      const u = process.cpuUsage();
      return [u.user / 1e6, u.system / 1e6];
    },
    rssBytes: () => process.memoryUsage.rss(),
  };
}
