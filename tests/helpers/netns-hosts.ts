/**
 * Multi-host tests on one machine: a {@link HostLab} makes N "hosts" out of
 * Linux network namespaces (root only). Layout:
 *
 * ```
 *   ns shf-<pid>-sw  ("the switch")      ns shf-<pid>-h0 … h<N-1>, c0 … c<M-1>
 *   br0 ── v0  ═══════ veth ═══════════  eth0 10.88.0.10+i/24 [fd88::10+i/64]
 *      ├── v1  ═══════════════════════   eth0 …
 *      └── vC0 ═══════════════════════   eth0 10.88.0.100+j/24 (client hosts)
 * ```
 *
 * Every interface is created inside a namespace of the lab (veths are born
 * with one end in the switch, the other in the host): nothing is added to
 * the root namespace, and each lab is an island, so labs of concurrent test
 * processes cannot see each other. Names carry the pid of the test process
 * (`shf-<pid>-…`; chaos --netns uses `shoalc-`, pick another prefix for a
 * different harness). The test process itself stays in the root namespace
 * and drives the hosts through processes it starts inside them:
 * {@link HostLab.spawn} / {@link HostLab.run} (`ip netns exec`, which execs:
 * the pid is the command's), and {@link HostLab.agent}, a long-lived bun
 * process inside a host that runs exported functions of any module there
 * (e.g. netns-client-ops.ts: RESP commands, HTTP, ioredis Cluster).
 *
 * Faults: {@link HostLab.cut} drops all of a host's traffic with nftables
 * (both directions) until {@link HostLab.heal}; {@link HostLab.block} drops
 * one direction between two hosts. {@link HostLab.destroy} kills every
 * process inside the lab's namespaces and deletes them; it also runs at
 * process exit, and {@link removeStaleHostLabs} removes the labs of test
 * processes that died without cleaning up.
 *
 * @example
 * const lab = HostLab.create({ hosts: 3, clients: 1 });
 * try {
 *   const node = lab.spawn(lab.hosts[0]!, [BIN, "serve", "--bind", "0.0.0.0", "--advertise", lab.hosts[0]!.ip, …]);
 *   const client = await lab.agent(lab.clients[0]!);
 *   await client.call(OPS, "waitPing", lab.hosts[0]!.ip, 3320, 10_000);
 *   lab.cut(lab.hosts[2]!); … lab.heal(lab.hosts[2]!);
 * } finally {
 *   await lab.destroy();
 * }
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { HostAgent } from "./netns-agent-client.ts";

export { HostAgent } from "./netns-agent-client.ts";

/** Prefix of every namespace this harness creates (`shf-<pid>-<host>`). */
export const LAB_PREFIX = "shf";
/** The IPv4 /24 of every lab (labs are islands, so they may all use it). */
export const LAB_SUBNET = "10.88.0";
/** The IPv6 /64 of every lab with `ipv6: true`. */
export const LAB_SUBNET6 = "fd88::";

/** One host of a lab. */
export interface Host {
  /** "h0", "h1", … for server hosts; "c0", … for client hosts. */
  readonly name: string;
  /** Its network namespace. */
  readonly ns: string;
  /** Its IPv4 address on the lab network. */
  readonly ip: string;
  /** Its IPv6 address (labs made with `ipv6: true`). */
  readonly ip6?: string;
}

/** Options of {@link HostLab.create}. */
export interface HostLabOptions {
  /** Server hosts h0…h<n-1> (10.88.0.10+i). */
  hosts: number;
  /** Client hosts c0…c<n-1> (10.88.0.100+j); default 1. */
  clients?: number;
  /** Also give every host an IPv6 address fd88::<10+i> / fd88::<100+j> (no DAD delay). */
  ipv6?: boolean;
}

/** A process started inside a host. */
export interface LabProcess {
  readonly host: Host;
  readonly pid: number;
  readonly proc: Subprocess;
  /** stdout + stderr so far (the last ~1 MB). */
  output(): string;
  /** Exit code once it has exited. */
  readonly exited: Promise<number>;
  /** Whether it has exited. */
  readonly dead: boolean;
  /** SIGKILL now (kill -9); resolves once it is gone. */
  kill(): Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<number>;
}

/** Result of {@link HostLab.run}. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

type Sh = { ok: boolean; out: string };

/** Runs a command synchronously; throws with its output on failure unless `allowFail`. */
function sh(argv: string[], allowFail = false, stdin?: string): Sh {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin) });
  const out = `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`;
  if (!r.success && !allowFail) throw new Error(`${argv.join(" ")} failed: ${out.trim()}`);
  return { ok: r.success, out };
}

const which = (tool: string): boolean => Bun.which(tool) !== null || existsSync(`/usr/sbin/${tool}`) || existsSync(`/sbin/${tool}`);
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);

/** Kills every process inside namespace `ns` (they were started by a lab) and deletes it. */
function deleteNamespace(ns: string): void {
  for (let round = 0; round < 3; round++) {
    const pids = sh(["ip", "netns", "pids", ns], true)
      .out.split(/\s+/)
      .filter((p) => /^\d+$/.test(p));
    if (pids.length === 0) break;
    for (const p of pids) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        // already gone
      }
    }
    Bun.sleepSync(20);
  }
  sh(["ip", "netns", "del", ns], true);
}

/**
 * Why a lab cannot be made here, or null when it can: needs root, `ip`
 * (iproute2) and `nft` (nftables), and permission to add namespaces.
 */
export function hostLabUnavailable(): string | null {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "network namespace hosts need root";
  if (!which("ip")) return "the 'ip' command is missing (apt-get install iproute2)";
  if (!which("nft")) return "the 'nft' command is missing (apt-get install nftables)";
  const probe = `${LAB_PREFIX}-${process.pid}-probe`;
  const r = sh(["ip", "netns", "add", probe], true);
  if (!r.ok) return `'ip netns add' is not permitted here: ${r.out.trim()}`;
  sh(["ip", "netns", "del", probe], true);
  return null;
}

/**
 * Deletes the labs (namespaces named `shf-<pid>-…`) of test processes that
 * are no longer running, killing what still runs inside them. Returns the
 * namespaces removed.
 */
export function removeStaleHostLabs(): string[] {
  const removed: string[] = [];
  const re = new RegExp(`^(${LAB_PREFIX}-(\\d+)-[\\w-]+)`);
  for (const line of sh(["ip", "netns", "list"], true).out.split("\n")) {
    const m = re.exec(line.trim());
    if (m && Number(m[2]) !== process.pid && !alive(Number(m[2]))) {
      deleteNamespace(m[1]!);
      removed.push(m[1]!);
    }
  }
  return removed;
}

const labs = new Set<HostLab>();
process.on("exit", () => {
  for (const lab of labs) lab.destroySync();
});

function collect(stream: ReadableStream<Uint8Array> | undefined, sink: string[]): void {
  if (!stream) return;
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of stream) {
        sink.push(decoder.decode(chunk));
        if (sink.length > 4000) sink.splice(0, 2000);
      }
    } catch {
      // stream closed
    }
  })();
}

/** A set of namespace hosts on one virtual switch. */
export class HostLab {
  /** Server hosts h0…. */
  readonly hosts: Host[] = [];
  /** Client hosts c0…. */
  readonly clients: Host[] = [];
  /** The switch namespace (holds br0 and the host-side veth ends). */
  readonly switchNs: string;
  private readonly namespaces: string[] = [];
  private readonly procs = new Set<LabProcess>();
  private readonly cutOff = new Set<string>();
  private readonly cleanups: (() => void)[] = [];
  private destroyed = false;

  private constructor(readonly options: Required<HostLabOptions>) {
    this.switchNs = `${LAB_PREFIX}-${process.pid}-sw`;
  }

  /**
   * Builds the lab (removing stale labs of dead test processes first).
   * @throws Error with the failing `ip` command; whatever was made is deleted.
   */
  static create(options: HostLabOptions): HostLab {
    removeStaleHostLabs();
    const lab = new HostLab({ clients: 1, ipv6: false, ...options });
    labs.add(lab);
    try {
      lab.build();
    } catch (err) {
      lab.destroySync();
      throw err;
    }
    return lab;
  }

  /** Every host, servers then clients. */
  get all(): Host[] {
    return [...this.hosts, ...this.clients];
  }

  private build(): void {
    const ip = (...args: string[]) => sh(["ip", ...args]);
    ip("netns", "add", this.switchNs);
    this.namespaces.push(this.switchNs);
    ip("-n", this.switchNs, "link", "set", "lo", "up");
    ip("-n", this.switchNs, "link", "add", "br0", "type", "bridge");
    ip("-n", this.switchNs, "link", "set", "br0", "up");
    const add = (name: string, octet: number, list: Host[]) => {
      const ns = `${LAB_PREFIX}-${process.pid}-${name}`;
      const host: Host = {
        name,
        ns,
        ip: `${LAB_SUBNET}.${octet}`,
        ...(this.options.ipv6 ? { ip6: `${LAB_SUBNET6}${octet}` } : {}),
      };
      ip("netns", "add", ns);
      this.namespaces.push(ns);
      // both ends are born inside lab namespaces: nothing touches the root namespace
      ip("-n", this.switchNs, "link", "add", `v${name}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("-n", this.switchNs, "link", "set", `v${name}`, "master", "br0");
      ip("-n", this.switchNs, "link", "set", `v${name}`, "up");
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "addr", "add", `${host.ip}/24`, "dev", "eth0");
      if (host.ip6) ip("-n", ns, "addr", "add", `${host.ip6}/64`, "dev", "eth0", "nodad");
      ip("-n", ns, "link", "set", "eth0", "up");
      list.push(host);
    };
    for (let i = 0; i < this.options.hosts; i++) add(`h${i}`, 10 + i, this.hosts);
    for (let j = 0; j < this.options.clients; j++) add(`c${j}`, 100 + j, this.clients);
  }

  /**
   * `argv` wrapped to run inside `host`: its network namespace and its own
   * UTS namespace whose hostname is the host's name (so `hostname` differs
   * per host as on real machines). `ip netns exec`, `unshare` and `sh -c
   * exec` all exec, so the pid stays the command's.
   */
  wrap(host: Host, argv: readonly string[]): string[] {
    return ["ip", "netns", "exec", host.ns, "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host.name, ...argv];
  }

  /**
   * Starts `argv` inside `host`, capturing its output. The process is killed
   * by {@link destroy} (and at exit) if still running.
   */
  spawn(
    host: Host,
    argv: readonly string[],
    opts: { env?: Record<string, string>; cwd?: string; stdin?: "pipe" | "ignore"; /** false: leave stdout unread (the caller reads proc.stdout) */ captureStdout?: boolean } = {},
  ): LabProcess {
    this.checkOpen();
    const out: string[] = [];
    const proc = Bun.spawn(this.wrap(host, argv), {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? (process.env as Record<string, string>),
      stdin: opts.stdin ?? "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    if (opts.captureStdout !== false) collect(proc.stdout as ReadableStream<Uint8Array>, out);
    collect(proc.stderr as ReadableStream<Uint8Array>, out);
    let dead = false;
    const exited = proc.exited.then((code) => {
      dead = true;
      this.procs.delete(handle);
      return code;
    });
    const handle: LabProcess = {
      host,
      pid: proc.pid,
      proc,
      exited,
      get dead() {
        return dead;
      },
      output: () => out.join(""),
      async kill() {
        if (!dead) proc.kill("SIGKILL");
        return exited;
      },
      async stop(graceMs = 3000) {
        if (!dead) {
          proc.kill("SIGTERM");
          const timer = setTimeout(() => {
            if (!dead) proc.kill("SIGKILL");
          }, graceMs);
          await exited;
          clearTimeout(timer);
        }
        return exited;
      },
    };
    this.procs.add(handle);
    return handle;
  }

  /** Runs `argv` inside `host` to completion (killed after `timeoutMs`, default 30 s). */
  async run(host: Host, argv: readonly string[], opts: { env?: Record<string, string>; timeoutMs?: number; stdin?: string } = {}): Promise<RunResult> {
    this.checkOpen();
    const proc = Bun.spawn(this.wrap(host, argv), {
      cwd: REPO_ROOT,
      env: opts.env ?? (process.env as Record<string, string>),
      stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGKILL");
    }, opts.timeoutMs ?? 30_000);
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout as ReadableStream).text(),
      new Response(proc.stderr as ReadableStream).text(),
      proc.exited,
    ]);
    clearTimeout(timer);
    return { code, stdout, stderr, timedOut };
  }

  /**
   * Starts an agent inside `host`: a bun process that runs exported
   * functions of modules on request (see {@link HostAgent.call}).
   */
  async agent(host: Host): Promise<HostAgent> {
    const p = this.spawn(host, [process.execPath, AGENT_SCRIPT], { stdin: "pipe", captureStdout: false });
    const agent = new HostAgent(p);
    await agent.ready();
    return agent;
  }

  /** Adds another address to a host's eth0 (e.g. "10.88.1.10/24"): a host with several addresses. */
  addAddress(host: Host, cidr: string): void {
    sh(["ip", "-n", host.ns, "addr", "add", cidr, "dev", "eth0", ...(cidr.includes(":") ? ["nodad"] : [])]);
  }

  /** Cuts `host` off the network: nftables drops everything in and out of its eth0 until {@link heal}. */
  cut(host: Host): void {
    if (this.cutOff.has(host.ns)) return;
    sh(
      ["ip", "netns", "exec", host.ns, "nft", "-f", "-"],
      false,
      [
        "table inet shfcut {",
        '  chain in { type filter hook input priority -10; policy accept; iifname "eth0" drop; }',
        '  chain out { type filter hook output priority -10; policy accept; oifname "eth0" drop; }',
        "}",
      ].join("\n"),
    );
    this.cutOff.add(host.ns);
  }

  /** Undoes {@link cut} for `host` (every host when omitted) and {@link block}s from it. */
  heal(host?: Host): void {
    for (const h of host ? [host] : this.all) {
      sh(["ip", "netns", "exec", h.ns, "nft", "delete", "table", "inet", "shfcut"], true);
      sh(["ip", "netns", "exec", h.ns, "nft", "delete", "table", "inet", "shfblock"], true);
      this.cutOff.delete(h.ns);
    }
  }

  /** Drops packets from `from` to `to` (one direction; IPv4 and IPv6) until {@link heal}(from). */
  block(from: Host, to: Host): void {
    const rules = [`ip daddr ${to.ip} drop;`, ...(to.ip6 ? [`ip6 daddr ${to.ip6} drop;`] : [])];
    sh(["ip", "netns", "exec", from.ns, "nft", "-f", "-"], false, `table inet shfblock {\n  chain out { type filter hook output priority -10; policy accept; }\n}\n`);
    for (const r of rules) sh(["ip", "netns", "exec", from.ns, "nft", `add rule inet shfblock out ${r}`]);
  }

  /** Cuts `side` off from `others` in both directions (each can still reach hosts in neither list, e.g. the clients) until {@link heal}. */
  partition(side: readonly Host[], others: readonly Host[]): void {
    for (const a of side) {
      for (const b of others) {
        this.block(a, b);
        this.block(b, a);
      }
    }
  }

  /** Runs `fn` (synchronously) when the lab is destroyed, after its processes are killed: temp files of helpers that live in a host. */
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /**
   * Kills every process inside the lab's namespaces (started through this
   * lab or not) and deletes the namespaces, which removes the veths and the
   * switch. Safe to call twice.
   */
  async destroy(): Promise<void> {
    const waits = [...this.procs].map((p) => p.kill());
    await Promise.race([Promise.all(waits), Bun.sleep(2000)]);
    this.destroySync();
  }

  /** {@link destroy} without waiting for exit codes (used at process exit and on a failed build). */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    labs.delete(this);
    for (const p of this.procs) {
      try {
        p.proc.kill("SIGKILL");
      } catch {
        // gone
      }
    }
    for (const ns of [...this.namespaces].reverse()) deleteNamespace(ns);
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        // best effort: a cleanup must not stop the others
      }
    }
  }

  private checkOpen(): void {
    if (this.destroyed) throw new Error("this HostLab was destroyed");
  }
}

/** Repository root (tests/helpers/../..). */
const REPO_ROOT = resolve(import.meta.dir, "../..");
const AGENT_SCRIPT = resolve(import.meta.dir, "netns-agent.ts");
