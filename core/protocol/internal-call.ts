/**
 * Runs one command through this node's whole command path — ACL check as
 * the given user, the cluster router (forwarding to the key's owner,
 * replication) — in a scratch internal session, and resolves with the raw
 * RESP reply. What a connection uses when its own state needs another
 * node's answer (WATCH reads versions on the owner, EXEC runs there).
 */
import type { AclUser } from "./acl.ts";
import type { CommandHost } from "./host.ts";
import { ClientSession } from "./session.ts";

/** Runs `argv` as `user` (named `userName`) with RESP version `proto`; resolves with the reply bytes. */
export function internalCall(node: CommandHost, user: AclUser, userName: string, argv: readonly Uint8Array[], proto: number): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const s = new ClientSession(node, {
      write: (b) => {
        resolve(b.slice());
        s.onClose();
      },
      close: () => undefined,
      remote: "internal",
    });
    // internal: not a client connection (no CLIENT LIST entry, no max-clients slot)
    node.detach(s);
    node.stats.connectionsTotal--;
    s.gateway = true;
    s.authenticated = true;
    s.aclUser = user;
    s.user = userName;
    s.reply.proto = proto;
    s.runArgv(argv);
  });
}
