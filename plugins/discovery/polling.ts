/**
 * Shared loop for plugins that poll their source (static, dns): fetch the
 * whole list every interval, report it when it changed, and on failure keep
 * the last known list and log a warning.
 */
import type { DiscoveryStatus } from "../../core/discovery.ts";
import { type Discovery, type Logger, type Peer, PeerListReporter, type PeersChanged, sleep } from "./contract.ts";
import { SourceStatus } from "./source-status.ts";

/** One successful read: the full list and what the plugin wants reported about how it got it. */
export interface PollResult {
  peers: Peer[];
  /** Plugin facts for /v1/cluster `discovery.lastResult.detail` (DNS: name, server, transport). */
  detail?: Record<string, unknown>;
}

/** Options of a {@link PollingDiscovery}. */
export interface PollingOptions {
  /** Plugin name reported by Discovery.name. */
  name: string;
  /** Milliseconds between polls. */
  intervalMs: number;
  /** Reads the full current list; throws when the source is unavailable. */
  poll(signal: AbortSignal): Promise<PollResult>;
  logger: Logger;
}

/** A Discovery that polls {@link PollingOptions.poll} every interval. */
export class PollingDiscovery implements Discovery {
  readonly name: string;
  private readonly reporter = new PeerListReporter();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly source: SourceStatus;

  constructor(private readonly options: PollingOptions) {
    this.name = options.name;
    this.source = new SourceStatus(options.name, options.logger);
  }

  /** Polls once (reporting the result, or an empty list if the source is down), then keeps polling in the background. */
  async start(onChange: PeersChanged): Promise<void> {
    if (this.abort) throw new Error(`discovery ${this.name}: already started`);
    this.abort = new AbortController();
    this.reporter.attach(onChange);
    await this.pollOnce(this.abort.signal);
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
    this.reporter.detach();
    this.abort?.abort();
    await this.loop;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.options.intervalMs, signal);
      if (!signal.aborted) await this.pollOnce(signal);
    }
  }

  private async pollOnce(signal: AbortSignal): Promise<void> {
    try {
      const { peers, detail } = await this.options.poll(signal);
      if (signal.aborted) return;
      this.source.answered(peers, detail);
      this.reporter.update(peers);
    } catch (err) {
      if (signal.aborted) return;
      this.source.failed(err);
    }
  }
}
