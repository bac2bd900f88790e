/**
 * The simulated clients: each runs a loop of operations (put/get/delete on
 * register keys, incr/get on counters, lock/unlock, put/expire/get on
 * expiring keys) against a random running node through an in-process
 * {@link ClientSession}, with a client-side timeout on the simulated clock,
 * and records every operation in the {@link HistoryRecorder}.
 */
import type { Rng } from "../../core/clock.ts";
import type { SimClock } from "../../core/cluster/sim-clock.ts";
import { ClientSession } from "../../core/protocol/session.ts";
import { FINAL_CLIENT, type HistoryRecorder, type Op, type OpKind, type Outcome } from "../history.ts";
import type { Incarnation, SimCluster } from "./cluster.ts";

/** The key space: small so that clients conflict. */
export const KEYS = {
  registers: ["r0", "r1", "r2", "r3"],
  counters: ["c0", "c1"],
  locks: ["l0", "l1"],
  expiring: ["x0", "x1"],
} as const;

/** Map holding the locks (DM.LOCK needs a map name). */
export const LOCK_MAP = "locks";

/** A parsed RESP reply. */
type Reply = { t: "ok"; v: string | number | null } | { t: "err"; message: string };

/** What a call produced: a reply, or no answer in time. */
type CallResult = Reply | { t: "timeout" } | { t: "refused" };

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Parses one RESP2/3 reply (simple, error, integer, bulk, null). */
export function parseReply(b: Uint8Array): Reply {
  const s = dec.decode(b);
  const head = s[0];
  const line = s.slice(1, s.indexOf("\r\n"));
  if (head === "+") return { t: "ok", v: line };
  if (head === "-") return { t: "err", message: line };
  if (head === ":") return { t: "ok", v: Number(line) };
  if (head === "_") return { t: "ok", v: null };
  if (head === "$") {
    const n = Number(line);
    if (n < 0) return { t: "ok", v: null };
    const start = s.indexOf("\r\n") + 2;
    return { t: "ok", v: s.slice(start, start + n) };
  }
  return { t: "err", message: `unexpected reply ${JSON.stringify(s.slice(0, 40))}` };
}

function encode(argv: string[]): Uint8Array {
  let wire = `*${argv.length}\r\n`;
  for (const a of argv) wire += `$${enc.encode(a).length}\r\n${a}\r\n`;
  return enc.encode(wire);
}

/**
 * Errors that prove a write was not applied: -CLUSTERQUORUM and "not ready"
 * are answered before anything runs; a refused lock or unlock changed nothing.
 * Any other error on a write (WRITEQUORUM keeps the local write, a failed
 * forward may have run on the owner) leaves the outcome unknown.
 */
export function errorOutcome(kind: OpKind, message: string): Outcome {
  if (kind === "get") return "fail";
  if (message.startsWith("CLUSTERQUORUM") || message.startsWith("CLUSTERDOWN The cluster is not ready")) return "fail";
  if (kind === "lock" && message.startsWith("LOCKNOTACQUIRED")) return "fail";
  if (kind === "unlock" && message.startsWith("NOSUCHLOCK")) return "fail";
  return "unknown";
}

/** Options of the workload. */
export interface WorkloadOptions {
  clients: number;
  /** Client-side timeout of one operation, ms. */
  timeoutMs: number;
  /** Longest pause between two operations of a client, ms. */
  thinkMs: number;
  /** `mixed` (default): registers, counters, locks, expiring keys; `registers`: put/get/delete only. */
  mix?: WorkloadMix;
}

/** Which operations the clients issue. */
export type WorkloadMix = "mixed" | "registers";

/** Runs the clients and records their history. */
export class Workload {
  private stopAt = Number.POSITIVE_INFINITY;
  private readonly seq: number[];
  private readonly heldLock: ({ key: string; token: string } | null)[];
  /** Operations issued per kind. */
  readonly issued: Record<OpKind, number> = { put: 0, get: 0, delete: 0, incr: 0, lock: 0, unlock: 0, expire: 0 };

  constructor(
    private readonly sim: SimClock,
    private readonly cluster: SimCluster,
    private readonly rng: Rng,
    private readonly rec: HistoryRecorder,
    private readonly o: WorkloadOptions,
  ) {
    this.seq = Array.from({ length: o.clients }, () => 0);
    this.heldLock = Array.from({ length: o.clients }, () => null);
  }

  /** Starts every client; the returned promise resolves once all stopped after {@link stop}. */
  start(): Promise<void> {
    return Promise.all(Array.from({ length: this.o.clients }, (_, c) => this.client(c))).then(() => undefined);
  }

  /** Clients finish their current operation and stop. */
  stop(): void {
    this.stopAt = this.sim.monotonic();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sim.setTimer(ms, resolve));
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.rng.int(list.length)]!;
  }

  private async client(c: number): Promise<void> {
    for (let i = 0; i < 1_000_000 && this.sim.monotonic() < this.stopAt; i++) {
      await this.sleep(1 + this.rng.int(this.o.thinkMs));
      if (this.sim.monotonic() >= this.stopAt) break;
      await this.step(c);
    }
    const held = this.heldLock[c];
    if (held) await this.op(c, "unlock", held.key, held.token);
  }

  private async step(c: number): Promise<void> {
    const r = this.o.mix === "registers" ? 0 : this.rng.next();
    if (r < 0.45) {
      const key = this.pick(KEYS.registers);
      const k = this.rng.next();
      if (k < 0.4) await this.op(c, "put", key, `c${c}-${++this.seq[c]!}`);
      else if (k < 0.85) await this.op(c, "get", key, null);
      else await this.op(c, "delete", key, null);
    } else if (r < 0.65) {
      const key = this.pick(KEYS.counters);
      await (this.rng.next() < 0.7 ? this.op(c, "incr", key, 1) : this.op(c, "get", key, null));
    } else if (r < 0.8) {
      const held = this.heldLock[c];
      if (held) {
        this.heldLock[c] = null;
        await this.op(c, "unlock", held.key, held.token);
      } else {
        const key = this.pick(KEYS.locks);
        const op = await this.op(c, "lock", key, 300 + this.rng.int(1700));
        if (op.outcome === "ok") this.heldLock[c] = { key, token: String(op.result) };
      }
    } else {
      const key = this.pick(KEYS.expiring);
      const k = this.rng.next();
      if (k < 0.4) await this.op(c, "put", key, `c${c}-${++this.seq[c]!}`);
      else if (k < 0.6) await this.op(c, "expire", key, 200 + this.rng.int(1300));
      else await this.op(c, "get", key, null);
    }
  }

  /** After the run: reads every key once through a random node (up to `tries` attempts each). */
  async finalReads(tries = 5): Promise<void> {
    const keys = this.o.mix === "registers" ? KEYS.registers : [...KEYS.registers, ...KEYS.counters, ...KEYS.expiring];
    for (const key of keys) {
      for (let t = 0; t < tries; t++) {
        const op = await this.op(FINAL_CLIENT, "get", key, null);
        if (op.outcome === "ok") break;
        await this.sleep(200);
      }
    }
  }

  /** Issues one operation through a random running node and records it. */
  async op(client: number, kind: OpKind, key: string, value: string | number | null): Promise<Op> {
    this.issued[kind]++;
    const running = this.cluster.running();
    const slot = running.length > 0 ? running[this.rng.int(running.length)]! : -1;
    const inc = slot >= 0 ? this.cluster.at(slot) : null;
    const id = this.rec.invoke({ client, kind, key, value, invokeMs: this.sim.monotonic(), node: inc?.name });
    const argv = command(kind, key, value);
    const res: CallResult = inc ? await this.call(inc, argv) : { t: "refused" };
    const now = this.sim.monotonic();
    if (res.t === "timeout") this.rec.complete(id, now, kind === "get" ? "fail" : "unknown", null, "client timeout");
    else if (res.t === "refused") this.rec.complete(id, now, "fail", null, "no node to connect to");
    else if (res.t === "err") this.rec.complete(id, now, errorOutcome(kind, res.message), null, res.message);
    else this.rec.complete(id, now, "ok", kind === "put" || kind === "unlock" ? null : res.v);
    return this.rec.ops[id]!;
  }

  /**
   * Sends `argv` to one incarnation. A paused node takes the command only
   * when it resumes (the bytes wait in its socket); a node that dies first
   * leaves the client waiting until its timeout.
   */
  private call(inc: Incarnation, argv: string[]): Promise<CallResult> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: CallResult): void => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve(r);
      };
      const timer = this.sim.setTimer(this.o.timeoutMs, () => finish({ t: "timeout" }));
      const submit = (): void => {
        if (done || inc.ended) return;
        if (inc.clock.isPaused) {
          this.sim.setTimer(10, submit);
          return;
        }
        const s = new ClientSession(inc.node, {
          write: (b) => {
            finish(parseReply(b));
            s.onClose();
          },
          close: () => undefined,
          remote: "chaos-client",
        });
        s.onData(encode(argv));
      };
      submit();
    });
  }
}

/** The RESP command of an operation. */
function command(kind: OpKind, key: string, value: string | number | null): string[] {
  switch (kind) {
    case "put":
      return ["SET", key, String(value)];
    case "get":
      return ["GET", key];
    case "delete":
      return ["DEL", key];
    case "incr":
      return ["INCRBY", key, String(value ?? 1)];
    case "lock":
      return ["DM.LOCK", LOCK_MAP, key, "0", "PX", String(value)];
    case "unlock":
      return ["DM.UNLOCK", LOCK_MAP, key, String(value)];
    case "expire":
      return ["PEXPIRE", key, String(value)];
  }
}
