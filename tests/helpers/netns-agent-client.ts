/**
 * The test-process side of the agent that {@link HostLab.agent} starts inside
 * a namespace host (netns-agent.ts is the other side).
 */
import { resolve } from "node:path";
import type { FileSink } from "bun";
import type { Host, LabProcess } from "./netns-hosts.ts";

/** Prefix of the agent's protocol lines on its stdout (netns-agent.ts). */
export const AGENT_MARK = "@@shf-agent ";
const REPO_ROOT = resolve(import.meta.dir, "../..");

/**
 * A bun process inside a host that calls exported functions on request: the
 * way a test reaches into a namespace (the test process itself stays in the
 * root namespace). One JSON line per call on stdin, one per answer on stdout.
 */
export class HostAgent {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private buffered = "";
  private started!: Promise<void>;

  constructor(readonly process: LabProcess) {
    let onReady: () => void = () => {};
    this.started = new Promise((r) => {
      onReady = r;
    });
    const stdout = process.proc.stdout as ReadableStream<Uint8Array>;
    void this.read(stdout, onReady);
  }

  /** The host the agent runs in. */
  get host(): Host {
    return this.process.host;
  }

  /** Resolves once the agent has started (rejects if it exits first, or after 15 s). */
  async ready(): Promise<void> {
    const exited = this.process.exited.then((code) => {
      throw new Error(`agent in ${this.host.name} exited with ${code}: ${this.process.output()}`);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`agent in ${this.host.name} did not start within 15 s`)), 15_000);
    });
    try {
      await Promise.race([this.started, exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Calls `fn(...args)` exported by `module` (an absolute path, or relative
   * to the repository root) inside the host; resolves with its JSON-able
   * result, rejects with its error message. `timeoutMs` (default 60 s) bounds the call.
   */
  call<T = unknown>(module: string, fn: string, args: unknown[] = [], timeoutMs = 60_000): Promise<T> {
    if (this.process.dead) return Promise.reject(new Error(`agent in ${this.host.name} is not running: ${this.process.output()}`));
    const id = this.nextId++;
    const stdin = this.process.proc.stdin as FileSink;
    return new Promise<T>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`agent in ${this.host.name}: ${fn}() did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolvePromise(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      stdin.write(`${JSON.stringify({ id, module: resolve(REPO_ROOT, module), fn, args })}\n`);
      stdin.flush();
    });
  }

  /** Ends the agent. */
  async close(): Promise<void> {
    try {
      (this.process.proc.stdin as FileSink).end();
    } catch {
      // already closed
    }
    await this.process.stop(1000);
  }

  private async read(stdout: ReadableStream<Uint8Array>, onReady: () => void): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stdout) {
        this.buffered += decoder.decode(chunk);
        let nl = this.buffered.indexOf("\n");
        while (nl >= 0) {
          const line = this.buffered.slice(0, nl);
          this.buffered = this.buffered.slice(nl + 1);
          nl = this.buffered.indexOf("\n");
          if (!line.startsWith(AGENT_MARK)) continue; // stray output of the called code
          if (line === `${AGENT_MARK}ready`) {
            onReady();
            continue;
          }
          let msg: { id: number; ok: boolean; value?: unknown; error?: string };
          try {
            msg = JSON.parse(line.slice(AGENT_MARK.length));
          } catch {
            continue; // stray output of the called code
          }
          const w = this.waiting.get(msg.id);
          if (!w) continue;
          this.waiting.delete(msg.id);
          if (msg.ok) w.resolve(msg.value);
          else w.reject(new Error(`${this.host.name}: ${msg.error}`));
        }
      }
    } catch {
      // stream closed
    }
    for (const [, w] of this.waiting) w.reject(new Error(`agent in ${this.host.name} exited: ${this.process.output().slice(-2000)}`));
    this.waiting.clear();
  }
}
