/**
 * Generated and mutated raw HTTP/1.x requests for the HTTP API fuzz test:
 * real routes with odd methods, percent-encoding, long and traversal paths;
 * duplicated, conflicting, oversized and injected headers; Content-Length
 * lies; chunked bodies with bad sizes and extensions; HTTP versions that do
 * not exist; and byte-level mutations (flip, cut, splice) of all of these.
 * Deterministic for a given Rng (the test prints the seed).
 */
import type { Rng } from "../../../core/clock.ts";

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;
const enc = new TextEncoder();

const METHODS = ["GET", "PUT", "DELETE", "POST", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "get", "PUT ", "G\u00c9T", "", "BREW", "GET\tX"];
/** Fuzz maps never touch the sentinel map the test checks. */
const MAPS = ["fz", "fz2", "a b", "%00", "%zz", "..", "%2e%2e", "m".repeat(300), "é", "fz%2Fx", "keys"];
const KEYS = ["k", "k/with/slash", "%", "%25", "..%2f..%2fetc", "x".repeat(70_000), "\u2603", "?q", "#frag", "k;p", "%C0%AF"];
const VERSIONS = ["HTTP/1.1", "HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/9.9", "HTTP/1", "HTTP", "", "http/1.1", "HTTP/1.1 extra"];
const AUTH = ["", "Bearer fuzzpass", "Bearer fuzzpass", "Bearer default:fuzzpass", "Bearer wrong", "Basic %%%", "Basic ZGVmYXVsdDpmdXp6cGFzcw==", "Bearer ", "Digest x"];

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function path(rng: Rng): string {
  const map = pick(rng, MAPS);
  const key = pick(rng, KEYS);
  switch (rng.int(14)) {
    case 0:
      return "/v1/maps";
    case 1:
      return `/v1/maps/${map}`;
    case 2:
      return `/v1/maps/${map}/keys?cursor=${pick(rng, ["0", "-1", "abc", "99999999999999999999"])}&count=${pick(rng, ["1", "0", "1000000", "x"])}&match=${pick(rng, ["*", "[", "\\"])}`;
    case 3:
      return `/v1/pubsub/${pick(rng, ["ch", "", "%ff", "x".repeat(2000)])}${rng.int(2) ? "" : "?pattern=1&encoding=base64&format=json"}`;
    case 4:
      return pick(rng, ["/metrics", "/v1/stats", "/v1/cluster", "/healthz", "/readyz"]);
    case 5:
      return `/${"a/".repeat(rng.int(2000))}`;
    case 6:
      return pick(rng, ["*", "http://evil.example/v1/stats", "//", "/%", "/v1/maps/../../etc/passwd", ""]);
    case 7:
      return `/v1/maps/${map}/keys/${key}?ttl=${pick(rng, ["1000", "-5", "1e400", "abc", ""])}&nx=${pick(rng, ["1", "yes", "??"])}`;
    default:
      return `/v1/maps/${map}/keys/${key}`;
  }
}

function headers(rng: Rng, bodyLen: number, chunked: boolean): string[] {
  const h: string[] = [`Host: ${pick(rng, ["127.0.0.1", "", "a".repeat(10_000), "x:y:z"])}`];
  const auth = pick(rng, AUTH);
  if (auth) h.push(`Authorization: ${auth}`);
  if (chunked) h.push(`Transfer-Encoding: ${pick(rng, ["chunked", "chunked", "gzip, chunked", "Chunked", "identity", "chunked, chunked"])}`);
  switch (rng.int(10)) {
    case 0:
      h.push(`Content-Length: ${pick(rng, ["-1", "abc", "99999999999999999999", String(bodyLen + 10), "0", `${bodyLen}, ${bodyLen + 1}`])}`);
      break;
    case 1:
      h.push(`Content-Length: ${bodyLen}`, `Content-Length: ${bodyLen + 3}`);
      break;
    case 2:
      h.push(`X-Big: ${"b".repeat(pick(rng, [1000, 20_000, 100_000]))}`);
      break;
    case 3:
      for (let i = 0; i < pick(rng, [50, 500, 2000]); i++) h.push(`X-H${i}: ${i}`);
      break;
    case 4:
      h.push("Bad Header Name: x", ": empty name", "NoColon", "X-Inject: a\r\nX-Evil: b");
      break;
    case 5:
      h.push(`If-None-Match: ${pick(rng, ["*", '"x"', "W/", '"'.repeat(100)])}`, `If-Match: ${pick(rng, ["*", "x"])}`, `Content-Type: ${pick(rng, ["", "a/b; c=d", "\u0000", "x".repeat(5000)])}`);
      break;
    case 6:
      h.push("Expect: 100-continue", "Connection: close");
      break;
    case 7:
      h.push(`X-Shoal-TTL: ${pick(rng, ["1", "-1", "1.5", "x"])}`, "Upgrade: websocket", "Connection: Upgrade");
      break;
    default:
      if (!chunked) h.push(`Content-Length: ${bodyLen}`);
  }
  return h;
}

function chunkedBody(rng: Rng, body: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (at < body.length) {
    const n = Math.min(body.length - at, 1 + rng.int(4096));
    const size = pick(rng, [n.toString(16), n.toString(16), `${n.toString(16)};ext=1`, (n + 5).toString(16), "zz", "-1", "fffffffffffffff"]);
    parts.push(enc.encode(`${size}\r\n`), body.subarray(at, at + n), enc.encode("\r\n"));
    at += n;
  }
  if (rng.int(4) > 0) parts.push(enc.encode(pick(rng, ["0\r\n\r\n", "0\r\nTrailer: x\r\n\r\n", "0\r\n"])));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte-level mutations of a well-formed request: flip, cut, duplicate, splice random bytes. */
function mutate(rng: Rng, b: Uint8Array): Uint8Array {
  const out = b.slice();
  switch (rng.int(4)) {
    case 0:
      for (let i = 0; i < 1 + rng.int(8); i++) if (out.length) out[rng.int(out.length)] = rng.int(256);
      return out;
    case 1:
      return out.subarray(0, rng.int(out.length + 1));
    case 2: {
      const at = rng.int(out.length + 1);
      return concat([out.subarray(0, at), randomBytes(rng, 1 + rng.int(64)), out.subarray(at)]);
    }
    default:
      return concat([out, out.subarray(0, rng.int(out.length + 1))]);
  }
}

/** One raw request (possibly malformed). */
export function httpRequest(rng: Rng): Uint8Array {
  const roll = rng.int(100);
  if (roll < 3) return randomBytes(rng, 1 + rng.int(512));
  const bodyLen = pick(rng, [0, 0, 1, 10, 100, 5000, 70_000]);
  const body = randomBytes(rng, bodyLen);
  const chunked = rng.int(6) === 0;
  const line = `${rng.int(4) === 0 ? pick(rng, METHODS) : pick(rng, ["GET", "PUT", "DELETE", "POST"])} ${path(rng)} ${rng.int(5) === 0 ? pick(rng, VERSIONS) : "HTTP/1.1"}`;
  const head = enc.encode(`${line}\r\n${headers(rng, bodyLen, chunked).join("\r\n")}\r\n\r\n`);
  const req = concat([head, chunked ? chunkedBody(rng, body) : body]);
  return roll < 25 ? mutate(rng, req) : req;
}

/** A well-formed request that must succeed (keeps the fuzz honest about reaching handlers). */
export function validRequest(rng: Rng): Uint8Array {
  const key = `k${rng.int(100)}`;
  const auth = "Authorization: Bearer fuzzpass\r\n";
  if (rng.int(2)) {
    const v = randomBytes(rng, rng.int(200));
    return concat([enc.encode(`PUT /v1/maps/fz/keys/${key} HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${v.length}\r\n\r\n`), v]);
  }
  return enc.encode(`GET /v1/maps/fz/keys/${key} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
}
