/**
 * Consul self-registration: registers this node as an instance of the
 * service with a TTL check, passes the check every ttl/3, re-registers when
 * the agent forgot the check (agent restart), deregisters on stop.
 */
import { z } from "zod";
import { durationMs, errorText, type Logger } from "./contract.ts";

/** The `registration` part of the consul config section. */
export const registrationSchema = z.object({
  /** Service instance ID (default "<service>-<address>-<port>"). */
  id: z.string().min(1).optional(),
  /** This node's peer address as other nodes reach it. */
  address: z.string({ error: "registration.address: this node's peer host, e.g. 10.0.0.5" }).min(1),
  /** This node's peer port. */
  port: z.number({ error: "registration.port: this node's peer port, e.g. 3322" }).int().min(1).max(65535),
  tags: z.array(z.string()).default([]),
  /** TTL of the health check (ms or "10s"); heartbeats go every ttl/3. */
  ttl: durationMs.default(10_000),
  /** Consul removes the instance after its check has been critical this long. */
  deregisterAfter: durationMs.default(60_000),
});

/** Validated registration settings. */
export type RegistrationConfig = z.infer<typeof registrationSchema>;

const goDuration = (ms: number): string => `${Math.max(1, Math.round(ms))}ms`;

/** Keeps one service instance registered and its TTL check passing. */
export class ConsulRegistration {
  readonly id: string;
  readonly checkId: string;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly base: string,
    private readonly service: string,
    private readonly config: RegistrationConfig,
    private readonly headers: Record<string, string>,
    private readonly logger: Logger,
  ) {
    this.id = config.id ?? `${service}-${config.address}-${config.port}`;
    this.checkId = `service:${this.id}`;
  }

  /** Registers and passes the check once; heartbeats continue in the background. Failures are logged, not thrown. */
  async start(): Promise<void> {
    try {
      await this.register();
      await this.pass();
    } catch (err) {
      this.logger.warn("discovery.consul.register_failed", { id: this.id, error: errorText(err) });
    }
    this.schedule();
  }

  /** Stops heartbeats and deregisters (best effort, 2 s timeout). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    try {
      await this.put(`/v1/agent/service/deregister/${encodeURIComponent(this.id)}`, undefined, AbortSignal.timeout(2000));
      this.logger.info("discovery.consul.deregistered", { id: this.id });
    } catch (err) {
      this.logger.warn("discovery.consul.deregister_failed", { id: this.id, error: errorText(err) });
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      try {
        await this.pass();
      } catch (err) {
        this.logger.warn("discovery.consul.heartbeat_failed", { id: this.id, error: errorText(err) });
        if (/HTTP 404/.test(errorText(err))) await this.start().catch(() => {});
        else this.schedule();
        return;
      }
      this.schedule();
    }, Math.max(10, this.config.ttl / 3));
  }

  private register(): Promise<void> {
    return this.put("/v1/agent/service/register", {
      ID: this.id,
      Name: this.service,
      Address: this.config.address,
      Port: this.config.port,
      Tags: this.config.tags,
      Check: {
        Name: `shoal ${this.id} TTL`,
        TTL: goDuration(this.config.ttl),
        DeregisterCriticalServiceAfter: goDuration(this.config.deregisterAfter),
      },
    });
  }

  private pass(): Promise<void> {
    return this.put(`/v1/agent/check/pass/${encodeURIComponent(this.checkId)}`);
  }

  private async put(path: string, body?: unknown, signal = AbortSignal.timeout(5000)): Promise<void> {
    const res = await fetch(this.base + path, {
      method: "PUT",
      headers: { ...this.headers, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!res.ok) throw new Error(`PUT ${path}: HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  }
}
