/**
 * Facts about the serving process that only the runtime knows (pid, CPU
 * time, resident memory): INFO server/cpu/memory show them. core/ never
 * reads them itself; cmd/ passes an implementation to the node.
 */
export interface ProcessProbe {
  pid: number;
  /** "Linux 6.1.0 x86_64"-style text for INFO `os`. */
  os: string;
  /** 64 or 32. */
  archBits: number;
  /** The runtime, e.g. "bun 1.2.3" (INFO server `runtime`). */
  runtime: string;
  /** Path of the running binary or script. */
  executable: string;
  /** CPU time used so far, seconds: [user, system]. */
  cpuSeconds(): [number, number];
  /** Resident set size, bytes. */
  rssBytes(): number;
}
