/**
 * What `shoal cli`, `stats` and `bench` say when they cannot reach a node:
 * the address, the reason in words with the OS code, and what to do, in
 * one line, e.g.
 *
 *   could not connect to 127.0.0.1:3320: connection refused (ECONNREFUSED); is a node running there? Start one with 'shoal serve', or point at it with -h/--host and -p/--port
 */

const START = "Start one with 'shoal serve', or point at it with -h/--host and -p/--port";

/** The one-line message for a failed connection to host:port (`tls`: the client asked for TLS). */
export function connectFailure(address: string, err: unknown, tls: boolean): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  const raw = String(e?.message ?? err).split("\n")[0]!;
  const prefix = `could not connect to ${address}${tls ? " over TLS" : ""}`;
  switch (code) {
    case "ECONNREFUSED":
      return `${prefix}: connection refused (ECONNREFUSED); is a node running there? ${START}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `${prefix}: host not found (${code}); check -h/--host`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `${prefix}: no route to the host (${code}); check -h/--host and the network`;
    case "ECONNRESET":
      return `${prefix}: the server closed the connection (ECONNRESET)${tls ? "; is that port a TLS port (--tls-port)?" : "; is it a TLS-only port? then add --tls"}`;
    case "TIMEOUT":
      return `${prefix}: ${raw}; is a node running there and reachable? ${START}`;
    default:
      return `${prefix}: ${code !== "" && !raw.includes(code) ? `${raw} (${code})` : raw}${tls ? "; check --tls-port, --cacert (or --insecure)" : `; ${START}`}`;
  }
}
