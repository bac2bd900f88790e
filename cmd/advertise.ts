/**
 * Decides, before any listener opens, the address a clustered node tells
 * other hosts (see core/net-address.ts {@link chooseAdvertiseHost}): this is
 * where the host's interfaces are read (node:os networkInterfaces) and an
 * advertised host name is resolved to an address (node:dns lookup), so the
 * member name, CLUSTER NODES and MOVED carry an IP address clients can dial.
 */
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { chooseAdvertiseHost, type InterfaceAddress, isIP } from "../core/net-address.ts";

/** The host's interface addresses, flattened (node:os networkInterfaces). */
export function hostInterfaces(): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) out.push({ name, address: a.address, family: a.family === "IPv6" ? "IPv6" : "IPv4", internal: a.internal });
  }
  return out;
}

/** What {@link resolveAdvertise} needs from the runtime (injectable for tests). */
export interface AdvertiseRuntime {
  interfaces(): InterfaceAddress[];
  /** Resolves a host name to its addresses. */
  resolve(host: string): Promise<string[]>;
}

/** The real runtime: this host's interfaces and the system resolver. */
export const systemAdvertiseRuntime: AdvertiseRuntime = {
  interfaces: hostInterfaces,
  resolve: async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address),
};

/** The advertised host, or the reason there is none (a message naming --advertise; the caller exits 2). */
export type AdvertiseResult = { ok: true; host: string; note: string } | { ok: false; message: string };

/**
 * The address to advertise for `bind` / `advertise` (a host name given to
 * --advertise is resolved to its first address; an IPv4 one is preferred).
 */
export async function resolveAdvertise(bind: string, advertise: string | undefined, rt: AdvertiseRuntime = systemAdvertiseRuntime): Promise<AdvertiseResult> {
  let given = advertise?.trim();
  let note = "";
  if (given !== undefined && !isIP(given)) {
    let addrs: string[] = [];
    try {
      addrs = await rt.resolve(given);
    } catch (err) {
      return { ok: false, message: `--advertise ${given}: the name does not resolve (${(err as Error).message}); give an IP address, e.g. --advertise 10.0.0.5` };
    }
    const pick = addrs.find((a) => !a.includes(":")) ?? addrs[0];
    if (pick === undefined) return { ok: false, message: `--advertise ${given}: the name has no addresses; give an IP address, e.g. --advertise 10.0.0.5` };
    note = `${given} resolved to ${pick}`;
    given = pick;
  }
  const choice = chooseAdvertiseHost(bind, given, given === undefined ? rt.interfaces() : []);
  if (!choice.ok) return choice;
  if (choice.how === "only-address") note = `the only non-loopback address of this host (${choice.iface})`;
  if (choice.how === "bind") note = "the bind address";
  if (choice.how === "advertise" && note === "") note = "--advertise";
  return { ok: true, host: choice.host, note };
}
