/**
 * What a plugin's source last said, kept in one place for every plugin:
 * each answer (the full list, when, plugin facts) and each failure. It also
 * writes the two log lines every plugin shares: `discovery.source_unavailable`
 * (with the list kept and when it was seen) and `discovery.recovered`.
 */
import type { DiscoveryStatus, Logger, Peer } from "../../core/discovery.ts";

/** Answers and failures of one plugin's source. */
export class SourceStatus {
  private lastResult: DiscoveryStatus["lastResult"] = null;
  private lastError: DiscoveryStatus["lastError"] = null;
  private failures = 0;

  constructor(
    private readonly plugin: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The source answered with `peers` (the full list); logs `discovery.recovered` after failures. */
  answered(peers: Peer[], detail?: Record<string, unknown>): void {
    if (this.failures > 0) this.logger.info("discovery.recovered", { plugin: this.plugin, failures: this.failures, peers: peers.length });
    this.failures = 0;
    this.lastError = null;
    this.lastResult = { peers: peers.map((p) => p.address), at: this.now(), ...(detail ? { detail } : {}) };
  }

  /** The source could not be read; logs `discovery.source_unavailable` with the list kept and when it was seen. */
  failed(err: unknown, fields: Record<string, unknown> = {}): void {
    const message = err instanceof Error ? err.message : String(err);
    this.failures++;
    this.lastError = { message, at: this.now() };
    this.logger.warn("discovery.source_unavailable", {
      plugin: this.plugin,
      ...fields,
      error: message,
      keeping: this.lastResult?.peers.length ?? 0,
      lastResultAt: this.lastResult ? new Date(this.lastResult.at).toISOString() : null,
    });
  }

  /** A copy of the current status. */
  status(): DiscoveryStatus {
    return structuredClone({ plugin: this.plugin, lastResult: this.lastResult, lastError: this.lastError, failuresSinceResult: this.failures });
  }
}
