/**
 * Moves one DNS message to one server and back: over UDP (one datagram each
 * way, replies from the wrong id ignored) or over TCP (RFC 1035 4.2.2: each
 * message prefixed with its 2-byte length; RFC 7766), used when a UDP reply
 * comes back truncated (TC bit). Both are bounded by a timeout.
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { isIPv6 } from "../../core/net-address.ts";

/** A DNS server: IP literal and port. */
export interface NameServer {
  host: string;
  port: number;
}

/** "host:port" (bracketed for IPv6) for messages. */
export function serverText(s: NameServer): string {
  return isIPv6(s.host) ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/** Largest DNS message over TCP (the length prefix is 16 bits). */
const MAX_TCP_MESSAGE = 65_535;

/**
 * Sends `query` to `server` over UDP and resolves with the first datagram
 * that `accept` takes (the caller matches the message id).
 * @throws Error on timeout or socket error.
 */
export function exchangeUdp(server: NameServer, query: Uint8Array, timeoutMs: number, accept: (reply: Uint8Array) => boolean): Promise<Uint8Array> {
  const socket = createSocket(isIPv6(server.host) ? "udp6" : "udp4");
  return new Promise<Uint8Array>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no UDP answer from ${serverText(server)} within ${timeoutMs} ms`)), timeoutMs);
    let done = false;
    function finish(err: Error | undefined, reply?: Uint8Array): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    }
    socket.on("error", (err) => finish(new Error(`UDP to ${serverText(server)}: ${err.message}`)));
    socket.on("message", (msg) => {
      const reply = new Uint8Array(msg);
      if (accept(reply)) finish(undefined, reply);
    });
    socket.send(query, server.port, server.host, (err) => err && finish(new Error(`UDP to ${serverText(server)}: ${err.message}`)));
  });
}

/**
 * Sends `query` to `server` over TCP and resolves with the one reply message.
 * @throws Error on timeout, refused connection, a reply over 64 KiB or a connection closed early.
 */
export function exchangeTcp(server: NameServer, query: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no TCP answer from ${serverText(server)} within ${timeoutMs} ms`)), timeoutMs);
    function finish(err: Error | undefined, reply?: Uint8Array): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    }
    socket.on("connect", () => {
      const framed = new Uint8Array(2 + query.length);
      new DataView(framed.buffer).setUint16(0, query.length);
      framed.set(query, 2);
      socket.write(framed);
    });
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (received > 2 + MAX_TCP_MESSAGE) return finish(new Error(`TCP answer from ${serverText(server)} is larger than a DNS message can be`));
      if (received < 2) return;
      const all = Buffer.concat(chunks);
      const length = all.readUInt16BE(0);
      if (all.length >= 2 + length) finish(undefined, new Uint8Array(all.subarray(2, 2 + length)));
    });
    socket.on("error", (err) => finish(new Error(`TCP to ${serverText(server)}: ${err.message}`)));
    socket.on("close", () => finish(new Error(`TCP to ${serverText(server)}: connection closed before a full answer`)));
  });
}
