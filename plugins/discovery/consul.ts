/**
 * consul discovery: `--discovery consul --consul-addr http://127.0.0.1:8500
 * --consul-service shoal [--consul-token …] [--consul-register]`. Reads healthy
 * instances from /v1/health/service/<name>?passing with blocking queries
 * (index + wait), and optionally registers this node with a TTL check that it
 * keeps passing, deregistering on stop.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { DiscoveryStatus } from "../../core/discovery.ts";
import { ConsulRegistration, type RegistrationConfig, registrationSchema } from "./consul-register.ts";
import {
  type Discovery,
  DiscoveryConfigError,
  type DiscoveryPlugin,
  durationMs,
  errorText,
  joinHostPort,
  type Logger,
  type Peer,
  PeerListReporter,
  type PeersChanged,
  sleep,
} from "./contract.ts";
import { SourceStatus } from "./source-status.ts";

/** Config section of the consul plugin. */
export const consulSchema = z
  .object({
    /** Agent HTTP address. */
    addr: z.url({ message: "addr: expected an http(s) URL like http://127.0.0.1:8500" }).default("http://127.0.0.1:8500"),
    /** Service name to discover (and register under). */
    service: z.string({ error: "service: give the Consul service name, e.g. shoal" }).min(1),
    /** ACL token (sent as X-Consul-Token). */
    token: z.string().min(1).optional(),
    /** File holding the ACL token (read at start). */
    tokenFile: z.string().min(1).optional(),
    /** Only instances with this tag. */
    tag: z.string().min(1).optional(),
    /** Datacenter to query (default: the agent's). */
    datacenter: z.string().min(1).optional(),
    /** Blocking query wait (ms or "30s"; Consul caps it at 10m). */
    wait: durationMs.default(30_000),
    /** Pause after a failed request before retrying (ms or "1s"). */
    retry: durationMs.default(1_000),
    /** Register this node with a TTL check. */
    register: z.boolean().default(false),
    registration: registrationSchema.optional(),
  })
  .refine((c) => !c.register || c.registration, {
    message: "registration: register=true needs registration.address and registration.port (this node's peer address)",
    path: ["registration"],
  });

/** Validated consul config. */
export type ConsulConfig = z.infer<typeof consulSchema>;

interface HealthEntry {
  Node?: { Node?: string; Address?: string };
  Service?: { ID?: string; Address?: string; Port?: number };
}

/** Discovery over Consul's health API with blocking queries. */
export class ConsulDiscovery implements Discovery {
  readonly name = "consul";
  private readonly reporter = new PeerListReporter();
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private registration: ConsulRegistration | undefined;
  private index = 0;
  private stopped = false;
  private readonly source: SourceStatus;

  constructor(
    private readonly config: ConsulConfig,
    private readonly logger: Logger,
  ) {
    this.source = new SourceStatus("consul", logger);
    this.base = config.addr.replace(/\/$/, "");
    let token = config.token;
    if (!token && config.tokenFile) {
      try {
        token = readFileSync(config.tokenFile, "utf8").trim();
      } catch (err) {
        throw new DiscoveryConfigError(`discovery consul: tokenFile ${config.tokenFile}: ${errorText(err)}`, { cause: err });
      }
    }
    this.headers = token ? { "X-Consul-Token": token } : {};
  }

  async start(onChange: PeersChanged): Promise<void> {
    if (this.abort) throw new Error("discovery consul: already started");
    this.abort = new AbortController();
    this.reporter.attach(onChange);
    if (this.config.register && this.config.registration) {
      this.registration = new ConsulRegistration(this.base, this.config.service, this.config.registration as RegistrationConfig, this.headers, this.logger);
      await this.registration.start();
    }
    await this.readOnce(this.abort.signal);
    if (!this.reporter.hasReported()) this.reporter.update([]);
    this.loop = this.run(this.abort.signal);
  }

  async members(): Promise<Peer[]> {
    return this.reporter.current();
  }

  status(): DiscoveryStatus {
    return this.source.status();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reporter.detach();
    this.abort?.abort();
    await this.loop;
    await this.registration?.stop();
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const before = this.index;
      const startedAt = performance.now();
      const ok = await this.readOnce(signal);
      // Consul's docs ask clients to rate-limit: an answer that neither blocked nor moved the
      // index (a proxy that ignores `index`, a reset) waits `retry` instead of spinning.
      const spinning = ok && this.index === before && performance.now() - startedAt < 50;
      if ((!ok || spinning) && !signal.aborted) await sleep(this.config.retry, signal);
    }
  }

  /** One (blocking when index > 0) read; false on failure. */
  private async readOnce(signal: AbortSignal): Promise<boolean> {
    const params = new URLSearchParams();
    params.set("passing", "");
    if (this.config.tag) params.set("tag", this.config.tag);
    if (this.config.datacenter) params.set("dc", this.config.datacenter);
    if (this.index > 0) {
      params.set("index", String(this.index));
      params.set("wait", `${Math.max(1, Math.round(this.config.wait))}ms`);
    }
    const url = `${this.base}/v1/health/service/${encodeURIComponent(this.config.service)}?${params.toString().replace("passing=", "passing")}`;
    try {
      // Consul may hold a blocking query for wait + wait/16; past that the connection is presumed dead.
      const deadline = AbortSignal.timeout(this.config.wait * 1.1 + 5_000);
      const res = await fetch(url, { headers: this.headers, signal: AbortSignal.any([signal, deadline]) });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const entries = (await res.json()) as HealthEntry[];
      const next = Number(res.headers.get("X-Consul-Index") ?? "0");
      // Consul docs: reset when the index goes backwards; never block on index <= 0.
      this.index = !(next > 0) ? 0 : next < this.index ? 0 : next;
      if (signal.aborted) return false;
      const peers = toPeers(entries);
      this.source.answered(peers, { service: this.config.service, index: this.index });
      this.reporter.update(peers);
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      this.index = 0;
      this.source.failed(err, { url });
      return false;
    }
  }
}

function toPeers(entries: HealthEntry[]): Peer[] {
  const peers: Peer[] = [];
  for (const e of entries) {
    const host = e.Service?.Address || e.Node?.Address;
    const port = e.Service?.Port;
    if (!host || !port) continue;
    peers.push({ address: joinHostPort(host, port), name: e.Service?.ID });
  }
  return peers.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** The consul plugin descriptor. */
export const consulPlugin: DiscoveryPlugin<ConsulConfig> = {
  kind: "consul",
  schema: consulSchema as z.ZodType<ConsulConfig>,
  create: (config, logger) => new ConsulDiscovery(config, logger),
};
