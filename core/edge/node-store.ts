/**
 * The edge map of a node: reads from the node's own copy, writes and deletes
 * through the node's command path (DM.PUT / DM.DEL, routed to the owner and
 * replicated like any client's), as an internal user that may do anything
 * (it is not in the ACL table, so nobody can log in as it).
 */
import type { CommandHost } from "../protocol/host.ts";
import { AclUser } from "../protocol/acl.ts";
import { ClientSession } from "../protocol/session.ts";
import type { EdgeStore } from "./store.ts";

/** Runs one command through the node's command path; resolves with the reply's text ("OK", "1") or rejects with the error reply. */
export type EdgeCommand = (argv: readonly (string | Uint8Array)[]) => Promise<string>;

/** The node's local copy of the edge map. */
export interface LocalMap {
  get(key: string): Uint8Array | null;
  scan(cursor: number, count: number): { cursor: number; keys: Uint8Array[] };
}

const dec = new TextDecoder();

/** The edge map over a node's map and command path. */
export class NodeEdgeStore implements EdgeStore {
  constructor(
    private readonly mapName: string,
    private readonly local: LocalMap,
    private readonly run: EdgeCommand,
  ) {}

  read(key: string): Uint8Array | null {
    return this.local.get(key);
  }

  async write(key: string, value: Uint8Array, expireAtMs: number): Promise<void> {
    await this.run(["DM.PUT", this.mapName, key, value, "PXAT", String(Math.max(1, Math.ceil(expireAtMs)))]);
  }

  async remove(keys: readonly string[]): Promise<number> {
    // one command per key: keys of different URLs live in different partitions (a multi-key DM.DEL would be CROSSSLOT)
    const counts = await Promise.all(keys.map((k) => this.run(["DM.DEL", this.mapName, k]).then(Number)));
    return counts.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  }

  scanLocal(cursor: number, count: number): { cursor: number; keys: string[] } {
    const page = this.local.scan(cursor, count);
    return { cursor: page.cursor, keys: page.keys.map((k) => dec.decode(k)) };
  }
}

/** The internal user edge writes run as: every command, key and channel. */
export function edgeSystemUser(): AclUser {
  const u = new AclUser("shoal-edge");
  for (const rule of ["on", "nopass", "~*", "&*", "+@all"]) u.apply(rule, () => true);
  return u;
}

const enc = new TextEncoder();

/**
 * An {@link EdgeCommand} over an internal client session of `node`: the
 * command takes the same path as a RESP client's (router included). One
 * session per command; it is not counted as a client connection.
 */
export function sessionCommand(node: CommandHost, user: AclUser = edgeSystemUser()): EdgeCommand {
  return (argv) =>
    new Promise((resolve, reject) => {
      const session = new ClientSession(node, {
        write: (b) => {
          session.onClose();
          const line = dec.decode(b.subarray(0, Math.min(b.length, 512)));
          if (line[0] === "-") reject(new Error(line.slice(1).split("\r\n")[0]));
          else resolve(line.slice(1).split("\r\n")[0] ?? "");
        },
        close: () => undefined,
        remote: "edge",
      });
      node.detach(session);
      node.stats.connectionsTotal--; // internal, not a client connection
      session.authenticated = true;
      session.aclUser = user;
      session.user = user.name;
      session.onData(encodeCommand(argv.map((a) => (typeof a === "string" ? enc.encode(a) : a))));
    });
}

function encodeCommand(argv: Uint8Array[]): Uint8Array {
  const heads = argv.map((a) => enc.encode(`$${a.length}\r\n`));
  const top = enc.encode(`*${argv.length}\r\n`);
  let size = top.length;
  for (let i = 0; i < argv.length; i++) size += heads[i]!.length + argv[i]!.length + 2;
  const out = new Uint8Array(size);
  out.set(top, 0);
  let o = top.length;
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
