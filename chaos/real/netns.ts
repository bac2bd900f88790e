/**
 * A small virtual network for `shoal chaos --real --netns` (root only): one
 * network namespace per node, each joined by a veth pair to a bridge in the
 * runner's namespace (which gets the .1 address, so the runner's clients
 * reach every node). Each node's eth0 has a `prio` qdisc with two netem
 * bands: band 1 carries all traffic (loss/delay for the "every link" faults),
 * band 2 drops everything and receives the packets whose destination is
 * partitioned away (u32 filters on the destination address). A packet
 * between two nodes crosses exactly one node egress, so "10% loss on every
 * link" is 10% per packet. Kernels without sch_netem (some VMs and
 * sandboxes) fall back to nftables in each namespace: an output chain drops
 * `numgen random` packets for loss and the partitioned destinations; delay
 * then is not available ({@link NetLab.supportsDelay}). Names carry the runner's PID; {@link NetLab.destroy}
 * deletes all of them, and {@link removeStaleLabs} the ones of dead runners.
 */
import { existsSync } from "node:fs";

/** Runs a command synchronously; throws with its stderr on failure unless `allowFail`. */
function sh(argv: string[], allowFail = false): { ok: boolean; out: string } {
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    if (allowFail) return { ok: false, out: String(err) };
    throw new Error(`${argv[0]} could not run (${err instanceof Error ? err.message : String(err)}): install iproute2 / nftables`);
  }
  const out = `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`;
  if (!r.success && !allowFail) throw new Error(`${argv.join(" ")} failed: ${out.trim()}`);
  return { ok: r.success, out };
}

/** Why netns mode cannot run here, or null when it can (root, `ip` and `tc` present, namespaces permitted). */
export function netnsUnavailableReason(): string | null {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "--netns needs root (network namespaces, veth and tc netem); run as root or drop --netns for loopback-only faults";
  for (const tool of ["ip"]) if (!Bun.which(tool) && !existsSync(`/usr/sbin/${tool}`) && !existsSync(`/sbin/${tool}`)) return `--netns needs the '${tool}' command (apt-get install iproute2)`;
  const probe = `shoalc-probe-${process.pid}`;
  const r = sh(["ip", "netns", "add", probe], true);
  if (!r.ok) return `--netns: 'ip netns add' is not permitted here (${r.out.trim()}); drop --netns for loopback-only faults`;
  sh(["ip", "netns", "del", probe], true);
  return null;
}

/** Deletes namespaces and bridges left by chaos runners that are no longer alive. Returns what it removed. */
export function removeStaleLabs(): string[] {
  const removed: string[] = [];
  const alive = (pid: number) => existsSync(`/proc/${pid}`);
  for (const line of sh(["ip", "netns", "list"], true).out.split("\n")) {
    const m = /^(shoalc-(\d+)-\d+)\b/.exec(line.trim());
    if (m && !alive(Number(m[2]))) {
      sh(["ip", "netns", "del", m[1]!], true);
      removed.push(m[1]!);
    }
  }
  for (const line of sh(["ip", "-o", "link", "show", "type", "bridge"], true).out.split("\n")) {
    const m = /^\d+:\s+(sc(\d+)br)[:@]/.exec(line.trim());
    if (m && !alive(Number(m[2]))) {
      sh(["ip", "link", "del", m[1]!], true);
      removed.push(m[1]!);
    }
  }
  return removed;
}

/** Per-link fault applied to every node's egress. */
export interface LinkFault {
  lossPct: number;
  delayMs: number;
  jitterMs: number;
}

/** The namespaces, veths and bridge of one run. */
export class NetLab {
  readonly namespaces: string[] = [];
  readonly bridge: string;
  readonly subnet: string;
  private destroyed = false;
  /** How faults are applied: tc netem (loss, delay, partition) or nftables (loss, partition). */
  backend: "netem" | "nft" = "netem";
  private readonly blocked = new Set<string>();

  private constructor(
    readonly nodes: number,
    subnetIndex: number,
  ) {
    this.bridge = `sc${process.pid}br`;
    this.subnet = `10.213.${subnetIndex}`;
  }

  /** Creates the bridge and one namespace per node. Cleans up what it made when a step fails. */
  static create(nodes: number): NetLab {
    const used = sh(["ip", "-4", "-o", "addr"], true).out;
    let idx = process.pid % 250;
    for (let i = 0; i < 250 && used.includes(`10.213.${idx}.`); i++) idx = (idx + 1) % 250;
    const lab = new NetLab(nodes, idx);
    try {
      lab.build();
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  /** The runner-side address (on the bridge). */
  get hostAddress(): string {
    return `${this.subnet}.1`;
  }

  /** True when per-link delay can be applied (netem backend). */
  get supportsDelay(): boolean {
    return this.backend === "netem";
  }

  /** Node i's address. */
  ip(i: number): string {
    return `${this.subnet}.${10 + i}`;
  }

  /** Node i's namespace name. */
  ns(i: number): string {
    return `shoalc-${process.pid}-${i}`;
  }

  /** `argv` prefixed to run inside node i's namespace (ip netns exec keeps the PID: it execs, no fork). */
  wrap(i: number, argv: string[]): string[] {
    return ["ip", "netns", "exec", this.ns(i), ...argv];
  }

  private build(): void {
    sh(["ip", "link", "add", "name", this.bridge, "type", "bridge"]);
    sh(["ip", "addr", "add", `${this.hostAddress}/24`, "dev", this.bridge]);
    sh(["ip", "link", "set", this.bridge, "up"]);
    for (let i = 0; i < this.nodes; i++) {
      const ns = this.ns(i);
      const host = `sc${process.pid}h${i}`;
      const peer = `sc${process.pid}p${i}`;
      sh(["ip", "netns", "add", ns]);
      this.namespaces.push(ns);
      sh(["ip", "link", "add", host, "type", "veth", "peer", "name", peer]);
      sh(["ip", "link", "set", peer, "netns", ns]);
      sh(["ip", "-n", ns, "link", "set", peer, "name", "eth0"]);
      sh(["ip", "-n", ns, "addr", "add", `${this.ip(i)}/24`, "dev", "eth0"]);
      sh(["ip", "-n", ns, "link", "set", "eth0", "up"]);
      sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
      sh(["ip", "link", "set", host, "master", this.bridge]);
      sh(["ip", "link", "set", host, "up"]);
      if (i === 0) this.backend = this.netemWorks(ns) ? "netem" : "nft";
      if (this.backend === "netem") {
        const tc = (...args: string[]) => sh(["ip", "netns", "exec", ns, "tc", ...args]);
        tc("qdisc", "add", "dev", "eth0", "root", "handle", "1:", "prio", "bands", "2", "priomap", ..."0".repeat(16).split(""));
        tc("qdisc", "add", "dev", "eth0", "parent", "1:1", "handle", "10:", "netem", "limit", "10000");
        tc("qdisc", "add", "dev", "eth0", "parent", "1:2", "handle", "20:", "netem", "loss", "100%");
      } else {
        const nft = (...args: string[]) => sh(["ip", "netns", "exec", ns, "nft", ...args]);
        nft("add", "table", "inet", "shoalchaos");
        nft("add", "chain", "inet", "shoalchaos", "partition");
        nft("add", "chain", "inet", "shoalchaos", "loss");
        nft("add", "chain", "inet", "shoalchaos", "out", "{ type filter hook output priority 0; policy accept; }");
        nft("add", "rule", "inet", "shoalchaos", "out", "oifname", "eth0", "jump", "partition");
        nft("add", "rule", "inet", "shoalchaos", "out", "oifname", "eth0", "jump", "loss");
      }
    }
  }

  /** Whether this kernel has sch_netem (and prio); else nftables must be there. */
  private netemWorks(ns: string): boolean {
    const probe = sh(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "handle", "1:", "prio"], true);
    const netem = probe.ok && sh(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "parent", "1:1", "netem", "loss", "0%"], true).ok;
    sh(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo", "root"], true);
    if (netem) return true;
    if (!Bun.which("nft") && !existsSync("/usr/sbin/nft")) {
      throw new Error("--netns: this kernel has no tc netem/prio qdisc and the nft command is missing; install nftables (apt-get install nftables) for loss and partitions");
    }
    return false;
  }

  /** Sets loss/delay on every node's egress (all zero = clean links). */
  setLinks(f: LinkFault): void {
    if (this.backend === "nft") {
      if (f.delayMs > 0) throw new Error("per-link delay needs tc netem, which this kernel does not have (CONFIG_NET_SCH_NETEM)");
      for (let i = 0; i < this.nodes; i++) {
        const nft = (...args: string[]) => sh(["ip", "netns", "exec", this.ns(i), "nft", ...args]);
        nft("flush", "chain", "inet", "shoalchaos", "loss");
        if (f.lossPct > 0) nft("add", "rule", "inet", "shoalchaos", "loss", "numgen", "random", "mod", "10000", "<", String(Math.round(f.lossPct * 100)), "counter", "drop");
      }
      return;
    }
    const args = ["limit", "10000"];
    if (f.delayMs > 0) args.push("delay", `${f.delayMs}ms`, ...(f.jitterMs > 0 ? [`${f.jitterMs}ms`] : []));
    if (f.lossPct > 0) args.push("loss", `${f.lossPct}%`);
    for (let i = 0; i < this.nodes; i++) sh(["ip", "netns", "exec", this.ns(i), "tc", "qdisc", "change", "dev", "eth0", "parent", "1:1", "handle", "10:", "netem", ...args]);
  }

  /** Drops every packet from node `from` to node `to` (one direction). */
  block(from: number, to: number): void {
    const key = `${from}>${to}`;
    if (this.blocked.has(key)) return;
    this.blocked.add(key);
    if (this.backend === "nft") {
      sh(["ip", "netns", "exec", this.ns(from), "nft", "add", "rule", "inet", "shoalchaos", "partition", "ip", "daddr", this.ip(to), "drop"]);
      return;
    }
    sh(["ip", "netns", "exec", this.ns(from), "tc", "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", "dst", `${this.ip(to)}/32`, "flowid", "1:2"]);
  }

  /** Splits the nodes into `side` and the rest, both directions. */
  partition(side: number[]): void {
    for (let a = 0; a < this.nodes; a++) {
      for (let b = 0; b < this.nodes; b++) if (side.includes(a) !== side.includes(b)) this.block(a, b);
    }
  }

  /** Removes every partition filter. */
  heal(): void {
    if (this.backend === "nft") {
      for (let i = 0; i < this.nodes; i++) sh(["ip", "netns", "exec", this.ns(i), "nft", "flush", "chain", "inet", "shoalchaos", "partition"], true);
      this.blocked.clear();
      return;
    }
    for (let i = 0; i < this.nodes; i++) sh(["ip", "netns", "exec", this.ns(i), "tc", "filter", "del", "dev", "eth0", "parent", "1:", "prio", "1"], true);
    this.blocked.clear();
  }

  /** Deletes the namespaces (and with them the veths) and the bridge. Safe to call twice; processes inside must be killed first. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (let i = 0; i < this.nodes; i++) {
      sh(["ip", "netns", "del", this.ns(i)], true);
      sh(["ip", "link", "del", `sc${process.pid}h${i}`], true);
    }
    sh(["ip", "link", "del", this.bridge], true);
  }
}
