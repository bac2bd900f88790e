/**
 * The discovery plugin contract: how a plugin is described (kind + zod schema
 * for its config section + factory) and the shared pieces every plugin uses
 * (peer-list change detection, durations, host:port helpers, config errors).
 */
import { z } from "zod";
import type { Discovery, DiscoveryStatus, Logger, Peer, PeersChanged } from "../../core/discovery.ts";
import { joinHostPort as coreJoinHostPort, splitHostPort as coreSplitHostPort } from "../../core/net-address.ts";

export type { Discovery, DiscoveryStatus, Logger, Peer, PeersChanged };

/** Default peer transport port (DESIGN.md "Defaults"). */
export const DEFAULT_PEER_PORT = 3322;

/** A discovery plugin: a kind, the schema of its config section, and a factory. */
export interface DiscoveryPlugin<C = unknown> {
  /** Name used by `--discovery <kind>`. */
  readonly kind: string;
  /** Validates and defaults the plugin's config section. */
  readonly schema: z.ZodType<C>;
  /** Creates an unstarted instance from a validated config section. */
  create(config: C, logger: Logger): Discovery;
}

/** Thrown for an invalid config section, an unknown kind or a bad external plugin; the message says what to fix. */
export class DiscoveryConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DiscoveryConfigError";
  }
}

/** Parses `config` with the plugin's schema, turning zod issues into one readable {@link DiscoveryConfigError}. */
export function parsePluginConfig<C>(kind: string, schema: z.ZodType<C>, config: unknown): C {
  const result = schema.safeParse(config ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.length ? i.path.join(".") : "(section)"}: ${i.message}`);
  throw new DiscoveryConfigError(`discovery ${kind}: invalid config\n${lines.join("\n")}`, { cause: result.error });
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "250ms", "5s", "1.5m", "2h" (or a number of milliseconds); returns undefined when malformed. */
export function parseDurationMs(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = DURATION_RE.exec(value.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/** Zod schema for a duration given as milliseconds or a string like "5s"; yields milliseconds. */
export const durationMs = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `expected a duration like "500ms", "5s" or "1m", got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

/** Formats host and port as "host:port", bracketing IPv6 literals (core/net-address.ts). */
export const joinHostPort: (host: string, port: number) => string = coreJoinHostPort;

/** Splits "host:port" / "[v6]:port" / "host" / a bare IPv6 literal (port defaults). @throws DiscoveryConfigError on a bad port. */
export function splitHostPort(value: string, defaultPort = DEFAULT_PEER_PORT): { host: string; port: number } {
  try {
    return coreSplitHostPort(value, defaultPort);
  } catch (e) {
    throw new DiscoveryConfigError((e as Error).message);
  }
}

/** Zod schema for one "host:port" peer string. */
export const hostPort = z.string().refine(
  (v) => {
    try {
      splitHostPort(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected "host:port" (e.g. "10.0.0.5:3322" or "[::1]:3322")' },
);

/** Zod schema for a peer list given as an array or a comma-separated string. */
export const peerList = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (typeof v === "string" ? v.split(",") : v).map((s) => s.trim()).filter((s) => s.length > 0))
  .pipe(z.array(hostPort));

/**
 * Remembers the last reported peer list and calls onChange only when the
 * de-duplicated list differs. Order is kept (plugins order deterministically,
 * e.g. dns by SRV priority), so a reordering counts as a change.
 */
export class PeerListReporter {
  private last: Peer[] | undefined;
  private onChange: PeersChanged | undefined;

  /** Sets the callback that update() calls on a change. */
  attach(onChange: PeersChanged): void {
    this.onChange = onChange;
  }

  /** Stops reporting (after stop()). */
  detach(): void {
    this.onChange = undefined;
  }

  /** The last reported list (empty before the first report). */
  current(): Peer[] {
    return (this.last ?? []).map((p) => ({ ...p }));
  }

  /** Whether at least one list has been reported. */
  hasReported(): boolean {
    return this.last !== undefined;
  }

  /** Reports `peers` if it differs from the previous list; returns true when it did. */
  update(peers: Peer[]): boolean {
    const byAddress = new Map<string, Peer>();
    for (const p of peers) if (!byAddress.has(p.address)) byAddress.set(p.address, p);
    const next = [...byAddress.values()];
    if (this.last && samePeers(this.last, next)) return false;
    this.last = next;
    this.onChange?.(this.current());
    return true;
  }
}

/** True when both lists hold the same addresses and names in the same order. */
export function samePeers(a: Peer[], b: Peer[]): boolean {
  return a.length === b.length && a.every((p, i) => p.address === b[i]!.address && p.name === b[i]!.name);
}

/** Resolves after `ms` or as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Short description of an error for log fields. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
