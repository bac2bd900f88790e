/**
 * static discovery: a fixed list of "host:port" peers (`--peers a:3322,b:3322`
 * or SHOAL_PEERS). IP literals are reported as given; hostnames are
 * re-resolved every `resolveInterval` and every address they resolve to is a
 * peer. A hostname that fails to resolve keeps its last known addresses.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import { z } from "zod";
import {
  type Discovery,
  type DiscoveryPlugin,
  durationMs,
  errorText,
  joinHostPort,
  type Logger,
  type Peer,
  peerList,
  splitHostPort,
} from "./contract.ts";
import { PollingDiscovery } from "./polling.ts";

/** Config section of the static plugin. */
export const staticSchema = z.object({
  /** Peers as an array or comma-separated "host:port" string (empty: a single-node cluster). */
  peers: peerList.default([]),
  /** How often hostnames are re-resolved (ms or "30s"). */
  resolveInterval: durationMs.default(30_000),
});

/** Validated static config. */
export type StaticConfig = z.infer<typeof staticSchema>;

/** Resolves a hostname to all of its addresses (node:dns/promises lookup by default). */
export type HostResolver = (host: string) => Promise<string[]>;

const systemResolver: HostResolver = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Creates a static discovery; `resolve` is injectable for tests. */
export function createStaticDiscovery(config: StaticConfig, logger: Logger, resolve = systemResolver): Discovery {
  const targets = config.peers.map((p) => splitHostPort(p));
  const lastKnown = new Map<string, string[]>();
  return new PollingDiscovery({
    name: "static",
    intervalMs: config.resolveInterval,
    logger,
    async poll() {
      const peers: Peer[] = [];
      let resolved = 0;
      for (const { host, port } of targets) {
        if (isIP(host)) {
          peers.push({ address: joinHostPort(host, port) });
          resolved++;
          continue;
        }
        try {
          lastKnown.set(host, [...new Set(await resolve(host))].sort()); // sorted: round-robin DNS order is not a change
          resolved++;
        } catch (err) {
          logger.warn("discovery.static.resolve_failed", { host, error: errorText(err), keeping: lastKnown.get(host) ?? [] });
        }
        for (const a of lastKnown.get(host) ?? []) peers.push({ address: joinHostPort(a, port) });
      }
      if (resolved === 0 && targets.length > 0) throw new Error("no peer hostname could be resolved");
      return { peers };
    },
  });
}

/** The static plugin descriptor. */
export const staticPlugin: DiscoveryPlugin<StaticConfig> = {
  kind: "static",
  schema: staticSchema as z.ZodType<StaticConfig>,
  create: (config, logger) => createStaticDiscovery(config, logger),
};
