/**
 * dns discovery: `--discovery dns --dns-name _shoal._tcp.cache.example
 * [--dns-server 10.0.0.2:53] [--dns-interval 5s]`. SRV records give target +
 * port (ordered by priority, then weight descending); a name without SRV
 * records is looked up as A/AAAA and each address gets `port` (Kubernetes
 * headless services, Consul DNS); from-config.ts sets it to the node's own
 * `--peer-port` (default 3322). SRV targets are resolved to
 * addresses through the same server; one that does not resolve is reported
 * by hostname.
 */
import { isIP } from "node:net";
import { z } from "zod";
import {
  DEFAULT_PEER_PORT,
  type Discovery,
  type DiscoveryPlugin,
  durationMs,
  hostPort,
  joinHostPort,
  type Logger,
  type Peer,
  splitHostPort,
} from "./contract.ts";
import { type DnsResolver, SystemDnsResolver, UdpDnsResolver } from "./dns-client.ts";
import { PollingDiscovery } from "./polling.ts";

/** Config section of the dns plugin. */
export const dnsSchema = z.object({
  /** SRV name (`_shoal._tcp.cache.example`) or plain A/AAAA name (`shoal.ns.svc.cluster.local`). */
  name: z
    .string({ error: "name: give the DNS name to look up, e.g. _shoal._tcp.cache.example" })
    .regex(/^[A-Za-z0-9_.-]+\.?$/, { message: "expected a DNS name like _shoal._tcp.cache.example" }),
  /** Query this server ("host:port") instead of the system resolver. */
  server: hostPort.optional(),
  /** Poll interval (ms or "5s"). */
  interval: durationMs.default(5_000),
  /** Per-query timeout when `server` is set (ms or "1s"). */
  timeout: durationMs.default(1_000),
  /** Peer port used for A/AAAA answers. */
  port: z.number().int().min(1).max(65535).default(DEFAULT_PEER_PORT),
});

/** Validated dns config. */
export type DnsConfig = z.infer<typeof dnsSchema>;

/** Reads the peer list for `config` once through `resolver`. */
export async function lookupPeers(config: DnsConfig, resolver: DnsResolver): Promise<Peer[]> {
  const srv = await resolver.srv(config.name);
  if (srv.length === 0) {
    const addresses = (await resolver.addresses(config.name)).sort();
    return addresses.map((a) => ({ address: joinHostPort(a, config.port) }));
  }
  srv.sort((a, b) => a.priority - b.priority || b.weight - a.weight || a.target.localeCompare(b.target) || a.port - b.port);
  const peers: Peer[] = [];
  for (const r of srv) {
    const target = r.target.replace(/\.$/, "");
    const addresses = isIP(target) ? [target] : (await resolver.addresses(target)).sort();
    if (addresses.length === 0) peers.push({ address: joinHostPort(target, r.port), name: target });
    for (const a of addresses) peers.push({ address: joinHostPort(a, r.port), name: target });
  }
  return peers;
}

/** Creates a dns discovery; `resolver` is injectable (defaults from `config.server`). */
export function createDnsDiscovery(config: DnsConfig, logger: Logger, resolver?: DnsResolver): Discovery {
  const server = config.server ? splitHostPort(config.server, 53) : undefined;
  const r = resolver ?? (server ? new UdpDnsResolver(server.host, server.port, config.timeout) : new SystemDnsResolver());
  return new PollingDiscovery({ name: "dns", intervalMs: config.interval, logger, poll: () => lookupPeers(config, r) });
}

/** The dns plugin descriptor. */
export const dnsPlugin: DiscoveryPlugin<DnsConfig> = {
  kind: "dns",
  schema: dnsSchema as z.ZodType<DnsConfig>,
  create: (config, logger) => createDnsDiscovery(config, logger),
};
