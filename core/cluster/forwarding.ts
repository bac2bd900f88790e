/**
 * The forwarding side of the router: a client command for a partition
 * another member owns is sent to that owner (`exec`) and its reply bytes
 * are copied back byte for byte; a transport failure or a refusal becomes
 * `-CLUSTERDOWN`. A command forwarded here by a peer carries the hops it
 * travelled, so tables that disagree cannot bounce it forever.
 */
import type { Args } from "../protocol/args.ts";
import type { Routed } from "../protocol/host.ts";
import type { ClientSession } from "../protocol/session.ts";
import type { PeerRequest, PeerResponse } from "./peer-protocol.ts";
import type { RouterStats } from "./router-stats.ts";

/** What forwarding needs from the cluster layer. */
export interface ForwardingContext {
  self: string;
  request(peer: string, msg: PeerRequest): Promise<PeerResponse>;
  /** Runs a command in an internal session of this node as ACL user `user`; `owned`: SCAN/KEYS/DBSIZE see owned keys only. */
  execLocal?(argv: Uint8Array[], proto: number, owned: boolean, user: string): Promise<Uint8Array>;
  stats: RouterStats;
}

/** Sends commands to the members that run them. */
export class Forwarder {
  constructor(private readonly c: ForwardingContext) {}

  /** Forwards the command to `owner` (hop `hops`) to run as the session's ACL user; the reply is the owner's, or -CLUSTERDOWN. */
  forward(session: ClientSession, owner: string, args: Args, hops: number): Routed {
    const argv = copyArgs(args);
    this.c.stats.forwarded++;
    const reply = this.c.request(owner, { t: "exec", args: argv, proto: session.reply.proto, hops, user: session.user }).then(
      (res) => {
        if (res.t === "reply") return res.resp;
        return errorBytes(`CLUSTERDOWN owner ${owner}: ${res.t === "error" ? res.message : "unexpected answer"}`);
      },
      (e: unknown) => {
        this.c.stats.forwardFailures++;
        return errorBytes(`CLUSTERDOWN owner ${owner} unreachable: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
    return { kind: "forwarded", reply };
  }

  /**
   * Runs `argv` on `member` (here, in an internal session, when it is this
   * node) as ACL user `user` (the client's, so its key patterns and command
   * rules hold there); rejects when the member cannot be reached.
   */
  execOn(member: string, argv: Uint8Array[], proto: number, owned: boolean, user: string): Promise<Uint8Array> {
    if (member === this.c.self && this.c.execLocal) return this.c.execLocal(argv, proto, owned, user);
    return this.c.request(member, { t: "exec", args: argv, proto, hops: 1, owned, user }).then((res) => {
      if (res.t === "reply") return res.resp;
      throw new Error(res.t === "error" ? res.message : "unexpected answer");
    });
  }
}

const encoder = new TextEncoder();

/** An error reply line. */
export function errorBytes(message: string): Uint8Array {
  return encoder.encode(`-${message.replace(/[\r\n]+/g, " ")}\r\n`);
}

/** The arguments as owned byte arrays (the read buffer they point into may be reused). */
export function copyArgs(args: Args): Uint8Array[] {
  const argv: Uint8Array[] = [];
  for (let i = 0; i < args.n; i++) argv.push(args.bytes(i).slice());
  return argv;
}

/** Bytes as a latin1 string (one char per byte). */
export function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}
