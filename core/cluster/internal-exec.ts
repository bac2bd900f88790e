/**
 * Runs a command a peer sent (`exec`) on this node, in an internal session:
 * authenticated, not counted as a client connection, marked with the hops
 * the command travelled so the router never forwards it more than a few
 * times. Resolves with the reply bytes, exactly as a client would get them.
 */
import type { CommandHost } from "../protocol/host.ts";
import { ClientSession } from "../protocol/session.ts";

/** Marks a session as serving a peer (the router's {@link ClusterRouter.markInternal}). */
export interface InternalMarker {
  markInternal(session: ClientSession, hops: number): void;
}

/**
 * Runs `argv` in an internal session of `node` as ACL user `user` (the
 * client's on the node it is connected to; `default` from peers that do not
 * send one) and resolves with its reply bytes; `owned`: SCAN/KEYS/DBSIZE see
 * owned keys only. A user this node does not know gets NOPERM: the ACL files
 * of the nodes differ. `self` names this node in that error.
 */
export function execInternal(
  node: CommandHost,
  router: InternalMarker,
  self: string,
  argv: Uint8Array[],
  proto: number,
  hops: number,
  owned = false,
  user = "default",
): Promise<Uint8Array> {
  const aclUser = node.acl.users.get(user);
  if (aclUser === undefined) {
    return Promise.resolve(new TextEncoder().encode(`-NOPERM user '${user.slice(0, 64).replace(/[^\x21-\x7e]/g, "?")}' does not exist on ${self} (give every node the same ACL file)\r\n`));
  }
  return new Promise((resolve) => {
    const session = new ClientSession(node, {
      write: (b) => {
        resolve(b.slice());
        session.onClose();
      },
      close: () => undefined,
      remote: "cluster-peer",
    });
    node.stats.connectionsTotal--; // internal, not a client connection
    session.authenticated = true; // the client logged in on the node it is connected to
    session.aclUser = aclUser;
    session.user = aclUser.name;
    session.reply.proto = proto;
    session.ownedOnly = owned;
    router.markInternal(session, hops);
    session.onData(encodeCommand(argv));
  });
}

const enc = new TextEncoder();

/** RESP multibulk encoding of a command. */
function encodeCommand(argv: Uint8Array[]): Uint8Array {
  let size = 0;
  const heads = argv.map((a) => enc.encode(`$${a.length}\r\n`));
  const top = enc.encode(`*${argv.length}\r\n`);
  size += top.length;
  for (let i = 0; i < argv.length; i++) size += heads[i]!.length + argv[i]!.length + 2;
  const out = new Uint8Array(size);
  let o = 0;
  out.set(top, o);
  o += top.length;
  for (let i = 0; i < argv.length; i++) {
    out.set(heads[i]!, o);
    o += heads[i]!.length;
    out.set(argv[i]!, o);
    o += argv[i]!.length;
    out[o++] = 13;
    out[o++] = 10;
  }
  return out;
}
