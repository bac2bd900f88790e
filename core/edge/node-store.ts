/**
 * The edge map of a node: reads from the node's own copy, writes and deletes
 * through the node's command path (DM.PUT / DM.DEL, routed to the owner and
 * replicated like any client's), as an internal user that may do anything
 * (it is not in the ACL table, so nobody can log in as it).
 */
import type { CommandGateway } from "../gateway/gateway.ts";
import { AclUser } from "../protocol/acl.ts";
import type { EdgeStore } from "./store.ts";

/** Runs one command through the node's command path; resolves with the reply's text ("OK", "1") or rejects with the error reply. */
export type EdgeCommand = (argv: readonly (string | Uint8Array)[]) => Promise<string>;

/** The node's local copy of the edge map (a {@link MapStore}). */
export interface LocalMap {
  get(key: string): Uint8Array | null;
  scan(cursor: number, count: number): { cursor: number; keys: Uint8Array[] };
  /** The live entry's index for key bytes, -1 when missing; `count`: whether it counts as a keyspace hit/miss. */
  lookup(buf: Uint8Array, off: number, len: number, count?: boolean): number;
  readonly table: { readonly version: Float64Array; readonly ref: Float64Array; readonly valLen: Uint32Array };
}

const dec = new TextDecoder();
const enc = new TextEncoder();

/** The edge map over a node's map and command path. */
export class NodeEdgeStore implements EdgeStore {
  constructor(
    private readonly mapName: string,
    private readonly local: LocalMap,
    private readonly run: EdgeCommand,
  ) {}

  private scratch = new Uint8Array(1024);

  read(key: string): Uint8Array | null {
    return this.local.get(key);
  }

  stamp(key: string): string | null {
    // worst case 3 UTF-8 bytes per UTF-16 unit
    if (this.scratch.length < key.length * 3) this.scratch = new Uint8Array(key.length * 3);
    const { written } = enc.encodeInto(key, this.scratch);
    const idx = this.local.lookup(this.scratch, 0, written, false);
    if (idx < 0) return null;
    const t = this.local.table;
    // the version changes with every write (the cluster's HLC); the arena slot and length guard a rewrite in the same millisecond
    return `${t.version[idx]}/${t.ref[idx]}/${t.valLen[idx]}`;
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

/**
 * An {@link EdgeCommand} over the node's {@link CommandGateway}: the command
 * takes a client's path (router, replication, quorums) as `user`. Only the
 * owner of a URL writes its objects, so the router runs them here; were the
 * table to move under a write, the new owner would refuse the internal user
 * (it is in no ACL table) and the object is just not stored.
 */
export function gatewayCommand(gateway: CommandGateway, user: AclUser = edgeSystemUser()): EdgeCommand {
  return async (argv) => {
    const r = await gateway.run(user, argv);
    if (r.kind === "error") throw new Error(`${r.code} ${r.message}`.trim());
    return r.kind === "int" ? String(r.value) : r.kind === "simple" ? r.text : "";
  };
}
