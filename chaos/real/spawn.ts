/**
 * Starting and signalling real `shoal serve` children for `shoal chaos
 * --real` and `--soak`: the command line of this binary (or of
 * `bun cmd/shoal.ts` when run from sources), free loopback ports, and a
 * {@link NodeProcess} handle that keeps the last lines of output and can be
 * killed, paused, resumed and restarted on the same addresses.
 */

export { freePort, freePorts } from "../../cmd/ports.ts";

/** True when running inside a `bun build --compile` binary. */
export function isCompiled(): boolean {
  return Bun.main.startsWith("/$bunfs/") || Bun.main.includes("~BUN");
}

/**
 * The command that runs `shoal serve`: `bin` when given, this binary when
 * compiled, else the Bun executable plus the entry script (cmd/shoal.ts).
 */
export function shoalServeCommand(bin?: string): string[] {
  if (bin) return [bin, "serve"];
  if (isCompiled()) return [process.execPath, "serve"];
  return [process.execPath, Bun.main, "serve"];
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Where a node listens and how to start it. */
export interface NodeSpec {
  /** Member name (also --node-name). */
  name: string;
  /** Address clients and the runner use. */
  host: string;
  port: number;
  httpPort: number;
  peerPort: number;
  /** Full command line (prefix such as `ip netns exec` included). */
  argv: string[];
}

/** Processes started by this run, killed on exit whatever happens. */
const live = new Set<ReturnType<typeof Bun.spawn>>();

/** SIGKILLs every child still running (after SIGCONT so stopped ones die at once). */
export function killAllChildren(): void {
  for (const p of live) {
    try {
      p.kill("SIGCONT");
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** One running (or stopped, or dead) `shoal serve` child. */
export class NodeProcess {
  private proc: ReturnType<typeof Bun.spawn> | null = null;
  private readonly lines: string[] = [];
  private alive = false;
  private paused = false;
  private resumedAt = Number.NEGATIVE_INFINITY;
  /** PIDs of every incarnation started (for leak checks). */
  readonly pids: number[] = [];

  /** True when the process was resumed (SIGCONT) after `t` (performance.now() ms): it was paused since then. */
  pausedSince(t: number): boolean {
    return this.resumedAt >= t;
  }

  /** Members in the last partition table this incarnation logged (0 before the first). */
  tableMembers = 0;

  constructor(readonly spec: NodeSpec) {}

  /** PID of the current incarnation (0 when none). */
  get pid(): number {
    return this.alive && this.proc ? this.proc.pid : 0;
  }

  get running(): boolean {
    return this.alive;
  }

  get stopped(): boolean {
    return this.paused;
  }

  /** The last lines of stdout/stderr. */
  output(): string {
    return this.lines.join("");
  }

  /** Starts the process (not waiting for readiness); nodes must log JSON (--log-format json). */
  start(): void {
    if (this.alive) throw new Error(`${this.spec.name} is already running`);
    const proc = Bun.spawn(this.spec.argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: childEnv() });
    this.proc = proc;
    this.pids.push(proc.pid);
    this.alive = true;
    this.paused = false;
    this.tableMembers = 0;
    live.add(proc);
    this.collect(proc.stdout as ReadableStream<Uint8Array>);
    this.collect(proc.stderr as ReadableStream<Uint8Array>);
    void proc.exited.then(() => {
      live.delete(proc);
      if (this.proc === proc) {
        this.alive = false;
        this.paused = false;
      }
    });
  }

  /** Sends `signal`; for SIGKILL waits until the process is gone. */
  async signal(signal: "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM"): Promise<void> {
    const p = this.proc;
    if (!p || !this.alive) return;
    if (signal === "SIGSTOP") this.paused = true;
    if (signal === "SIGCONT") {
      this.paused = false;
      this.resumedAt = performance.now();
    }
    if (signal === "SIGKILL" && this.paused) p.kill("SIGCONT");
    p.kill(signal);
    if (signal === "SIGKILL") await p.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when gone. */
  async stop(graceMs = 3000): Promise<void> {
    const p = this.proc;
    if (!p || !this.alive) return;
    if (this.paused) p.kill("SIGCONT");
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
    await p.exited;
    clearTimeout(t);
  }

  private collect(stream: ReadableStream<Uint8Array>): void {
    const decoder = new TextDecoder();
    let partial = "";
    void (async () => {
      try {
        for await (const chunk of stream) {
          const text = partial + decoder.decode(chunk, { stream: true });
          const cut = text.lastIndexOf("\n");
          partial = text.slice(cut + 1);
          if (cut < 0) continue;
          for (const line of text.slice(0, cut).split("\n")) this.onLine(line);
        }
      } catch {
        // closed
      }
    })();
  }

  private onLine(line: string): void {
    this.lines.push(`${line}\n`);
    if (this.lines.length > 400) this.lines.splice(0, 200);
    if (line.includes("partition table rebuilt")) {
      const m = /"members":(\d+)/.exec(line);
      if (m) this.tableMembers = Number(m[1]);
    }
  }
}

/** The command line of this program (the binary, or Bun and the entry script), e.g. for replay lines. */
export function thisProgram(): string[] {
  return isCompiled() ? [process.execPath] : [process.execPath, Bun.main];
}

/** The environment for children: ours without SHOAL_* (the node's config comes from flags only). */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("SHOAL_")) env[k] = v;
  return env;
}

/** GETs `url` with a deadline; resolves with the status (0 when unreachable) and the elapsed ms. */
export async function httpGet(url: string, timeoutMs: number): Promise<{ status: number; ms: number; body: string }> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    return { status: res.status, ms: performance.now() - t0, body };
  } catch {
    return { status: 0, ms: performance.now() - t0, body: "" };
  }
}
