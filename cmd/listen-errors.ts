/**
 * Listen failures a user can act on: which listener (RESP, HTTP, peer, TLS,
 * HTTPS), the address and port, the operating system's reason
 * (EADDRINUSE, EACCES, EADDRNOTAVAIL, …) and the setting that changes it, in
 * one line:
 *
 *   RESP listener: cannot listen on 127.0.0.1:3320: address already in use (EADDRINUSE); stop the process that holds it or pick another port with --port
 */
import type { Transport } from "../core/transport.ts";

/** The node's listeners, as named in listen errors. */
export type ListenerName = "RESP" | "HTTP" | "peer" | "TLS" | "HTTPS" | "edge";

/** A listener could not be opened; `message` is the one line to show. */
export class ListenError extends Error {
  constructor(
    message: string,
    readonly listener: ListenerName,
    readonly address: string,
    /** The OS error code (EADDRINUSE, …) or "" when the runtime gave none. */
    readonly code: string,
    /** The flag that sets this listener's port. */
    readonly setting: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ListenError";
  }
}

/** "host:port", with brackets around an IPv6 host. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** What to do about an OS error code; `setting` is the port flag. */
function advice(code: string, host: string, setting: string): string {
  switch (code) {
    case "EADDRINUSE":
      return `address already in use (EADDRINUSE); stop the process that holds it or pick another port with ${setting}`;
    case "EACCES":
      return `permission denied (EACCES); ports below 1024 need root or CAP_NET_BIND_SERVICE: pick a port from 1024 up with ${setting}`;
    case "EADDRNOTAVAIL":
      return `address not available (EADDRNOTAVAIL); ${host} is not an address of this host: give one of its addresses, or 0.0.0.0 for all, with --bind`;
    default:
      return "";
  }
}

/** Turns whatever a listen call threw into a {@link ListenError} naming the listener, address, reason and setting. */
export function listenError(listener: ListenerName, host: string, port: number, setting: string, err: unknown): ListenError {
  if (err instanceof ListenError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" && /^E[A-Z]+$/.test(e.code) ? e.code : "";
  const address = hostPort(host, port);
  const known = advice(code, host, setting);
  const raw = String(e?.message ?? err).split("\n")[0]!;
  const reason = known !== "" ? known : `${code !== "" ? `${code}: ` : ""}${raw}; check --bind and ${setting}`;
  return new ListenError(`${listener} listener: cannot listen on ${address}: ${reason}`, listener, address, code, setting, { cause: err });
}

/** Runs a listen call, rethrowing its failure as a {@link ListenError}. */
export function listening<T>(listener: ListenerName, host: string, port: number, setting: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    throw listenError(listener, host, port, setting, err);
  }
}

/** `transport` whose listen failures are {@link ListenError}s of the peer listener (`--peer-port`). */
export function peerListenErrors(transport: Transport, host: string, port: number): Transport {
  return {
    name: transport.name,
    async listen(address, handler) {
      try {
        return await transport.listen(address, handler);
      } catch (err) {
        throw listenError("peer", host, port, "--peer-port", err);
      }
    },
    connect: (address, localAddress) => transport.connect(address, localAddress),
  };
}
