/**
 * Shared loop for plugins that poll their source (static, dns): fetch the
 * whole list every interval, report it when it changed, and on failure keep
 * the last known list and log a warning.
 */
import { type Discovery, errorText, type Logger, type Peer, PeerListReporter, type PeersChanged, sleep } from "./contract.ts";

/** Options of a {@link PollingDiscovery}. */
export interface PollingOptions {
  /** Plugin name reported by Discovery.name. */
  name: string;
  /** Milliseconds between polls. */
  intervalMs: number;
  /** Reads the full current list; throws when the source is unavailable. */
  poll(signal: AbortSignal): Promise<Peer[]>;
  logger: Logger;
}

/** A Discovery that polls {@link PollingOptions.poll} every interval. */
export class PollingDiscovery implements Discovery {
  readonly name: string;
  private readonly reporter = new PeerListReporter();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly options: PollingOptions) {
    this.name = options.name;
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
      const peers = await this.options.poll(signal);
      if (signal.aborted) return;
      if (this.failing) this.options.logger.info("discovery.recovered", { plugin: this.name });
      this.failing = false;
      this.reporter.update(peers);
    } catch (err) {
      if (signal.aborted) return;
      this.failing = true;
      this.options.logger.warn("discovery.source_unavailable", {
        plugin: this.name,
        error: errorText(err),
        keeping: this.reporter.current().length,
      });
    }
  }
}
