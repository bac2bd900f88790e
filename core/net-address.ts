/**
 * Network addresses in one place: the `host:port` / `[v6]:port` text form
 * every shoal address uses (member names, peers lists, discovery results,
 * log lines), the kinds of host that must never be advertised to other hosts
 * (wildcards, loopback, link-local), and the choice of the address a node
 * advertises ({@link chooseAdvertiseHost}). Runtime-neutral: the host's
 * interface addresses are handed in by cmd/.
 */

/** A `host:port` text that does not parse. */
export class AddressError extends Error {
  override readonly name = "AddressError";
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Strips the brackets of `[v6]` (and nothing else). */
export function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** Whether `host` is an IPv4 literal (dotted quad). */
export function isIPv4(host: string): boolean {
  return IPV4.test(host);
}

/** Whether `host` (brackets allowed, zone `%eth0` allowed) is an IPv6 literal. */
export function isIPv6(host: string): boolean {
  const h = unbracket(host).replace(/%[\w.-]+$/, "");
  if (!h.includes(":") || !/^[0-9a-fA-F:.]+$/.test(h)) return false;
  const dots = h.lastIndexOf(":");
  const tail = h.slice(dots + 1);
  if (tail.includes(".") && !isIPv4(tail)) return false;
  const groups = h.split("::");
  if (groups.length > 2) return false;
  const count = (part: string) => (part === "" ? 0 : part.split(":").reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0));
  const parts = groups.flatMap((g) => (g === "" ? [] : g.split(":")));
  if (parts.some((g) => !g.includes(".") && (g.length === 0 || g.length > 4))) return false;
  const n = groups.reduce((sum, g) => sum + count(g), 0);
  return groups.length === 2 ? n < 8 : n === 8;
}

/** Whether `host` is an IP literal of either family. */
export function isIP(host: string): boolean {
  return isIPv4(host) || isIPv6(host);
}

/** `host:port`, with IPv6 literals in brackets (`[fd00::5]:3322`). */
export function joinHostPort(host: string, port: number): string {
  const h = unbracket(host);
  return h.includes(":") ? `[${h}]:${port}` : `${h}:${port}`;
}

/**
 * Splits `host:port` or `[v6]:port`; a bare host (or bare IPv6 literal) gets
 * `defaultPort` when one is given. `minPort` 0 accepts port 0 (listen on any free port).
 * @throws AddressError naming the text when there is no valid port (minPort–65535) or no host.
 */
export function splitHostPort(text: string, defaultPort?: number, minPort = 1): { host: string; port: number } {
  const v = text.trim();
  let host = v;
  let portText: string | undefined;
  if (v.startsWith("[")) {
    const end = v.indexOf("]");
    if (end < 0) throw new AddressError(`expected "[v6 address]:port" (e.g. "[fd00::5]:3322"), got ${JSON.stringify(text)}: no closing bracket`);
    host = v.slice(1, end);
    const rest = v.slice(end + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) throw new AddressError(`expected "[v6 address]:port" (e.g. "[fd00::5]:3322"), got ${JSON.stringify(text)}`);
      portText = rest.slice(1);
    }
  } else {
    const colons = v.split(":").length - 1;
    if (colons === 1) [host, portText] = v.split(":") as [string, string];
    // two or more colons without brackets: a bare IPv6 literal, no port
  }
  const port = portText === undefined ? defaultPort : /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (port === undefined) throw new AddressError(`expected "host:port" (e.g. "10.0.0.5:3322" or "[fd00::5]:3322"), got ${JSON.stringify(text)}`);
  if (!host || !Number.isInteger(port) || port < minPort || port > 65535) {
    throw new AddressError(`expected "host:port" with a port in ${minPort}-65535 (e.g. "10.0.0.5:3322" or "[fd00::5]:3322"), got ${JSON.stringify(text)}`);
  }
  return { host, port };
}

/** Whether `host` means "every address" (0.0.0.0, ::, [::], or empty): fine to bind, never to advertise. */
export function isWildcardHost(host: string): boolean {
  const h = unbracket(host.trim());
  return h === "" || h === "0.0.0.0" || /^(0{0,4}:){2,7}0{0,4}$/.test(h) || h === "::";
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x, localhost): only this machine reaches it. */
export function isLoopbackHost(host: string): boolean {
  const h = unbracket(host.trim().toLowerCase());
  return h === "localhost" || h === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(h) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/** Whether `host` is link-local (169.254.0.0/16, fe80::/10): not routable, so not worth advertising. */
export function isLinkLocalHost(host: string): boolean {
  const h = unbracket(host.trim().toLowerCase());
  return /^169\.254\./.test(h) || /^fe[89ab][0-9a-f]:/.test(h);
}

/** One address of a network interface (the shape of node:os networkInterfaces() entries, plus the interface name). */
export interface InterfaceAddress {
  /** Interface name, e.g. "eth0". */
  name: string;
  address: string;
  family: "IPv4" | "IPv6";
  /** Loopback interface. */
  internal: boolean;
}

/** The outcome of {@link chooseAdvertiseHost}. */
export type AdvertiseChoice =
  | { ok: true; host: string; how: "advertise" | "bind" | "only-address"; iface?: string }
  | { ok: false; message: string };

/** The addresses a node bound to the wildcard `bind` could be reached at: not loopback, not link-local, of the bind's family (`::` takes both). */
export function advertisableAddresses(bind: string, interfaces: readonly InterfaceAddress[]): InterfaceAddress[] {
  const v4only = unbracket(bind.trim()) === "0.0.0.0" || bind.trim() === "";
  return interfaces.filter((a) => !a.internal && !isLoopbackHost(a.address) && !isLinkLocalHost(a.address) && (!v4only || a.family === "IPv4"));
}

/**
 * The host this node names itself by to other nodes and to clients (member
 * name, CLUSTER NODES/SLOTS/SHARDS, MOVED, `hello`, /v1/cluster):
 * - `advertise` when given (it must not be a wildcard; loopback only when `bind` is loopback too);
 * - else `bind` when it is a specific address (a loopback bind keeps a one-machine cluster working);
 * - else, for a wildcard bind, the host's one non-loopback, non-link-local address (as memberlist
 *   does); with none or several, a message that names --advertise and lists what was found.
 */
export function chooseAdvertiseHost(bind: string, advertise: string | undefined, interfaces: readonly InterfaceAddress[]): AdvertiseChoice {
  if (advertise !== undefined) {
    const a = unbracket(advertise.trim());
    if (isWildcardHost(a)) {
      return { ok: false, message: `--advertise ${advertise} is a wildcard address: give the address other hosts reach this node at (e.g. --advertise 10.0.0.5)` };
    }
    if (isLoopbackHost(a) && !isLoopbackHost(bind)) {
      return {
        ok: false,
        message: `--advertise ${advertise} is a loopback address, which other hosts cannot reach, while --bind ${bind} accepts them: advertise this host's network address (e.g. --advertise 10.0.0.5), or --bind 127.0.0.1 for a one-machine cluster`,
      };
    }
    return { ok: true, host: a, how: "advertise" };
  }
  if (!isWildcardHost(bind)) return { ok: true, host: unbracket(bind.trim()), how: "bind" };
  const found = advertisableAddresses(bind, interfaces);
  const family = unbracket(bind.trim()) === "0.0.0.0" ? "IPv4 " : "";
  if (found.length === 1) return { ok: true, host: found[0]!.address, how: "only-address", iface: found[0]!.name };
  if (found.length === 0) {
    return {
      ok: false,
      message: `--bind ${bind} listens on every address, but this host has no non-loopback ${family}address to tell other nodes: give --advertise <address> (the address other hosts reach this node at)`,
    };
  }
  const list = found.map((a) => `${a.address} (${a.name})`).join(", ");
  return {
    ok: false,
    message: `--bind ${bind} listens on every address and this host has several ${family}addresses: ${list}; give --advertise <address> with the one other nodes and clients reach this node at (or SHOAL_ADVERTISE, or advertise: in shoal.yaml)`,
  };
}
