/**
 * The embedded API's map in a cluster: every call is a DM.* command run
 * through the {@link CommandGateway} as the member's ACL user, so it is
 * routed to the key's owner, replicated with the write quorum and
 * HLC-stamped exactly like a RESP client's command. Error replies reject
 * with a {@link ShoalError} carrying their code.
 */
import type { AsyncDMap, Bytes, LoadOptions, LockGrant, PutOptions, ScanPage } from "../api.ts";
import type { Clock } from "../clock.ts";
import { ShoalError } from "../errors.ts";
import type { CommandGateway } from "../gateway/gateway.ts";
import type { RespValue } from "../gateway/resp-value.ts";
import type { AclUser } from "../protocol/acl.ts";
import { type Loader, ReadThrough } from "../read-through.ts";

const dec = new TextDecoder();

/** Rejects an error reply; otherwise the value. */
function ok(v: RespValue): Exclude<RespValue, { kind: "error" }> {
  if (v.kind === "error") throw new ShoalError(v.code, v.message);
  return v;
}

function unexpected(command: string, v: RespValue): ShoalError {
  return new ShoalError("ERR", `${command} answered an unexpected ${v.kind} reply`);
}

/** A named map of a clustered embedded member (see the module doc). */
export class ClusterMap implements AsyncDMap {
  /** getOrLoad: per member and, through the key's lock on its owner, cluster-wide (core/read-through.ts). */
  readonly loads: ReadThrough;

  constructor(
    readonly name: string,
    private readonly gateway: CommandGateway,
    private readonly user: () => AclUser,
    private readonly clock: Clock,
  ) {
    this.loads = new ReadThrough(this, clock);
  }

  private run(argv: (Bytes | string)[]): Promise<RespValue> {
    return this.gateway.run(this.user(), argv);
  }

  /** A command answered with an integer. */
  private async int(command: string, argv: (Bytes | string)[]): Promise<number> {
    const v = ok(await this.run(argv));
    if (v.kind !== "int") throw unexpected(command, v);
    return v.value;
  }

  /** A command answered OK, or `missing` (e.g. KEYNOTFOUND) → false. */
  private async okOr(argv: (Bytes | string)[], missing: string): Promise<boolean> {
    const v = await this.run(argv);
    if (v.kind === "error" && v.code === missing) return false;
    ok(v);
    return true;
  }

  async get(key: Bytes): Promise<Uint8Array | null> {
    const v = await this.run(["DM.GET", this.name, key]);
    if (v.kind === "error" && v.code === "KEYNOTFOUND") return null;
    const r = ok(v);
    if (r.kind !== "bulk") throw unexpected("DM.GET", r);
    return r.value;
  }

  async put(key: Bytes, value: Bytes, opts: PutOptions = {}): Promise<boolean> {
    const argv: (Bytes | string)[] = ["DM.PUT", this.name, key, value];
    if (opts.ttlMs !== undefined) argv.push("PX", String(Math.max(1, Math.round(opts.ttlMs))));
    else if (opts.expireAtMs !== undefined) argv.push("PXAT", String(Math.max(1, Math.round(opts.expireAtMs))));
    else if (opts.keepTtl) argv.push("KEEPTTL");
    if (opts.nx) argv.push("NX");
    else if (opts.xx) argv.push("XX");
    const v = await this.run(argv);
    if (v.kind === "error" && ((opts.nx && v.code === "KEYFOUND") || (opts.xx && v.code === "KEYNOTFOUND"))) return false;
    ok(v);
    return true;
  }

  async getPut(key: Bytes, value: Bytes): Promise<Uint8Array | null> {
    const v = ok(await this.run(["DM.GETPUT", this.name, key, value]));
    if (v.kind === "nil") return null;
    if (v.kind !== "bulk") throw unexpected("DM.GETPUT", v);
    return v.value;
  }

  async delete(key: Bytes): Promise<boolean> {
    return (await this.int("DM.DEL", ["DM.DEL", this.name, key])) > 0;
  }

  ttl(key: Bytes): Promise<number> {
    return this.int("DM.PTTL", ["DM.PTTL", this.name, key]);
  }

  expire(key: Bytes, ttlMs: number): Promise<boolean> {
    if (ttlMs <= 0) return this.delete(key);
    return this.okOr(["DM.PEXPIRE", this.name, key, String(Math.max(1, Math.round(ttlMs)))], "KEYNOTFOUND");
  }

  expireAt(key: Bytes, atMs: number): Promise<boolean> {
    if (atMs <= this.clock.now()) return this.delete(key);
    return this.okOr(["DM.PEXPIREAT", this.name, key, String(Math.round(atMs))], "KEYNOTFOUND");
  }

  async persist(key: Bytes): Promise<boolean> {
    return (await this.int("DM.PERSIST", ["DM.PERSIST", this.name, key])) === 1;
  }

  async incrBy(key: Bytes, by: number | bigint): Promise<bigint> {
    const v = ok(await this.run(["DM.INCR", this.name, key, String(by)]));
    if (v.kind !== "int") throw unexpected("DM.INCR", v);
    return v.big ?? BigInt(v.value);
  }

  async incrByFloat(key: Bytes, by: number): Promise<string> {
    const v = ok(await this.run(["DM.INCRBYFLOAT", this.name, key, String(by)]));
    if (v.kind !== "bulk") throw unexpected("DM.INCRBYFLOAT", v);
    return dec.decode(v.value);
  }

  async scan(cursor: number, count: number, match?: string): Promise<ScanPage> {
    const argv = ["DM.SCANALL", this.name, String(cursor), "COUNT", String(count)];
    if (match !== undefined) argv.push("MATCH", match);
    const v = ok(await this.run(argv));
    const [next, list] = v.kind === "array" ? v.items : [];
    if (next?.kind !== "bulk" || list?.kind !== "array") throw unexpected("DM.SCANALL", v);
    return { cursor: Number(dec.decode(next.value)), keys: list.items.flatMap((k) => (k.kind === "bulk" ? [k.value] : [])) };
  }

  async size(): Promise<number> {
    const v = ok(await this.run(["DM.MAPS"]));
    if (v.kind !== "array") throw unexpected("DM.MAPS", v);
    let n = 0;
    for (let i = 0; i + 1 < v.items.length; i += 2) {
      const name = v.items[i]!;
      const size = v.items[i + 1]!;
      if (name.kind === "bulk" && size.kind === "int" && dec.decode(name.value) === this.name) n += size.value;
    }
    return n;
  }

  async clear(): Promise<void> {
    ok(await this.run(["DM.DESTROY", this.name]));
  }

  getOrLoad(key: Bytes, loader: Loader, opts?: LoadOptions): Promise<Uint8Array | null> {
    return this.loads.getOrLoad(key, loader, opts);
  }

  async lock(key: Bytes, leaseMs: number, waitMs: number): Promise<LockGrant | null> {
    const started = this.clock.now();
    const lease = String(Math.max(1, Math.round(leaseMs)));
    const v = await this.run(["DM.LOCK", this.name, key, String(Math.max(0, Math.ceil(waitMs / 1000))), "PX", lease]);
    if (v.kind === "error" && v.code === "LOCKNOTACQUIRED") return null;
    const r = ok(v);
    if (r.kind !== "bulk") throw unexpected("DM.LOCK", r);
    const token = dec.decode(r.value);
    // the lease started on the owner no earlier than this call did
    return { token, fencing: Number(token.slice(0, token.indexOf(":"))), expiresAtMs: started + leaseMs };
  }

  unlock(key: Bytes, token: string): Promise<boolean> {
    return this.okOr(["DM.UNLOCK", this.name, key, token], "NOSUCHLOCK");
  }

  lockLease(key: Bytes, token: string, leaseMs: number): Promise<boolean> {
    return this.okOr(["DM.PLOCKLEASE", this.name, key, token, String(Math.max(1, Math.round(leaseMs)))], "NOSUCHLOCK");
  }
}
