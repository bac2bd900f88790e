/**
 * Maps shoal's flat discovery settings (core/config.ts: `--discovery`,
 * `--dns-name`, `--consul-addr`, `--k8s-service`, … and their SHOAL_* / YAML
 * forms) onto a plugin's config section and creates the plugin.
 * `discoveryOptions` (YAML only) is merged over the section, so any plugin
 * option without a flag (consul `wait`, kubernetes `kubeconfig`, …) can be set.
 */
import { type Discovery, DiscoveryConfigError, type Logger } from "./contract.ts";
import { createDiscovery, loadExternalPlugin } from "./registry.ts";

/** The discovery-related fields of the shoal config (structural, so this file does not depend on core/config.ts). */
export interface DiscoverySettings {
  discovery: string;
  peers?: string[];
  dnsName?: string;
  dnsServer?: string;
  dnsIntervalMs?: number;
  consulAddr?: string;
  consulService?: string;
  consulToken?: string;
  consulRegister?: boolean;
  k8sNamespace?: string;
  k8sSelector?: string;
  k8sService?: string;
  discoveryPlugin?: string;
  discoveryOptions?: Record<string, unknown>;
}

/** This node's advertised peer address, used for Consul self-registration. */
export interface SelfAddress {
  host: string;
  port: number;
  /** Node name, used as the Consul service ID when given. */
  name?: string;
}

const defined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The plugin config section implied by the flat settings (before validation). */
export function sectionFor(s: DiscoverySettings, self?: SelfAddress): Record<string, unknown> {
  const extra = s.discoveryOptions ?? {};
  switch (s.discovery) {
    case "static":
      return { ...defined({ peers: s.peers }), ...extra };
    case "dns":
      // A/AAAA answers carry no port: peers are assumed to use this node's peer port
      return { ...defined({ name: s.dnsName, server: s.dnsServer, interval: s.dnsIntervalMs, port: self?.port }), ...extra };
    case "consul":
      return {
        ...defined({
          addr: s.consulAddr,
          service: s.consulService,
          token: s.consulToken,
          register: s.consulRegister,
          registration: s.consulRegister && self ? defined({ address: self.host, port: self.port, id: self.name }) : undefined,
        }),
        ...extra,
      };
    case "kubernetes":
      return { ...defined({ namespace: s.k8sNamespace, selector: s.k8sSelector, service: s.k8sService }), ...extra };
    default:
      return { ...extra };
  }
}

/**
 * Creates the configured discovery. `discovery: plugin` — or `discoveryPlugin` set while
 * `discovery` is left at its default `static` — loads the external module with
 * `discoveryOptions` as its config section.
 * @throws DiscoveryConfigError naming the bad setting.
 */
export async function discoveryFromConfig(s: DiscoverySettings, logger: Logger, self?: SelfAddress): Promise<Discovery> {
  if (s.discovery === "plugin" || (s.discoveryPlugin && s.discovery === "static")) {
    if (!s.discoveryPlugin) throw new DiscoveryConfigError("discovery plugin: set --discovery-plugin ./my-plugin.ts");
    const plugin = await loadExternalPlugin(s.discoveryPlugin);
    return plugin.create(s.discoveryOptions ?? {}, logger); // the loader's create() validates with the module's schema
  }
  return createDiscovery(s.discovery, sectionFor(s, self), logger);
}
