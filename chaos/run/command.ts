/**
 * The user's command under `shoal chaos --real --run`: started through
 * `sh -c` in a session and process group of its own (setsid), so signals
 * reach all of it and nothing of it outlives the run. Its stdout/stderr pass
 * through (inherited; or copied through with a bounded tail kept, for the
 * JUnit report). {@link UserCommand.signal} forwards a signal to the whole
 * group; {@link UserCommand.killGroup} ends whatever is left once the main
 * process is gone (SIGTERM, a grace period, SIGKILL), including processes
 * of its session that moved to another group (Linux /proc).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";

/** How the command ended. */
export interface CommandOutcome {
  /** Exit code, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it (SIGKILL, …), or null. */
  signal: string | null;
  /** The status to report, shell style: the exit code, or 128 + signal number. */
  status: number;
  durationMs: number;
}

/** Keeps the last `max` characters written. */
class Tail {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    while (this.size > this.max && this.parts.length > 1) this.size -= this.parts.shift()!.length;
  }
  text(): string {
    const all = this.parts.join("");
    return all.length > this.max ? all.slice(all.length - this.max) : all;
  }
}

/** Output kept of a command for reports. */
const TAIL_CHARS = 64 * 1024;

/** A running user command. */
export class UserCommand {
  readonly stdoutTail = new Tail(TAIL_CHARS);
  readonly stderrTail = new Tail(TAIL_CHARS);
  private readonly proc: ReturnType<typeof Bun.spawn>;
  private readonly t0 = performance.now();
  private copies: Promise<void>[] = [];
  private ended = false;

  /**
   * Starts `sh -c <text>` with `env`. With `capture`, output is copied to
   * ours and a tail kept; else the command writes to our stdout/stderr itself.
   */
  constructor(
    readonly text: string,
    env: Record<string, string>,
    capture: boolean,
  ) {
    this.proc = Bun.spawn(["/bin/sh", "-c", text], {
      env,
      stdin: "inherit",
      stdout: capture ? "pipe" : "inherit",
      stderr: capture ? "pipe" : "inherit",
      detached: true,
    });
    if (capture) {
      this.copies = [
        this.copy(this.proc.stdout as ReadableStream<Uint8Array>, process.stdout, this.stdoutTail),
        this.copy(this.proc.stderr as ReadableStream<Uint8Array>, process.stderr, this.stderrTail),
      ];
    }
    void this.proc.exited.then(() => {
      this.ended = true;
    });
  }

  /** PID of the shell (also the process group and session id). */
  get pid(): number {
    return this.proc.pid;
  }

  /** True once the main process has exited. */
  get done(): boolean {
    return this.ended;
  }

  private async copy(stream: ReadableStream<Uint8Array>, to: NodeJS.WriteStream, tail: Tail): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        to.write(chunk);
        tail.push(decoder.decode(chunk, { stream: true }));
      }
    } catch {
      // closed
    }
  }

  /** Waits (at most `ms`) until the copied output has ended: the pipes stay open while anything of the group holds them. */
  async flushed(ms = 2000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(this.copies), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** Resolves when the main process has exited. */
  async exited(): Promise<CommandOutcome> {
    const code = await this.proc.exited;
    const durationMs = Math.round(performance.now() - this.t0);
    const raw = this.proc.signalCode ?? null;
    const signals = constants.signals as Record<string, number>;
    const signal = raw === null ? null : typeof raw === "number" ? (Object.keys(signals).find((k) => signals[k] === raw) ?? `signal ${raw}`) : raw;
    const signo = raw === null ? 0 : typeof raw === "number" ? raw : (signals[raw] ?? 0);
    return { exitCode: signal ? null : code, signal, status: signal ? 128 + signo : code, durationMs };
  }

  /** Sends `sig` to the command's whole process group (ignores a group already gone). */
  signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.proc.pid, sig);
    } catch {
      // no such group any more
    }
    if (sig === "SIGKILL" || sig === "SIGTERM") for (const pid of sessionMembers(this.proc.pid)) safeKill(pid, sig);
  }

  /** True while any process of the group (or of the session, on Linux) is alive. */
  groupAlive(): boolean {
    if (hasProc) return sessionMembers(this.proc.pid).length > 0; // zombies (an init that does not reap) do not count
    try {
      process.kill(-this.proc.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Ends everything left of the command: SIGTERM to the group, up to
   * `graceMs` for it to go, then SIGKILL. Returns how many processes were
   * left (0 when none; 1 when there were some but /proc cannot count them).
   */
  async killGroup(graceMs: number): Promise<number> {
    if (!this.groupAlive()) return 0;
    const left = Math.max(1, sessionMembers(this.proc.pid).length);
    this.signal("SIGTERM");
    // a stopped process does not act on SIGTERM until continued
    this.signal("SIGCONT");
    const end = performance.now() + graceMs;
    while (performance.now() < end && this.groupAlive()) await new Promise((r) => setTimeout(r, 50));
    if (this.groupAlive()) {
      this.signal("SIGKILL");
      for (let i = 0; i < 40 && this.groupAlive(); i++) await new Promise((r) => setTimeout(r, 50));
    }
    return left;
  }
}

const hasProc = existsSync("/proc/self/stat");

function safeKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

/** Live (non-zombie) processes whose session or process group is `sid` (Linux; [] elsewhere). */
export function sessionMembers(sid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const d of entries) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // f[0] state, f[1] ppid, f[2] pgrp, f[3] session
      if (f[0] !== "Z" && (Number(f[2]) === sid || Number(f[3]) === sid)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
