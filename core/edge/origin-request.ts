/**
 * The request headers sent to an origin. A cache fill sends the client's
 * end-to-end fields minus its conditionals and Range (the cache wants the
 * whole, current representation), plus the stored validators when it
 * revalidates; a pass or forward sends the client's fields as they are. Both
 * add X-Forwarded-For/-Host/-Proto and Via, as nginx and Varnish do.
 */
import { endToEnd, type HeaderList } from "./headers.ts";

/** Client fields a cache fill must not forward: they would make the origin answer partially or conditionally. */
const CONDITIONAL = new Set(["if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range", "host"]);
const HOST_ONLY = new Set(["host"]);

/** Validators of a stored response to revalidate it with (RFC 9111 §4.3.1). */
export interface Validators {
  etag: string | null;
  lastModified: string | null;
}

/** Fields of a cache fill (or, with `validators`, a revalidation). */
export function fillHeaders(client: HeaderList, clientIp: string, validators: Validators | null): HeaderList {
  const out = withForwarding(endToEnd(client, CONDITIONAL), client, clientIp);
  if (validators?.etag) out.push(["if-none-match", validators.etag]);
  if (validators?.lastModified) out.push(["if-modified-since", validators.lastModified]);
  return out;
}

/** Fields of a request passed through (uncached GET/HEAD) or forwarded (other methods). */
export function passHeaders(client: HeaderList, clientIp: string): HeaderList {
  return withForwarding(endToEnd(client, HOST_ONLY), client, clientIp);
}

function withForwarding(out: HeaderList, client: HeaderList, clientIp: string): HeaderList {
  let xff: string | null = null;
  let via: string | null = null;
  let host: string | null = null;
  const rest: HeaderList = [];
  for (const [n, v] of out) {
    if (n === "x-forwarded-for") xff = xff === null ? v : `${xff}, ${v}`;
    else if (n === "via") via = via === null ? v : `${via}, ${v}`;
    else rest.push([n, v]);
  }
  for (const [n, v] of client) if (n === "host") host = v;
  rest.push(["x-forwarded-for", xff === null ? clientIp : `${xff}, ${clientIp}`]);
  rest.push(["via", via === null ? "1.1 shoal" : `${via}, 1.1 shoal`]);
  if (host !== null && !rest.some(([n]) => n === "x-forwarded-host")) rest.push(["x-forwarded-host", host]);
  if (!rest.some(([n]) => n === "x-forwarded-proto")) rest.push(["x-forwarded-proto", "http"]);
  return rest;
}
