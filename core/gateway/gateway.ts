/**
 * The command gateway: how the HTTP API and the embedded API reach the
 * cluster. It runs one command, given as arguments, through the same path a
 * RESP client's command takes — the command table, the ACL check as a given
 * user, the node's {@link CommandRouter} (forwarding to the key's owner,
 * replication with the write quorum, HLC versions, quorum reads,
 * cluster-wide fan-out) — in an internal session, and resolves with the
 * reply as a typed {@link RespValue}. Errors are values (`kind: "error"`),
 * never rejections. Runtime-neutral.
 *
 * Gateway sessions never get MOVED/ASK (the router forwards for them), are
 * not listed by CLIENT LIST and do not count as client connections. They are
 * pooled: each runs one command at a time, and commands that would change a
 * session's own state (SUBSCRIBE, AUTH, HELLO, MULTI, CLIENT, …) are refused.
 */
import type { AclUser } from "../protocol/acl.ts";
import { ClientSession } from "../protocol/session.ts";
import { decodeReply, errorValue, type RespValue } from "./resp-value.ts";

/** What the gateway needs of a node: what a client session runs on. */
export type GatewayHost = ConstructorParameters<typeof ClientSession>[0];

/** Commands tied to one connection's state: meaningless (or harmful) on a pooled session. */
const SESSION_STATE = new Set([
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "quit",
  "reset",
  "hello",
  "auth",
  "select",
  "readonly",
  "readwrite",
  "asking",
  "client",
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "monitor",
]);

/** Idle sessions kept for reuse. */
const POOL_SIZE = 64;

const enc = new TextEncoder();

interface Pooled {
  session: ClientSession;
  /** Told the reply bytes of the command in flight. */
  done: ((reply: RespValue) => void) | null;
}

/** Runs commands for the HTTP and embedded APIs through a node's command path (see the module doc). */
export class CommandGateway {
  private readonly idle: Pooled[] = [];

  constructor(private readonly node: GatewayHost) {}

  /**
   * Runs `argv` (command name first; strings are UTF-8) as ACL user `user`
   * and resolves with its reply. In a cluster the command is routed like a
   * RESP client's; a command of a session's own state answers an ERR value.
   */
  run(user: AclUser, argv: readonly (Uint8Array | string)[]): Promise<RespValue> {
    if (argv.length === 0) return Promise.resolve(errorValue("ERR empty command"));
    const bytes = argv.map((a) => (typeof a === "string" ? enc.encode(a) : a));
    const name = typeof argv[0] === "string" ? argv[0].toLowerCase() : new TextDecoder().decode(bytes[0]).toLowerCase();
    if (SESSION_STATE.has(name)) {
      return Promise.resolve(errorValue(`ERR '${name.slice(0, 64)}' changes a connection's state and is not available through the HTTP or embedded API`));
    }
    const p = this.take();
    const s = p.session;
    s.aclUser = user;
    s.user = user.name;
    s.clusterAware = false;
    s.ownedOnly = false;
    s.asking = false;
    return new Promise((resolve) => {
      p.done = resolve;
      try {
        s.runArgv(bytes);
      } catch (e) {
        p.done = null;
        s.close();
        resolve(errorValue(`ERR internal error: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  private take(): Pooled {
    const reused = this.idle.pop();
    if (reused) return reused;
    const p: Pooled = { session: null as unknown as ClientSession, done: null };
    p.session = new ClientSession(this.node, {
      write: (b) => {
        const done = p.done;
        p.done = null;
        let value: RespValue;
        try {
          value = decodeReply(b);
        } catch (e) {
          value = errorValue(`ERR internal error: undecodable reply (${e instanceof Error ? e.message : String(e)})`);
        }
        if (!p.session.closed && this.idle.length < POOL_SIZE) this.idle.push(p);
        done?.(value);
      },
      close: () => undefined,
      remote: "gateway",
    });
    // internal: not a client connection (no CLIENT LIST entry, no max-clients slot, no idle sweep)
    this.node.detach(p.session);
    this.node.stats.connectionsTotal--;
    p.session.gateway = true;
    p.session.authenticated = true;
    p.session.reply.proto = 2;
    return p;
  }
}
