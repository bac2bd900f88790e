/**
 * dns discovery: `--discovery dns --dns-name _shoal._tcp.cache.example
 * [--dns-server 10.0.0.2:53] [--dns-interval 5s]`. SRV records give target +
 * port (ordered by priority, then weight descending); a name without SRV
 * records is looked up as A/AAAA and each address gets `port` (Kubernetes
 * headless services, Consul DNS); from-config.ts sets it to the node's own
 * `--peer-port` (default 3322). SRV targets are resolved to
 * addresses through the same server — unless the server sent them in the
 * SRV answer's additional section; one that does not resolve is reported by
 * hostname. Without `--dns-server` the nameservers, search list and ndots
 * come from /etc/resolv.conf. Transport and resolver rules: dns-client.ts.
 */
import { isIP } from "node:net";
import { z } from "zod";
import {
  DEFAULT_PEER_PORT,
  type Discovery,
  type DiscoveryPlugin,
  durationMs,
  errorText,
  hostPort,
  joinHostPort,
  type Logger,
  type Peer,
  splitHostPort,
} from "./contract.ts";
import { type AddressLookup, DnsClient, DnsLookupError, type DnsResolver, type SrvLookup } from "./dns-client.ts";
import { serverText } from "./dns-transport.ts";
import { PollingDiscovery, type PollResult } from "./polling.ts";
import { readResolvConf } from "./resolv-conf.ts";

/** Config section of the dns plugin. */
export const dnsSchema = z.object({
  /** SRV name (`_shoal._tcp.cache.example`) or plain A/AAAA name (`shoal.ns.svc.cluster.local`). */
  name: z
    .string({ error: "name: give the DNS name to look up, e.g. _shoal._tcp.cache.example" })
    .regex(/^[A-Za-z0-9_.-]+\.?$/, { message: "expected a DNS name like _shoal._tcp.cache.example" }),
  /** Query this server ("host:port") instead of the nameservers in /etc/resolv.conf. */
  server: hostPort.optional(),
  /** Poll interval (ms or "5s"). */
  interval: durationMs.default(5_000),
  /** Per-message timeout (ms or "1s"); resolv.conf's `options timeout:n` wins when `server` is not set. */
  timeout: durationMs.default(1_000),
  /** Peer port used for A/AAAA answers. */
  port: z.number().int().min(1).max(65535).default(DEFAULT_PEER_PORT),
});

/** Validated dns config. */
export type DnsConfig = z.infer<typeof dnsSchema>;

/** Reads the peer list for `config` once through `resolver`, with what the lookup saw. */
export async function lookupPeers(config: DnsConfig, resolver: DnsResolver): Promise<PollResult> {
  let srv: SrvLookup | undefined;
  let srvError: unknown;
  try {
    srv = await resolver.srv(config.name);
  } catch (err) {
    srvError = err; // a server may refuse SRV for a name it serves A records for: try those before failing
  }
  if (srv === undefined || srv.records.length === 0) return addressPeers(config, resolver, srv, srvError);
  const records = [...srv.records].sort(
    (a, b) => a.priority - b.priority || b.weight - a.weight || a.target.localeCompare(b.target) || a.port - b.port,
  );
  const peers: Peer[] = [];
  const notes = [...srv.notes];
  let queries = srv.queries;
  let fromAdditional = 0;
  for (const r of records) {
    const target = r.target.replace(/\.$/, "");
    let addresses: string[] = [];
    if (isIP(target)) addresses = [target];
    else if (srv.additional.has(target.toLowerCase())) {
      addresses = srv.additional.get(target.toLowerCase())!; // the server sent them along: no extra query
      fromAdditional++;
    } else {
      try {
        const found = await resolver.addresses(target);
        queries += found.queries;
        notes.push(...found.notes);
        addresses = found.addresses;
      } catch (err) {
        queries += (err as DnsLookupError).queries ?? 0;
        notes.push(`${target}: ${errorText(err)}; reported by name`);
      }
    }
    if (addresses.length === 0) peers.push({ address: joinHostPort(target, r.port), name: target });
    for (const a of [...addresses].sort()) peers.push({ address: joinHostPort(a, r.port), name: target });
  }
  const detail = { name: srv.name, records: "SRV", targets: records.length, fromAdditional, server: srv.server, transport: srv.transport, queries, notes };
  return { peers, detail };
}

/** The A/AAAA form: every address of the name with the configured port. */
async function addressPeers(config: DnsConfig, resolver: DnsResolver, srv: SrvLookup | undefined, srvError: unknown): Promise<PollResult> {
  let found: AddressLookup;
  try {
    found = await resolver.addresses(config.name);
  } catch (err) {
    if (srvError === undefined) throw err;
    throw new DnsLookupError(`SRV ${errorText(srvError)}; ${errorText(err)}`, ((srvError as DnsLookupError).queries ?? 0) + ((err as DnsLookupError).queries ?? 0));
  }
  const notes = srvError === undefined ? found.notes : [`SRV lookup failed (${errorText(srvError)}); used A/AAAA`, ...found.notes];
  const queries = found.queries + (srv?.queries ?? (srvError as DnsLookupError).queries ?? 0);
  const peers = [...found.addresses].sort().map((a) => ({ address: joinHostPort(a, config.port) }));
  return { peers, detail: { name: found.name, records: "A/AAAA", server: found.server, transport: found.transport, queries, notes } };
}

/** Test seams of {@link createDnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /** Use this resolver instead of one built from `config.server` or resolv.conf. */
  resolver?: DnsResolver;
  /** resolv.conf to read when `config.server` is not set (default /etc/resolv.conf). */
  resolvConfPath?: string;
}

/**
 * Creates a dns discovery. With `config.server` it asks that server; without,
 * it reads resolv.conf before every lookup (nameservers, search, ndots,
 * timeout, attempts), so a changed file is followed like glibc does.
 */
export function createDnsDiscovery(config: DnsConfig, logger: Logger, options: DnsDiscoveryOptions = {}): Discovery {
  const server = config.server ? splitHostPort(config.server, 53) : undefined;
  const fixed = options.resolver ?? (server ? new DnsClient({ nameservers: [server], timeoutMs: config.timeout }) : undefined);
  let lastOrigin = "";
  const poll = async (): Promise<PollResult> => {
    if (fixed) return lookupPeers(config, fixed);
    const { settings, origin } = await readResolvConf(options.resolvConfPath);
    if (origin !== lastOrigin) {
      lastOrigin = origin;
      const servers = settings.nameservers.map(serverText);
      logger.info("discovery.dns.resolver", { from: origin, nameservers: servers, search: settings.search, ndots: settings.ndots, ignored: settings.ignored });
    }
    const client = new DnsClient({ ...settings, timeoutMs: settings.timeoutMs ?? config.timeout, attempts: settings.attempts });
    const result = await lookupPeers(config, client);
    return { ...result, detail: { ...result.detail, resolvConf: origin, search: settings.search, ndots: settings.ndots } };
  };
  return new PollingDiscovery({ name: "dns", intervalMs: config.interval, logger, poll });
}

/** The dns plugin descriptor. */
export const dnsPlugin: DiscoveryPlugin<DnsConfig> = {
  kind: "dns",
  schema: dnsSchema as z.ZodType<DnsConfig>,
  create: (config, logger) => createDnsDiscovery(config, logger),
};
