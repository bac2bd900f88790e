/**
 * kubernetes discovery: `--discovery kubernetes --k8s-service shoal
 * [--k8s-namespace ns]` watches the Service's EndpointSlices;
 * `--k8s-selector app=shoal` (without a service) watches Pods instead. Lists,
 * then watches from the list's resourceVersion; relists on 410 Gone. Reports
 * ready endpoints (conditions.ready true or unset — the API says unset means
 * ready) or Ready pods, with the port named `portName`.
 */
import { z } from "zod";
import type { DiscoveryStatus } from "../../core/discovery.ts";
import {
  DEFAULT_PEER_PORT,
  type Discovery,
  type DiscoveryPlugin,
  durationMs,
  type Logger,
  type Peer,
  PeerListReporter,
  type PeersChanged,
  sleep,
} from "./contract.ts";
import { type ApiConnection, resolveConnection, SERVICE_ACCOUNT_DIR } from "./kubernetes-config.ts";
import { podPeers, slicePeers, type WatchEvent, type WatchedObject } from "./kubernetes-objects.ts";
import { SourceStatus } from "./source-status.ts";

/** Config section of the kubernetes plugin. */
export const kubernetesSchema = z
  .object({
    /** Service whose EndpointSlices list the peers (label kubernetes.io/service-name). */
    service: z.string().min(1).optional(),
    /** Pod label selector (e.g. app=shoal): watch Pods instead of EndpointSlices. With `service`, it narrows the EndpointSlices. */
    selector: z.string().min(1).optional(),
    /** Namespace (default: the service account's, or the kubeconfig context's). */
    namespace: z.string().min(1).optional(),
    /** Kubeconfig path; when unset, in-cluster config is used. */
    kubeconfig: z.string().min(1).optional(),
    /** Service-account mount (token, ca.crt, namespace). */
    serviceAccountDir: z.string().default(SERVICE_ACCOUNT_DIR),
    /** Overrides the API server URL. */
    apiServer: z.url({ message: "apiServer: expected a URL like https://10.96.0.1:443" }).optional(),
    /** EndpointSlice port name carrying peer traffic. */
    portName: z.string().default("peer"),
    /** Port when no slice port matches. */
    port: z.number().int().min(1).max(65535).default(DEFAULT_PEER_PORT),
    /** Pause after a failed request (ms or "1s"). */
    retry: durationMs.default(1_000),
    /** Server-side watch timeout (ms or "5m"; sent as timeoutSeconds). */
    watchTimeout: durationMs.default(300_000),
  })
  .refine((c) => c.service || c.selector, {
    message: "give service (the Service name, e.g. shoal-peers) or selector (a Pod label selector, e.g. app=shoal)",
    path: ["service"],
  });

/** Validated kubernetes config. */
export type KubernetesConfig = z.infer<typeof kubernetesSchema>;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Discovery over EndpointSlice list + watch. */
export class KubernetesDiscovery implements Discovery {
  readonly name = "kubernetes";
  private readonly reporter = new PeerListReporter();
  private readonly conn: ApiConnection;
  private readonly path: string;
  private readonly selector: string;
  private readonly slices = new Map<string, WatchedObject>();
  private readonly watchingPods: boolean;
  private rv = "";
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly source: SourceStatus;

  constructor(
    private readonly config: KubernetesConfig,
    private readonly logger: Logger,
    env: Record<string, string | undefined> = process.env,
  ) {
    this.source = new SourceStatus("kubernetes", logger);
    this.conn = resolveConnection(config, env);
    const ns = encodeURIComponent(this.conn.namespace);
    this.watchingPods = !config.service;
    this.path = this.watchingPods
      ? `/api/v1/namespaces/${ns}/pods`
      : `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
    this.selector = this.watchingPods
      ? config.selector!
      : [`kubernetes.io/service-name=${config.service}`, config.selector].filter(Boolean).join(",");
  }

  /** Namespace in use (from config, service account or kubeconfig). */
  get namespace(): string {
    return this.conn.namespace;
  }

  async start(onChange: PeersChanged): Promise<void> {
    if (this.abort) throw new Error("discovery kubernetes: already started");
    this.abort = new AbortController();
    this.reporter.attach(onChange);
    const listed = await this.list(this.abort.signal);
    if (!this.reporter.hasReported()) this.reporter.update([]);
    this.loop = this.run(this.abort.signal, !listed);
  }

  async members(): Promise<Peer[]> {
    return this.reporter.current();
  }

  status(): DiscoveryStatus {
    return this.source.status();
  }

  async stop(): Promise<void> {
    this.reporter.detach();
    this.abort?.abort();
    await this.loop;
  }

  private async run(signal: AbortSignal, needList: boolean): Promise<void> {
    while (!signal.aborted) {
      if (needList) {
        needList = !(await this.list(signal));
        if (needList) await sleep(this.config.retry, signal);
        continue;
      }
      try {
        needList = (await this.watch(signal)) === "expired";
        if (needList) this.logger.info("discovery.kubernetes.relist", { reason: "410 Gone", resourceVersion: this.rv });
      } catch (err) {
        if (signal.aborted) return;
        this.warn(err);
        await sleep(this.config.retry, signal);
      }
    }
  }

  private async request(query: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const token = this.conn.token();
    const res = await fetch(`${this.conn.server.replace(/\/$/, "")}${this.path}?${new URLSearchParams(query)}`, {
      headers: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      signal,
      tls: { ca: this.conn.ca, rejectUnauthorized: !this.conn.insecure },
    } as RequestInit);
    if (!res.ok) {
      const body = await res.text();
      let message = body.slice(0, 200);
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? message;
      } catch {}
      throw new ApiError(res.status, `HTTP ${res.status}: ${message}`);
    }
    return res;
  }

  /** Lists all slices and reports; false on failure (logged). */
  private async list(signal: AbortSignal): Promise<boolean> {
    try {
      const res = await this.request({ labelSelector: this.selector }, signal);
      const body = (await res.json()) as { metadata: { resourceVersion: string }; items: WatchedObject[] };
      this.slices.clear();
      for (const s of body.items) this.slices.set(s.metadata.name, s);
      this.rv = body.metadata.resourceVersion;
      this.publish(signal);
      return true;
    } catch (err) {
      if (!signal.aborted) this.warn(err);
      return false;
    }
  }

  /**
   * Streams one watch until it ends; "expired" when the server says 410. A client-side
   * deadline (server timeout + 10% + 5 s) ends a watch whose connection went silent.
   */
  private async watch(stop: AbortSignal): Promise<"ended" | "expired"> {
    const deadline = AbortSignal.timeout(this.config.watchTimeout * 1.1 + 5_000);
    const signal = AbortSignal.any([stop, deadline]);
    try {
      return await this.streamWatch(signal);
    } catch (err) {
      if (deadline.aborted && !stop.aborted) return "ended";
      throw err;
    }
  }

  private async streamWatch(signal: AbortSignal): Promise<"ended" | "expired"> {
    const res = await this.request(
      {
        labelSelector: this.selector,
        watch: "1",
        resourceVersion: this.rv,
        allowWatchBookmarks: "true",
        timeoutSeconds: String(Math.max(1, Math.round(this.config.watchTimeout / 1000))),
      },
      signal,
    ).catch((err) => {
      if (err instanceof ApiError && err.status === 410) return undefined;
      throw err;
    });
    if (!res) return "expired";
    this.publish(signal); // the watch is open: the source answers again (same list until an event)
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return "ended";
        buffered += value;
        let nl = buffered.indexOf("\n");
        for (; nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line && this.apply(JSON.parse(line) as WatchEvent, signal) === "expired") return "expired";
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  private apply(event: WatchEvent, signal: AbortSignal): "expired" | undefined {
    const o = event.object;
    if (event.type === "ERROR") {
      if (o.code === 410) return "expired";
      throw new ApiError(o.code ?? 500, `watch ERROR ${o.code}: ${o.message}`);
    }
    if (o.metadata?.resourceVersion) this.rv = o.metadata.resourceVersion;
    if (event.type === "BOOKMARK") return undefined;
    if (event.type === "DELETED") this.slices.delete(o.metadata.name);
    else this.slices.set(o.metadata.name, o);
    this.publish(signal);
    return undefined;
  }

  private publish(signal: AbortSignal): void {
    if (signal.aborted) return;
    const { portName, port } = this.config;
    const objects = this.slices.values();
    const peers = this.watchingPods ? podPeers(objects, portName, port) : slicePeers(objects, portName, port);
    peers.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    this.source.answered(peers, { namespace: this.conn.namespace, resourceVersion: this.rv, [this.watchingPods ? "pods" : "endpointSlices"]: this.slices.size });
    this.reporter.update(peers);
  }

  private warn(err: unknown): void {
    this.source.failed(err, { server: this.conn.server });
  }
}

/** The kubernetes plugin descriptor. */
export const kubernetesPlugin: DiscoveryPlugin<KubernetesConfig> = {
  kind: "kubernetes",
  schema: kubernetesSchema as z.ZodType<KubernetesConfig>,
  create: (config, logger) => new KubernetesDiscovery(config, logger),
};
