import { ShoalError } from "../errors.ts";
import type { AclUser } from "./acl.ts";
import { Args } from "./args.ts";
import { arityError, type Command } from "./command.ts";
import type { CommandHost, Routed } from "./host.ts";
import { internalCall } from "./internal-call.ts";
import { Reply } from "./reply.ts";
import { MAX_QUEUED, type Queued, Transaction, txArgv } from "./transaction.ts";

/** Commands that run at once inside MULTI instead of being queued (Redis' list). */
const RUN_IN_MULTI = new Set(["multi", "exec", "discard", "watch", "quit", "reset"]);

/** The text of a reply line at buf[from, to) up to its CR (error replies for INFO errorstats). */
function latin1Line(buf: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to && i < from + 64 && buf[i] !== 13; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/** Arguments MONITOR shows as "(redacted)" from this position on (passwords). */
const REDACTED: Record<string, number> = { auth: 1 };

/** An argument as MONITOR prints it (Redis' sdscatrepr: quoted, escapes for quotes, backslash and non-printables). */
function repr(b: Uint8Array): string {
  let s = '"';
  for (const c of b) {
    if (c === 34 || c === 92) s += `\\${String.fromCharCode(c)}`;
    else if (c === 10) s += "\\n";
    else if (c === 13) s += "\\r";
    else if (c === 9) s += "\\t";
    else if (c >= 32 && c < 127) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return `${s}"`;
}

/** Commands whose CLIENT LIST `cmd=` names the subcommand too (client|list). */
const CONTAINERS = new Set(["client", "config", "command", "acl", "cluster", "pubsub", "object", "memory", "function", "script"]);

/** Commands Redis refuses inside MULTI (they block or act on the whole server). */
const NO_MULTI = new Set(["save", "shutdown", "monitor", "sync", "psync"]);

/** Replies CLIENT REPLY OFF/SKIP does not drop: pub/sub (un)subscribe confirmations are pushes. */
const PUSH_REPLIES = new Set(["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"]);

/** What a socket adapter gives a session. */
export interface SessionIO {
  /** Writes bytes now; the adapter must copy or fully consume them before returning. */
  write(bytes: Uint8Array): void;
  /** Closes the connection after pending writes. */
  close(): void;
  /** "ip:port" of the peer. */
  remote: string;
}

const enc = new TextEncoder();

/** The routing decision of a node without a cluster layer. */
const LOCAL: Routed = { kind: "local" };

/** Largest command (bytes of all its arguments) whose buffer {@link ClientSession.runArgv} keeps for the next one. */
const ARGV_REUSE_BYTES = 64 * 1024;

/** Most commands of one connection running concurrently (forwarded or replicating) before input is parked. */
const MAX_DEFERRED = 64;

/** A deferred reply: bytes [at, end) of the reply buffer are provisional; `bytes` replaces them when set. */
interface Slot {
  at: number;
  end: number;
  bytes: Uint8Array | null;
}

/**
 * One client connection speaking RESP2/RESP3: incremental parsing straight
 * out of the read chunk (no per-argument allocation), command dispatch, and
 * one write per read event. Runtime-neutral: fed by any socket adapter.
 */
export class ClientSession {
  readonly id: number;
  readonly args = new Args();
  readonly reply = new Reply();
  name = "";
  authenticated: boolean;
  user = "default";
  /** The ACL user the connection runs as (see acl.ts); `unrestricted` skips the checks. */
  aclUser: AclUser;
  readonly createdAt: number;
  lastCommand = "NULL";
  lastActive: number;
  /** Monotonic ms when a partial frame started waiting, 0 when none. */
  partialSince = 0;
  /** Channel/pattern subscriptions: key → unsubscribe. */
  readonly channels = new Map<string, () => void>();
  readonly patterns = new Map<string, () => void>();
  closed = false;
  /**
   * A Redis Cluster client (it asked for the topology with CLUSTER
   * SLOTS/SHARDS/NODES, or sent READONLY/READWRITE): wrong-node commands get
   * MOVED/ASK instead of being forwarded.
   */
  clusterAware = false;
  /** SCAN/KEYS/DBSIZE see only the keys this node owns (cluster fan-out and Redis Cluster clients). */
  ownedOnly = false;
  /** ASKING was sent: the next command runs here even if this node does not own its slot (one-shot). */
  asking = false;
  /**
   * A session of the command gateway (HTTP and embedded API): never gets
   * MOVED/ASK (the command is forwarded instead) and is not rate-limited
   * per connection.
   */
  gateway = false;
  private executed = 0;
  /** Commands in the current one-second window (--max-commands-per-second). */
  private rateCount = 0;
  private rateWindow = 0;
  private pending: Uint8Array | null = null;
  private pendingLen = 0;
  /** Deferred replies in order (see {@link defer}); flushed once all are settled. */
  private slots: Slot[] = [];
  private unresolved = 0;
  /** The buffer {@link runArgv} lays its arguments out in. */
  private argvBuf: Uint8Array | null = null;
  /** Set while an async command runs; later input queues behind it. */
  private busy: Promise<void> | null = null;
  /** CLIENT REPLY OFF: no replies (pub/sub messages and (un)subscribe confirmations still go out). */
  replyOff = false;
  /** CLIENT REPLY SKIP: the next command's reply is dropped. */
  skipNext = false;
  /** While a silenced command runs: where its reply starts (dropped when it ends); -1 otherwise. */
  private silenceFrom = -1;
  /** MULTI/EXEC and WATCH state. */
  readonly tx = new Transaction();
  /** True while one of this connection's commands runs synchronously (its own pushes wait for its reply). */
  private executing = false;
  private heldPushes: ((r: Reply) => void)[] = [];
  /** Sharded pub/sub subscriptions (SSUBSCRIBE): channel → unsubscribe. */
  readonly shardChannels = new Map<string, () => void>();
  /** CLIENT SETINFO lib-name / lib-ver. */
  libName = "";
  libVer = "";
  /** Bytes read from and written to this connection, and commands it ran (CLIENT LIST tot-net-in/out, tot-cmds). */
  netIn = 0;
  netOut = 0;
  commandsRun = 0;
  /** Largest unparsed input held at once (CLIENT LIST rbp). */
  private inputPeak = 0;
  /** Close once the pending replies are written (CLIENT KILL of oneself, QUIT). */
  private closing = false;

  constructor(
    readonly node: CommandHost,
    readonly io: SessionIO,
  ) {
    this.id = node.nextClientId();
    this.authenticated = !node.requiresAuth();
    this.aclUser = node.acl.defaultUser;
    this.createdAt = node.clock.now();
    this.lastActive = this.createdAt;
    node.attach(this);
  }

  /** True in RESP2 subscribed mode. */
  get subscribed(): boolean {
    return this.channels.size + this.patterns.size + this.shardChannels.size > 0;
  }

  /** Feeds bytes read from the socket. */
  onData(chunk: Uint8Array): void {
    if (this.closed) return;
    this.node.stats.netInputBytes += chunk.length;
    this.netIn += chunk.length;
    const now = this.node.clock.now();
    this.lastActive = now;
    this.node.cachedNow = now;
    try {
      if (this.busy || this.pendingLen > 0) {
        this.append(chunk);
        if (this.busy) return;
        const data = this.pending!;
        const len = this.pendingLen;
        const used = this.process(data, len);
        this.keep(data, used, len, true);
      } else {
        const used = this.process(chunk, chunk.length);
        this.keep(chunk, used, chunk.length, false);
      }
    } finally {
      this.node.cachedNow = 0;
    }
    this.flush();
  }

  private append(chunk: Uint8Array): void {
    const need = this.pendingLen + chunk.length;
    if (need > this.node.config.maxQueryBufferBytes) {
      this.protocolError("Protocol error: query buffer limit reached");
      return;
    }
    if (!this.pending || this.pending.length < need) {
      let cap = this.pending ? this.pending.length * 2 : 16 * 1024;
      while (cap < need) cap *= 2;
      const b = new Uint8Array(cap);
      if (this.pending) b.set(this.pending.subarray(0, this.pendingLen));
      this.pending = b;
    }
    this.pending.set(chunk, this.pendingLen);
    this.pendingLen = need;
    if (need > this.inputPeak) this.inputPeak = need;
  }

  /** Keeps unparsed bytes [used, len) of data for the next read. */
  private keep(data: Uint8Array, used: number, len: number, inPending: boolean): void {
    if (this.closed) return;
    const rest = len - used;
    if (rest === 0) {
      this.pendingLen = 0;
      this.partialSince = 0;
      if (this.pending && this.pending.length > 1 << 20) this.pending = null;
      return;
    }
    if (inPending) {
      if (used > 0) this.pending!.copyWithin(0, used, len);
      this.pendingLen = rest;
    } else {
      this.pendingLen = 0;
      this.append(data.subarray(used, len));
    }
    if (this.partialSince === 0 || used > 0) this.partialSince = this.node.clock.monotonic();
  }

  /** Writes buffered replies to the socket (held while an async command may still rewrite its reply). */
  flush(): void {
    if (this.busy !== null || this.unresolved > 0) return;
    if (this.slots.length > 0) this.flushSlots();
    else if (this.reply.len > 0) {
      const out = this.reply.take();
      this.node.stats.netOutputBytes += out.length;
      this.netOut += out.length;
      this.io.write(out);
      this.reply.shrink();
    }
    if (this.closing && !this.closed) {
      this.closing = false;
      this.close();
    }
  }

  /** Whether one more command may run concurrently with the ones in flight (bounded). */
  get canDefer(): boolean {
    return this.unresolved < MAX_DEFERRED && this.busy === null;
  }

  /**
   * Lets a command finish in the background while later commands of the
   * pipeline go on (a forwarded command, a write waiting for its replicas).
   * Bytes [start, reply.len) written so far are its provisional reply; `p`
   * resolves to replacement bytes, or null to keep them. Replies still go
   * out in command order, in one write once every deferred one is settled.
   */
  defer(start: number, p: Promise<Uint8Array | null>): void {
    const slot: Slot = { at: start, end: this.reply.len, bytes: null };
    this.slots.push(slot);
    this.unresolved++;
    p.then(
      (b) => {
        slot.bytes = b;
      },
      (e: unknown) => {
        slot.bytes = enc.encode(`-ERR internal error: ${e instanceof Error ? e.message : String(e)}\r\n`);
      },
    ).then(() => {
      if (--this.unresolved === 0 && !this.closed) this.flush();
    });
  }

  /** Writes the reply buffer with the deferred replies spliced in. */
  private flushSlots(): void {
    const buf = this.reply.buf;
    const len = this.reply.len;
    let size = len;
    for (const s of this.slots) if (s.bytes) size += s.bytes.length - (s.end - s.at);
    const out = new Uint8Array(size);
    let o = 0;
    let from = 0;
    for (const s of this.slots) {
      out.set(buf.subarray(from, s.at), o);
      o += s.at - from;
      const part = s.bytes ?? buf.subarray(s.at, s.end);
      out.set(part, o);
      o += part.length;
      from = s.end;
    }
    out.set(buf.subarray(from, len), o);
    this.slots = [];
    this.reply.len = 0;
    this.reply.shrink();
    this.node.stats.netOutputBytes += out.length;
    this.netOut += out.length;
    this.io.write(out);
  }

  /** Parses and runs complete commands in data[0, len); returns bytes consumed. */
  private process(data: Uint8Array, len: number): number {
    let pos = 0;
    const a = this.args;
    const cfg = this.node.config;
    while (pos < len && !this.closed && !this.busy && !this.closing) {
      const start = pos;
      if (data[pos] === 42 /* * */) {
        const nl = data.indexOf(10, pos);
        if (nl < 0 || nl >= len) {
          if (len - pos > 64 * 1024) this.protocolError("Protocol error: too big mbulk count string");
          return start;
        }
        const count = parseLine(data, pos + 1, nl - 1);
        if (count === null || count > cfg.maxMultibulkLen) {
          this.protocolError("Protocol error: invalid multibulk length");
          return len;
        }
        pos = nl + 1;
        if (count <= 0) continue;
        a.reserve(count);
        let ok = true;
        for (let i = 0; i < count; i++) {
          if (pos >= len) {
            ok = false;
            break;
          }
          if (data[pos] !== 36 /* $ */) {
            this.protocolError(`Protocol error: expected '$', got '${String.fromCharCode(data[pos]!)}'`);
            return len;
          }
          const bl = data.indexOf(10, pos);
          if (bl < 0 || bl >= len) {
            if (len - pos > 64 * 1024) this.protocolError("Protocol error: too big bulk count string");
            ok = false;
            break;
          }
          const blen = parseLine(data, pos + 1, bl - 1);
          if (blen === null || blen < 0 || blen > cfg.maxBulkBytes) {
            this.protocolError("Protocol error: invalid bulk length");
            return len;
          }
          const body = bl + 1;
          if (body + blen + 2 > len) {
            ok = false;
            break;
          }
          a.off[i] = body;
          a.len[i] = blen;
          pos = body + blen + 2;
        }
        if (!ok) return start;
        a.buf = data;
        a.n = count;
      } else {
        const nl = data.indexOf(10, pos);
        if (nl < 0 || nl >= len) {
          if (len - pos > cfg.maxInlineBytes) this.protocolError("Protocol error: too big inline request");
          return start;
        }
        const end = nl > pos && data[nl - 1] === 13 ? nl - 1 : nl;
        pos = nl + 1;
        if (!splitInline(data, start, end, a)) {
          this.protocolError("Protocol error: unbalanced quotes in request");
          return len;
        }
        if (a.n === 0) continue;
      }
      this.execute();
    }
    return pos;
  }

  /**
   * Runs one command given as arguments (the command gateway: no RESP
   * encoding). Its reply goes to `io.write` like any other, once settled.
   * The session must be idle (no command in flight).
   */
  runArgv(argv: readonly Uint8Array[]): void {
    if (this.closed || this.busy !== null || this.unresolved > 0) throw new Error("session is busy or closed");
    const a = this.args;
    let size = 0;
    for (const b of argv) size += b.length;
    // small commands reuse one buffer per session, like a connection's read buffer (the router copies what
    // outlives the call); a big one (a large value) gets its own, dropped with the call, so idle sessions hold little
    let buf = this.argvBuf;
    if (size > ARGV_REUSE_BYTES) buf = new Uint8Array(size);
    else if (buf === null || buf.length < size) buf = this.argvBuf = new Uint8Array(ARGV_REUSE_BYTES >> 4 > size ? ARGV_REUSE_BYTES >> 4 : ARGV_REUSE_BYTES);
    a.reserve(argv.length);
    let o = 0;
    for (let i = 0; i < argv.length; i++) {
      const b = argv[i]!;
      buf.set(b, o);
      a.off[i] = o;
      a.len[i] = b.length;
      o += b.length;
    }
    a.buf = buf;
    a.n = argv.length;
    const now = this.node.clock.now();
    this.lastActive = now;
    this.node.cachedNow = now;
    try {
      this.execute();
    } finally {
      this.node.cachedNow = 0;
    }
    this.flush();
  }

  private protocolError(msg: string): void {
    this.node.stats.protocolErrors++;
    this.reply.error(`ERR ${msg}`);
    this.flush();
    this.close();
  }

  /** Runs the command in this.args. */
  private execute(): void {
    const start = this.reply.len;
    const quiet = this.replyOff || this.skipNext;
    this.skipNext = false;
    this.silenceFrom = quiet ? start : -1;
    this.executing = true;
    let name = "";
    try {
      name = this.dispatch();
    } finally {
      this.executing = false;
      this.silenceFrom = -1;
    }
    // an error while queueing (unknown command, wrong arity, nested MULTI, WATCH inside MULTI, OOM…) dooms the transaction
    const failed = this.reply.len > start && this.reply.buf[start] === 45; /* - */
    if (failed) this.node.stats.countError(latin1Line(this.reply.buf, start + 1, this.reply.len));
    if (this.tx.inMulti && failed) this.tx.aborted = true;
    const replyOn = name === "client" && this.args.n === 3 && this.args.is(1, "reply") && this.args.is(2, "on");
    if (quiet && !replyOn && !PUSH_REPLIES.has(name) && this.reply.len > start && this.busy === null) this.reply.len = start;
    if (this.heldPushes.length > 0) this.releasePushes();
  }

  /** MONITOR: shows the command to every monitoring connection (`+<time> [0 <addr>] "cmd" "arg"…`, secrets redacted). */
  private feedMonitors(command: Command, a: Args): void {
    if (command.name === "monitor") return;
    const now = this.node.clock.now();
    let line = `${Math.floor(now / 1000)}.${String(Math.floor(now % 1000) * 1000).padStart(6, "0")} [0 ${this.io.remote}]`;
    const secret = REDACTED[command.name];
    for (let i = 0; i < a.n; i++) {
      // HELLO … AUTH <user> <password>: both redacted
      const hidden = (secret !== undefined && i >= secret) || (command.name === "hello" && i >= 2 && (a.is(i - 1, "auth") || a.is(i - 2, "auth")));
      line += hidden ? ' "(redacted)"' : ` ${repr(a.bytes(i))}`;
    }
    for (const m of this.node.monitors) m.pushNow((r) => r.simple(line));
  }

  /** Writes the pushes that arrived while a command of this connection ran, after its reply. */
  private releasePushes(): void {
    const held = this.heldPushes;
    this.heldPushes = [];
    for (const write of held) write(this.reply);
  }

  /** Why a known command may not run now (arity, auth, ACL, rate, RESP2 subscribed mode, OOM), or null. */
  private refusal(command: Command, a: Args): string | null {
    const node = this.node;
    if ((command.arity > 0 && a.n !== command.arity) || (command.arity < 0 && a.n < -command.arity)) return arityError(command.name);
    if (!this.authenticated && !command.noAuth) return "NOAUTH Authentication required.";
    const denied = this.aclUser.unrestricted ? null : node.acl.check(this.aclUser, command, a);
    if (denied !== null) return denied;
    if (node.config.maxCommandsPerSecond > 0 && !this.gateway && this.overRate())
      return "ERR max commands per second reached for this client (--max-commands-per-second)";
    if (this.subscribed && this.reply.proto === 2 && !command.inSubscribe)
      return `ERR Can't execute '${command.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
    if (node.memoryLimits.maxmemory > 0 && command.flags.includes("denyoom") && node.overMemory())
      return "OOM command not allowed when used memory > 'maxmemory'.";
    return null;
  }

  /** Checks and runs (or queues, inside MULTI) the command in this.args; returns its name ("" when unknown). */
  private dispatch(): string {
    const a = this.args;
    const node = this.node;
    // latency is sampled (1 command in 8) to keep two clock reads off every command
    const timed = (++this.executed & 7) === 0;
    const t0 = timed ? node.clock.monotonic() : 0;
    const command = node.commands.lookup(a);
    if (!command) {
      let rest = "";
      for (let i = 1; i < a.n && rest.length < 128; i++) rest += `'${a.latin1(i).slice(0, 128 - rest.length)}' `;
      this.reply.error(`ERR unknown command '${a.latin1(0).slice(0, 128)}', with args beginning with: ${rest}`);
      return "";
    }
    const refusal = this.refusal(command, a);
    if (refusal !== null) {
      command.rejected = (command.rejected ?? 0) + 1;
      this.reply.error(refusal);
      return command.name;
    }
    if (this.tx.inMulti && !RUN_IN_MULTI.has(command.name)) {
      if (NO_MULTI.has(command.name)) this.reply.error("ERR Command not allowed inside a transaction");
      else if (this.tx.queue!.length >= MAX_QUEUED) this.reply.error(`ERR a transaction holds at most ${MAX_QUEUED} commands`);
      else {
        this.tx.queue!.push({ command, args: a.copy() });
        this.reply.simple("QUEUED");
      }
      return command.name;
    }
    command.calls++;
    this.commandsRun++;
    // containers (CLIENT, CONFIG, COMMAND…) have arity -1 or -2: the compare keeps the set lookup off GET/SET
    this.lastCommand = command.arity < 0 && command.arity >= -2 && a.n > 1 && CONTAINERS.has(command.name) ? `${command.name}|${a.lower(1)}` : command.name;
    const runStart = this.reply.len;
    try {
      const routed = node.router === null ? LOCAL : node.router.route(this, command, a);
      switch (routed.kind) {
        case "local": {
          const r = command.run({ node, session: this, reply: this.reply, args: a });
          if (r) this.wait(r);
          break;
        }
        case "running":
          this.wait(routed.done);
          break;
        case "forwarded":
          // later commands of the pipeline go on meanwhile (bounded); replies keep their order
          if (this.canDefer && this.silenceFrom < 0) this.defer(this.reply.len, routed.reply);
          else this.wait(routed.reply.then((b) => this.reply.raw(b)));
          break;
        case "answered":
          break;
      }
    } catch (e) {
      this.replyError(e);
    }
    if (this.reply.len > runStart && this.reply.buf[runStart] === 45 /* - */) command.failed = (command.failed ?? 0) + 1;
    // MONITOR shows a command once it ran (so EXEC follows the commands it ran), as Redis does
    if (node.monitors.size > 0) this.feedMonitors(command, a);
    if (timed) node.stats.latency.observe((node.clock.monotonic() - t0) / 1000);
    return command.name;
  }

  /**
   * EXEC: runs the queued commands in order as one array reply, or answers
   * nil when a watched key changed, EXECABORT when queueing failed. On one
   * node nothing else runs in between (a command that waits, such as a
   * blocking DM.LOCK, is the exception: it is awaited in place).
   */
  execTransaction(): void | Promise<void> {
    const tx = this.tx;
    if (!tx.inMulti) throw new ShoalError("ERR", "EXEC without MULTI");
    const queue = tx.queue!;
    const aborted = tx.aborted;
    const clustered = this.node.router !== null;
    const watched = clustered ? tx.watched() : [];
    const touched = !aborted && !clustered && tx.touched();
    tx.end();
    if (aborted) throw new ShoalError("EXECABORT", "Transaction discarded because of previous errors.");
    if (touched) return this.reply.nilArray();
    if (this.node.memoryLimits.maxmemory > 0 && queue.some((q) => q.command.flags.includes("denyoom")) && this.node.overMemory())
      throw new ShoalError("EXECABORT", "Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.");
    if (clustered) {
      // the owner of the keys' slot checks the watches and runs it all, then replicates its writes as one batch
      return internalCall(this.node, this.aclUser, this.user, txArgv(queue, watched), this.reply.proto).then((b) => this.reply.raw(b));
    }
    this.reply.arr(queue.length);
    return this.runQueued(queue, 0);
  }

  /** Runs commands of a transaction in order, each reply an element of the array the caller opened (__txexec). */
  runQueuedCommands(queue: readonly Queued[]): void | Promise<void> {
    return this.runQueued(queue, 0);
  }

  private runQueued(queue: readonly Queued[], from: number): void | Promise<void> {
    for (let i = from; i < queue.length; i++) {
      const { command, args } = queue[i]!;
      command.calls++;
      this.commandsRun++;
      this.lastCommand = command.name;
      if (this.node.monitors.size > 0) this.feedMonitors(command, args);
      let r: void | Promise<void>;
      try {
        r = command.run({ node: this.node, session: this, reply: this.reply, args });
      } catch (e) {
        this.replyError(e);
        continue;
      }
      if (r) {
        return r.then(
          () => this.runQueued(queue, i + 1),
          (e) => {
            this.replyError(e);
            return this.runQueued(queue, i + 1);
          },
        );
      }
    }
  }

  /** Counts a command against --max-commands-per-second; true when over it in this second. */
  private overRate(): boolean {
    const second = Math.floor(this.lastActive / 1000);
    if (second !== this.rateWindow) {
      this.rateWindow = second;
      this.rateCount = 0;
    }
    return ++this.rateCount > this.node.config.maxCommandsPerSecond;
  }

  /** Writes an error reply for a thrown error. */
  replyError(e: unknown): void {
    if (e instanceof ShoalError) this.reply.error(e.resp);
    else {
      this.node.log.error("command failed", { error: String(e) });
      this.reply.error(`ERR internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Parks the input behind an async command; resumes parsing when it settles. */
  private wait(p: Promise<void>): void {
    // the unparsed rest of the current chunk is kept in `pending` by keep()
    const silenceFrom = this.silenceFrom;
    this.busy = p.then(
      () => {
        if (silenceFrom >= 0 && this.reply.len > silenceFrom) this.reply.len = silenceFrom; // CLIENT REPLY OFF/SKIP
      },
      (e) => {
        this.replyError(e);
        if (silenceFrom >= 0 && this.reply.len > silenceFrom) this.reply.len = silenceFrom;
      },
    );
    const settled = this.busy;
    settled.then(() => {
      if (this.busy === settled) this.busy = null;
      if (this.closed) return;
      this.flush();
      if (this.pendingLen > 0) {
        const data = this.pending!;
        const len = this.pendingLen;
        const used = this.process(data, len);
        this.keep(data, used, len, true);
        this.flush();
      }
    });
  }

  /** Unparsed input held now, free room after it, buffer size and peak (CLIENT LIST qbuf, qbuf-free, rbs, rbp). */
  inputStats(): { used: number; free: number; capacity: number; peak: number } {
    const capacity = this.pending?.length ?? 0;
    return { used: this.pendingLen, free: capacity - this.pendingLen, capacity, peak: this.inputPeak };
  }

  /** Closes the connection once the replies queued so far (this command's included) are written. */
  closeAfterReply(): void {
    this.closing = true;
  }

  /**
   * Sends a push (pub/sub message) right away — or, when it comes from a
   * command this connection is running (PUBLISH to itself, inside EXEC
   * too), right after that command's reply, never inside it.
   */
  pushNow(write: (r: Reply) => void): void {
    if (this.closed) return;
    if (this.executing) {
      this.heldPushes.push(write);
      return;
    }
    write(this.reply);
    this.flush();
  }

  /** Closes the connection after flushing. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.io.close();
    this.onClose();
  }

  /** Called by the adapter when the socket closed. */
  onClose(): void {
    this.closed = true;
    this.unsubscribeAll();
    this.node.monitors.delete(this);
    this.node.detach(this);
  }

  /** Starts streaming every command the node runs to this connection (MONITOR). */
  startMonitor(): void {
    this.node.monitors.add(this);
  }

  /** Drops every channel, pattern and sharded-channel subscription. */
  unsubscribeAll(): void {
    for (const subs of [this.channels, this.patterns, this.shardChannels]) {
      for (const off of subs.values()) off();
      subs.clear();
    }
  }

  /** Encodes a string for replies. */
  static bytes(s: string): Uint8Array {
    return enc.encode(s);
  }
}

/** Parses a RESP length line (digits, optional '-') between [from, to); null when malformed. */
function parseLine(d: Uint8Array, from: number, to: number): number | null {
  if (to <= from || d[to] !== 13) return null;
  let i = from;
  let neg = false;
  if (d[i] === 45) {
    neg = true;
    i++;
  }
  if (i >= to || to - i > 15) return null;
  let v = 0;
  for (; i < to; i++) {
    const c = d[i]!;
    if (c < 48 || c > 57) return null;
    v = v * 10 + (c - 48);
  }
  return neg ? -v : v;
}

/** Splits an inline command (Redis sdssplitargs rules, simplified) into args; false on unbalanced quotes. */
function splitInline(d: Uint8Array, from: number, to: number, a: Args): boolean {
  // Inline args are rewritten into a fresh buffer because quotes/escapes change bytes.
  const out = new Uint8Array(to - from);
  const offs: number[] = [];
  const lens: number[] = [];
  let o = 0;
  let i = from;
  while (i < to) {
    while (i < to && (d[i] === 32 || d[i] === 9 || d[i] === 13)) i++;
    if (i >= to) break;
    const st = o;
    const q = d[i] === 34 || d[i] === 39 ? d[i]! : 0;
    if (q) {
      i++;
      let closed = false;
      while (i < to) {
        if (q === 34 && d[i] === 92 && i + 3 < to && d[i + 1] === 120 && isHex(d[i + 2]!) && isHex(d[i + 3]!)) {
          out[o++] = (hexVal(d[i + 2]!) << 4) | hexVal(d[i + 3]!);
          i += 4;
        } else if (q === 34 && d[i] === 92 && i + 1 < to) {
          const n = d[i + 1]!;
          out[o++] = n === 110 ? 10 : n === 114 ? 13 : n === 116 ? 9 : n === 98 ? 8 : n === 97 ? 7 : n;
          i += 2;
        } else if (q === 39 && d[i] === 92 && i + 1 < to && d[i + 1] === 39) {
          out[o++] = 39;
          i += 2;
        } else if (d[i] === q) {
          closed = true;
          i++;
          break;
        } else out[o++] = d[i++]!;
      }
      if (!closed || (i < to && d[i] !== 32 && d[i] !== 9)) return false;
    } else {
      while (i < to && d[i] !== 32 && d[i] !== 9) out[o++] = d[i++]!;
    }
    offs.push(st);
    lens.push(o - st);
  }
  a.reserve(offs.length);
  for (let k = 0; k < offs.length; k++) {
    a.off[k] = offs[k]!;
    a.len[k] = lens[k]!;
  }
  a.buf = out;
  a.n = offs.length;
  return true;
}

const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const hexVal = (c: number): number => (c <= 57 ? c - 48 : (c | 32) - 87);
