/**
 * Redis 6/7-style ACL users: passwords (stored as SHA-256), allowed commands
 * (`+cmd -cmd +@category -@category +cmd|sub allcommands nocommands`), key
 * patterns (`~pat %R~pat %W~pat allkeys resetkeys`) and pub/sub channel
 * patterns (`&pat allchannels resetchannels`), `on`/`off`, `nopass`,
 * `>pass <pass #hash !hash resetpass reset`. Rules come from an ACL file in
 * Redis' syntax (`user alice on >secret ~app:* +@read`) and ACL SETUSER.
 *
 * Keys of DM.* commands are checked as `<map>/<key>` (the `default` map,
 * which plain GET/SET use, has no prefix); map-wide DM.DESTROY / DM.SCAN
 * check the literal name `<map>/*`, so `~orders/*` grants the whole map.
 *
 * Runtime-neutral; passwords never appear in errors, LIST output or logs.
 */
import { globMatch } from "../store/glob.ts";
import { ACL_CATEGORIES, categoriesOf, isContainer, isKnownCommand } from "./acl-categories.ts";
import { sha256Hex } from "./acl-sha256.ts";
import type { Args } from "./args.ts";

export { ACL_CATEGORIES, categoriesOf } from "./acl-categories.ts";

/** A bad ACL rule or file line; the message is Redis' wording and never holds a password. */
export class AclError extends Error {
  override name = "AclError";
}

interface KeyPattern {
  source: string;
  bytes: Uint8Array;
  read: boolean;
  write: boolean;
}

interface CommandRule {
  allow: boolean;
  /** "all", "@category", "name" or "name|sub". */
  what: string;
}

/** The command surface the ACL checks need (a subset of Command). */
export interface AclCommand {
  name: string;
  flags: readonly string[];
  firstKey: number;
  lastKey: number;
  step: number;
  /** AUTH, HELLO, QUIT, RESET: always allowed, as in Redis. */
  noAuth?: boolean;
}

/** Access a command needs on its keys. */
export type KeyAccess = "r" | "w" | "rw";

const enc = new TextEncoder();
const HASH = /^[0-9a-f]{64}$/;
/** Write commands that also return stored data: they need read and write access. */
const READ_WRITE = new Set([
  "getset",
  "getdel",
  "getex",
  "incr",
  "decr",
  "incrby",
  "decrby",
  "incrbyfloat",
  "append",
  "setrange",
  "dm.incr",
  "dm.decr",
  "dm.incrbyfloat",
  "dm.getput",
]);

/** Error texts, exactly as Redis 7.0 words them. */
export const noPermCommand = (item: string): string => `NOPERM this user has no permissions to run the '${item}' command`;
export const NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments";
export const NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments";
export const WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";

/** Shows a modifier in an error without leaking a password or hash. */
const shown = (tok: string): string => (/^[<>#!]/.test(tok) ? `${tok[0]}…` : tok);

/** One ACL user. Sessions hold the object, so SETUSER changes apply to live connections. */
export class AclUser {
  enabled = false;
  nopass = false;
  /** SHA-256 hex of each accepted password. */
  readonly passwords = new Set<string>();
  keys: KeyPattern[] = [];
  channels: string[] = [];
  allChannels = false;
  rules: CommandRule[] = [];
  /** True when every command, key and channel is allowed: the session skips checks. */
  unrestricted = false;
  private allowed = new Map<string, boolean>();

  constructor(readonly name: string) {}

  /** True when keys need no check (`~*` with read and write). */
  get allKeys(): boolean {
    return this.keys.some((k) => k.source === "*" && k.read && k.write);
  }

  /** Applies one rule; throws {@link AclError} (Redis' wording) on a bad one. */
  apply(tok: string, knows: (name: string) => boolean): void {
    const t = tok.toLowerCase();
    const c = tok[0];
    if (t === "on") this.enabled = true;
    else if (t === "off") this.enabled = false;
    else if (t === "nopass") {
      this.passwords.clear();
      this.nopass = true;
    } else if (t === "resetpass") {
      this.passwords.clear();
      this.nopass = false;
    } else if (c === ">") {
      this.passwords.add(sha256Hex(tok.slice(1)));
      this.nopass = false;
    } else if (c === "<") this.passwords.delete(sha256Hex(tok.slice(1)));
    else if (c === "#" || c === "!") {
      const h = tok.slice(1);
      if (!HASH.test(h)) {
        throw new AclError(`Error in ACL SETUSER modifier '${shown(tok)}': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters`);
      }
      if (c === "#") {
        this.passwords.add(h);
        this.nopass = false;
      } else this.passwords.delete(h);
    } else if (t === "allkeys") this.addKeys("*", true, true);
    else if (t === "resetkeys") this.keys = [];
    else if (c === "~") this.addKeys(tok.slice(1), true, true);
    else if (c === "%") {
      const m = /^%(r|w|rw|wr)~(.*)$/is.exec(tok);
      if (!m) throw new AclError(`Error in ACL SETUSER modifier '${tok}': Syntax error`);
      const perm = m[1]!.toLowerCase();
      this.addKeys(m[2]!, perm.includes("r"), perm.includes("w"));
    } else if (t === "allchannels") {
      this.allChannels = true;
      this.channels = [];
    } else if (t === "resetchannels") {
      this.allChannels = false;
      this.channels = [];
    } else if (c === "&") {
      if (tok === "&*") {
        this.allChannels = true;
        this.channels = [];
      } else if (!this.allChannels && !this.channels.includes(tok.slice(1))) this.channels.push(tok.slice(1));
    } else if (t === "allcommands" || t === "+@all") this.rules = [{ allow: true, what: "all" }];
    else if (t === "nocommands" || t === "-@all") this.rules = [];
    else if (c === "+" || c === "-") this.addCommandRule(c === "+", t.slice(1), tok, knows);
    else if (t === "reset") {
      for (const r of ["resetpass", "resetkeys", "resetchannels", "off", "-@all"]) this.apply(r, knows);
    } else if (t === "sanitize-payload" || t === "skip-sanitize-payload") {
      // accepted for Redis ACL file compatibility; shoal has no RESTORE
    } else throw new AclError(`Error in ACL SETUSER modifier '${shown(tok)}': Syntax error`);
    this.refresh();
  }

  private addKeys(pattern: string, read: boolean, write: boolean): void {
    const same = this.keys.find((k) => k.source === pattern);
    if (same) {
      same.read ||= read;
      same.write ||= write;
    } else this.keys.push({ source: pattern, bytes: enc.encode(pattern), read, write });
  }

  private addCommandRule(allow: boolean, what: string, tok: string, knows: (name: string) => boolean): void {
    const unknown = () => new AclError(`Error in ACL SETUSER modifier '${tok}': Unknown command or category name in ACL`);
    if (what.startsWith("@")) {
      if (!(ACL_CATEGORIES as readonly string[]).includes(what.slice(1))) throw unknown();
    } else {
      const [name, sub, extra] = what.split("|");
      if (extra !== undefined || !name || !knows(name)) throw unknown();
      if (sub !== undefined && !isContainer(name)) {
        throw new AclError(`Error in ACL SETUSER modifier '${tok}': Allowing first-arg of a subcommand is not supported`);
      }
    }
    this.rules.push({ allow, what });
  }

  /** Recomputes the fast-path flag and drops cached decisions. */
  private refresh(): void {
    this.allowed.clear();
    this.unrestricted = this.rules.length === 1 && this.rules[0]!.what === "all" && this.allKeys && this.allChannels;
  }

  /** Whether the rules allow command `name` (or `name|sub` of a container); cached. */
  canRun(name: string, flags: readonly string[], sub?: string): boolean {
    const id = sub === undefined ? name : `${name}|${sub}`;
    const hit = this.allowed.get(id);
    if (hit !== undefined) return hit;
    const cats = categoriesOf(name, flags, sub);
    let ok = false;
    for (const r of this.rules) {
      const w = r.what;
      if (w === "all" || (w[0] === "@" ? cats.has(w.slice(1)) : w === name || w === id)) ok = r.allow;
    }
    if (this.allowed.size < 1024) this.allowed.set(id, ok);
    return ok;
  }

  /** Whether a key (as bytes; DM keys as `map/key`) may be accessed with `access`. */
  canAccessKey(key: Uint8Array, access: KeyAccess): boolean {
    for (const k of this.keys) {
      if (access === "r" ? !k.read : access === "w" ? !k.write : !(k.read && k.write)) continue;
      if (k.source === "*" || globMatch(k.bytes, key)) return true;
    }
    // %R~a* plus %W~a* together grant rw on a*
    if (access === "rw") return this.canAccessKey(key, "r") && this.canAccessKey(key, "w");
    return false;
  }

  /** Whether a channel may be used; `literalPattern` for PSUBSCRIBE (Redis compares patterns literally). */
  canAccessChannel(channel: string, literalPattern: boolean): boolean {
    if (this.allChannels) return true;
    const b = enc.encode(channel);
    return this.channels.some((p) => (literalPattern ? p === channel : globMatch(enc.encode(p), b)));
  }

  /** Whether `password` is one of the user's (hash compare; no early exit on the first byte). */
  checkPassword(password: string): boolean {
    if (this.nopass) return true;
    const h = sha256Hex(password);
    let ok = false;
    for (const p of this.passwords) ok = constantTimeEqual(p, h) || ok;
    return ok;
  }

  /** The user as an ACL file line (ACL LIST): passwords shown as `#<sha256>`, as Redis does. */
  describe(): string {
    const parts = ["user", this.name, this.enabled ? "on" : "off"];
    if (this.nopass) parts.push("nopass");
    for (const h of this.passwords) parts.push(`#${h}`);
    for (const k of this.keys) parts.push(`${k.read && k.write ? "" : k.read ? "%R" : "%W"}~${k.source}`);
    if (this.allChannels) parts.push("&*");
    else parts.push("resetchannels", ...this.channels.map((c) => `&${c}`));
    const rule = (r: CommandRule) => `${r.allow ? "+" : "-"}${r.what === "all" ? "@all" : r.what}`;
    if (this.rules[0]?.what !== "all") parts.push("-@all");
    parts.push(...this.rules.map(rule));
    return parts.join(" ");
  }

  /** Copies every rule from `other` (SETUSER applies to a copy first, then commits). */
  copyFrom(other: AclUser): void {
    this.enabled = other.enabled;
    this.nopass = other.nopass;
    this.passwords.clear();
    for (const p of other.passwords) this.passwords.add(p);
    this.keys = other.keys.map((k) => ({ ...k }));
    this.channels = [...other.channels];
    this.allChannels = other.allChannels;
    this.rules = other.rules.map((r) => ({ ...r }));
    this.refresh();
  }
}

/** Splits an ACL file line on whitespace (Redis' ACL file has no quoting). */
const words = (line: string): string[] => line.trim().split(/\s+/).filter((w) => w !== "");

/**
 * The node's users. `default` always exists: `on nopass ~* &* +@all`, or
 * with `requirepass` that password instead of nopass.
 */
export class Acl {
  readonly users = new Map<string, AclUser>();

  /** @param knows whether a command name exists (rules naming unknown commands are refused). */
  constructor(private readonly knows: (name: string) => boolean) {
    const d = new AclUser("default");
    for (const r of ["on", "nopass", "~*", "&*", "+@all"]) d.apply(r, () => true);
    this.users.set("default", d);
  }

  /**
   * Builds the user table from ACL file lines (`source` names the file in
   * errors) and `requirepass`, which becomes the default user's password.
   * @throws AclError naming the file and line.
   */
  static fromConfig(opts: { requirepass?: string; lines?: readonly string[]; source?: string }, knows: (name: string) => boolean): Acl {
    const acl = new Acl((n) => knows(n) || isKnownCommand(n));
    if (opts.lines) acl.load(opts.lines, opts.source ?? "acl file");
    if (opts.requirepass) acl.setUser("default", ["resetpass", `>${opts.requirepass}`]);
    return acl;
  }

  /** Loads ACL file lines (blank lines and `#` comments skipped); all or nothing. */
  load(lines: readonly string[], source: string): void {
    const fresh = new Acl(this.knows);
    const seen = new Set<string>();
    lines.forEach((line, i) => {
      const w = words(line);
      if (w.length === 0 || w[0]!.startsWith("#")) return;
      const where = `${source}:${i + 1}`;
      if (w[0] !== "user" || w.length < 2) throw new AclError(`${where}: line should start with user keyword`);
      const name = w[1]!;
      if (seen.has(name)) throw new AclError(`${where}: Duplicate user '${name}' found`);
      seen.add(name);
      try {
        fresh.setUser(name, name === "default" ? ["reset", ...w.slice(2)] : w.slice(2));
      } catch (e) {
        throw new AclError(`${where}: ${(e as Error).message}`);
      }
    });
    for (const [name, u] of fresh.users) {
      const live = this.users.get(name);
      if (live) live.copyFrom(u);
      else this.users.set(name, u);
    }
    for (const name of [...this.users.keys()]) if (!fresh.users.has(name)) this.users.delete(name);
  }

  /** The `default` user. */
  get defaultUser(): AclUser {
    return this.users.get("default")!;
  }

  /** True when new connections start authenticated (default user on and nopass). */
  defaultIsOpen(): boolean {
    const d = this.defaultUser;
    return d.enabled && d.nopass;
  }

  /** ACL SETUSER: creates or changes a user; all rules apply or none. */
  setUser(name: string, rules: readonly string[]): AclUser {
    const live = this.users.get(name);
    const draft = new AclUser(name);
    if (live) draft.copyFrom(live);
    for (const r of rules) draft.apply(r, this.knows);
    if (live) {
      live.copyFrom(draft);
      return live;
    }
    this.users.set(name, draft);
    return draft;
  }

  /** The enabled user `name` if `password` is one of theirs, else null. */
  authenticate(name: string, password: string): AclUser | null {
    const u = this.users.get(name);
    // hash even for unknown users so timing does not tell which names exist
    const ok = u ? u.checkPassword(password) : sha256Hex(password) === "";
    if (u === undefined || !u.enabled || !ok) return null;
    return u;
  }

  /**
   * Checks a RESP command against `user`'s rules: null when allowed, else
   * the NOPERM error line (without '-').
   */
  check(user: AclUser, cmd: AclCommand, a: Args): string | null {
    if (user.unrestricted || cmd.noAuth) return null;
    const sub = isContainer(cmd.name) && a.n > 1 ? a.lower(1).slice(0, 64) : undefined;
    if (!user.canRun(cmd.name, cmd.flags, sub)) return noPermCommand(sub === undefined ? cmd.name : `${cmd.name}|${sub}`);
    if (!user.allKeys && !this.keysAllowed(user, cmd, a)) return NOPERM_KEY;
    if (!user.allChannels && cmd.flags.includes("pubsub")) {
      const literal = cmd.name === "psubscribe";
      const from = 1;
      const to = cmd.name === "publish" ? 2 : cmd.name === "subscribe" || literal ? a.n : 1;
      for (let i = from; i < to; i++) if (!user.canAccessChannel(a.str(i), literal)) return NOPERM_CHANNEL;
    }
    return null;
  }

  private keysAllowed(user: AclUser, cmd: AclCommand, a: Args): boolean {
    const access = keyAccess(cmd);
    if (cmd.name.startsWith("dm.")) {
      if (a.n < 2) return true;
      const map = a.str(1);
      if (cmd.firstKey === 0) return user.canAccessKey(dmKey(map, "*"), access);
      const last = cmd.lastKey < 0 ? a.n + cmd.lastKey : Math.min(cmd.lastKey, a.n - 1);
      for (let i = cmd.firstKey; i <= last; i += cmd.step) if (!user.canAccessKey(dmKey(map, a.bytes(i)), access)) return false;
      return true;
    }
    if (cmd.firstKey <= 0) return true;
    const last = cmd.lastKey < 0 ? a.n + cmd.lastKey : Math.min(cmd.lastKey, a.n - 1);
    for (let i = cmd.firstKey; i <= last; i += cmd.step) if (!user.canAccessKey(a.bytes(i), access)) return false;
    return true;
  }

  /**
   * Checks a request described by parts (the HTTP API): command `cmd`, the
   * DM map and keys it touches (key "*" = map-wide), and channels.
   */
  checkParts(
    user: AclUser,
    cmd: AclCommand,
    parts: { sub?: string; map?: string; keys?: string[]; channels?: string[]; pattern?: boolean },
  ): string | null {
    if (user.unrestricted) return null;
    if (!user.canRun(cmd.name, cmd.flags, parts.sub)) return noPermCommand(parts.sub === undefined ? cmd.name : `${cmd.name}|${parts.sub}`);
    if (!user.allKeys && parts.map !== undefined) {
      for (const k of parts.keys ?? []) if (!user.canAccessKey(dmKey(parts.map, k), keyAccess(cmd))) return NOPERM_KEY;
    }
    for (const ch of parts.channels ?? []) if (!user.canAccessChannel(ch, parts.pattern === true)) return NOPERM_CHANNEL;
    return null;
  }
}

/** The ACL name of key `key` in DM map `map`: `map/key`, or the bare key in the default map. */
export function dmKey(map: string, key: string | Uint8Array): Uint8Array {
  const k = typeof key === "string" ? enc.encode(key) : key;
  if (map === "default") return k;
  const m = enc.encode(`${map}/`);
  const out = new Uint8Array(m.length + k.length);
  out.set(m);
  out.set(k, m.length);
  return out;
}

/** Key access a command needs. */
export function keyAccess(cmd: AclCommand): KeyAccess {
  if (READ_WRITE.has(cmd.name)) return "rw";
  if (cmd.flags.includes("readonly")) return "r";
  if (cmd.flags.includes("write")) return "w";
  return "rw";
}

/** Compares two equal-length hex strings without an early exit. */
function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i % (b.length || 1));
  return diff === 0;
}
