/**
 * Shared setup of the multi-host e2e tests: a {@link HostLab}, a random
 * cluster key file (nodes bound to 0.0.0.0 need one), `dist/shoal serve`
 * started inside a host with the default ports (each host has its own
 * network stack), an agent in the first client host, and teardown that also
 * runs when a test fails.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Host, type HostAgent, HostLab, type HostLabOptions, hostLabUnavailable, type LabProcess } from "../../helpers/netns-hosts.ts";
import { childEnv } from "../../helpers/processes.ts";
import { requireBinary } from "../binary.ts";

/** Default ports: every host has its own, so the defaults are used. */
export const RESP_PORT = 3320;
export const PEER_PORT = 3322;
export const HTTP_PORT = 3380;

/** Why these tests cannot run here (null: they can). In CI a reason fails the test instead of skipping it. */
export const UNAVAILABLE = hostLabUnavailable();

/** Throws when the tests must run (CI) but cannot. */
export function requireLab(): void {
  if (UNAVAILABLE) throw new Error(`CI must run the multi-host tests: ${UNAVAILABLE}`);
}

/** A lab with shoal nodes. */
export class ShoalHosts {
  readonly nodes = new Map<string, LabProcess>();
  agent!: HostAgent;
  readonly dir = mkdtempSync(join(tmpdir(), "shf-e2e-"));
  /** A random cluster key (hex), mode 0600. */
  readonly keyFile = join(this.dir, "cluster.key");

  private constructor(readonly lab: HostLab) {
    writeFileSync(this.keyFile, `${crypto.getRandomValues(new Uint8Array(32)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "")}\n`);
    chmodSync(this.keyFile, 0o600);
  }

  /** Makes the lab and the client agent. */
  static async create(options: HostLabOptions): Promise<ShoalHosts> {
    requireBinary();
    const s = new ShoalHosts(HostLab.create(options));
    try {
      s.agent = await s.lab.agent(s.lab.clients[0]!);
    } catch (err) {
      await s.destroy();
      throw err;
    }
    return s;
  }

  get hosts(): Host[] {
    return this.lab.hosts;
  }

  /** `host:port` of a host's peer port (IPv6 bracketed). */
  peer(h: Host, v6 = false): string {
    return v6 ? `[${h.ip6}]:${PEER_PORT}` : `${h.ip}:${PEER_PORT}`;
  }

  /** The serve command for `h`: bound to 0.0.0.0 (or ::) and advertising the host's address, with the cluster key. */
  serveArgs(h: Host, extra: string[], opts: { v6?: boolean; advertise?: boolean } = {}): string[] {
    const v6 = opts.v6 === true;
    return [
      requireBinary(),
      "serve",
      "--bind",
      v6 ? "::" : "0.0.0.0",
      ...(opts.advertise === false ? [] : ["--advertise", v6 ? h.ip6! : h.ip]),
      "--cluster-key-file",
      this.keyFile,
      "--log-level",
      "info",
      ...extra,
    ];
  }

  /** Starts shoal in `h` (replacing a stopped one) and waits until it answers PING from the client host. */
  async start(h: Host, extra: string[], opts: { v6?: boolean; advertise?: boolean; env?: Record<string, string> } = {}): Promise<LabProcess> {
    const p = this.lab.spawn(h, this.serveArgs(h, extra, opts), { env: childEnv(opts.env) });
    this.nodes.set(h.name, p);
    try {
      await this.agent.call("tests/helpers/netns-client-ops.ts", "waitPing", [opts.v6 ? h.ip6 : h.ip, RESP_PORT, 20_000]);
    } catch (err) {
      throw new Error(`shoal in ${h.name} did not start: ${(err as Error).message}\n${p.output()}`);
    }
    return p;
  }

  /** Output of every node (for failure messages). */
  logs(): string {
    return [...this.nodes].map(([name, p]) => `--- ${name} ---\n${p.output().slice(-4000)}`).join("\n");
  }

  /** Kills everything and deletes the lab and the key. */
  async destroy(): Promise<void> {
    await this.agent?.close().catch(() => undefined);
    await this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
