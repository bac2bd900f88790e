/**
 * Deno entry point: one node like `shoal serve`, with Deno's sockets.
 * RESP is served with Deno.listen feeding core ClientSessions (total, per-IP
 * and output-buffer limits as on Bun); HTTP with Deno.serve over the hono app
 * (with the request limits). Config comes from flags, SHOAL_* env and
 * shoal.yaml exactly as on Bun, and a given setting this entry does not honour
 * (clustering, discovery, TLS, edge cache: deno-support.ts) stops it with
 * exit 2 naming the setting. Run with `deno task start`.
 */

import { systemClock, systemRng } from "../core/clock.ts";
import { ConfigError, configHelp, loadConfigWithOrigins } from "../core/config.ts";
import { createHttpApp } from "../core/http/app.ts";
import { ShoalNode } from "../core/node.ts";
import { nodeSettings } from "../core/node-settings.ts";
import { ClientSession } from "../core/protocol/session.ts";
import { RespGuard } from "../transports/resp-server.ts";
import { denoRefusalMessage, denoRefusals } from "./deno-support.ts";
import { sampleEventLoopLag } from "./event-loop-lag.ts";
import { type Fetch, limitedFetch } from "./http-limits.ts";
import { createLogger } from "./log.ts";
import { processProbe } from "./process-probe.ts";
import { untilStopped } from "./shutdown.ts";

/** The slice of the Deno namespace this file uses (tsc runs with Bun's types). */
interface DenoConn {
  readonly remoteAddr: { hostname?: string; port?: number };
  read(buf: Uint8Array): Promise<number | null>;
  write(buf: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(on: boolean): void;
}
interface DenoApi {
  args: string[];
  env: { toObject(): Record<string, string> };
  readTextFileSync(path: string): string;
  hostname(): string;
  exit(code: number): never;
  addSignalListener(signal: "SIGINT" | "SIGTERM", fn: () => void): void;
  listen(opts: { hostname: string; port: number; transport: "tcp" }): AsyncIterable<DenoConn> & { addr: { port: number }; close(): void };
  serve(
    opts: { hostname: string; port: number; onListen?: (addr: { port: number }) => void },
    handler: (req: Request, info: { remoteAddr: { hostname: string; port: number } }) => Response | Promise<Response>,
  ): { shutdown(): Promise<void>; addr: { port: number } };
  errors: { NotFound: new (...args: never[]) => Error };
}
declare const Deno: DenoApi;

const enc = new TextEncoder();
const MAX_CLIENTS_REPLY = enc.encode("-ERR max number of clients reached\r\n");
const MAX_PER_IP_REPLY = enc.encode("-ERR max number of clients from this IP address reached\r\n");

/** Refuses a connection with `reply` (counted and logged like on Bun). */
async function refuse(node: ShoalNode, guard: RespGuard, conn: DenoConn, reply: Uint8Array, reason: string, fields: Record<string, unknown>): Promise<void> {
  node.stats.rejectedConnections++;
  guard.refusals.refuse(reason, fields);
  await conn.write(reply).catch(() => 0);
  conn.close();
}

/** Serves one RESP connection: reads into the session, writes replies in order, closes a client whose unsent replies pass the output-buffer limit. */
async function serveConn(node: ShoalNode, guard: RespGuard, conn: DenoConn): Promise<void> {
  const ip = conn.remoteAddr.hostname ?? "";
  const remote = `${ip || "?"}:${conn.remoteAddr.port ?? 0}`;
  if (!node.acceptsClient()) return refuse(node, guard, conn, MAX_CLIENTS_REPLY, "max number of clients reached", { remote, maxclients: node.config.maxClients });
  if (!guard.admit(ip)) {
    return refuse(node, guard, conn, MAX_PER_IP_REPLY, "max number of clients from this IP address reached", { remote, maxClientsPerIp: guard.limits.maxClientsPerIp });
  }
  conn.setNoDelay?.(true);
  let writing: Promise<unknown> = Promise.resolve();
  let queued = 0; // reply bytes handed to write() that the kernel has not taken yet
  let closed = false;
  const closeConn = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  const writeAll = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length; ) at += await conn.write(bytes.subarray(at));
  };
  const session: ClientSession = new ClientSession(node, {
    remote,
    write(bytes) {
      if (closed) return;
      const copy = bytes.slice();
      queued += copy.length;
      const limit = guard.outputLimit(session);
      if (limit > 0 && queued > limit) {
        guard.refusals.refuse("output buffer limit reached", { remote, queuedBytes: queued, limit, subscribed: session.subscribed });
        closeConn();
        return;
      }
      writing = writing
        .then(() => (closed ? undefined : writeAll(copy)))
        .then(() => {
          queued -= copy.length;
        })
        .catch(closeConn);
    },
    close() {
      writing = writing.then(closeConn, closeConn);
    },
  });
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      session.onData(buf.slice(0, n));
    }
  } catch {
    // reset by peer or closed by us
  } finally {
    session.onClose();
    await writing;
    closeConn();
    guard.release(ip);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "serve") {
    console.error("usage: deno run -A --unstable-net cmd/deno-main.ts serve [flags]  (only 'serve' runs on Deno)");
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(configHelp());
    return 0;
  }
  const readFile = (path: string): string | null => {
    try {
      return Deno.readTextFileSync(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  };
  let loaded: ReturnType<typeof loadConfigWithOrigins>;
  try {
    loaded = loadConfigWithOrigins({ argv: rest, env: Deno.env.toObject(), readFile, hostname: Deno.hostname() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`shoal: ${err.message}\nRun 'shoal serve --help' for the list of settings.`);
    return 2;
  }
  const refused = denoRefusals(loaded);
  if (refused.length > 0) {
    console.error(denoRefusalMessage(refused));
    return 2;
  }
  const config = loaded.config;
  const log = createLogger({ format: config.logFormat, level: config.logLevel });
  // --acl-file: the same Redis-syntax users as under Bun (cmd/security.ts reads it with node:fs there)
  const acl = config.aclFile === undefined ? {} : { aclLines: Deno.readTextFileSync(config.aclFile).split(/\r?\n/), aclSource: config.aclFile };
  const node = new ShoalNode({ config: { ...nodeSettings(config), ...acl }, clock: systemClock, rng: systemRng(), log, process: processProbe("deno") });
  const listener = Deno.listen({ hostname: config.bind, port: config.port, transport: "tcp" });
  const guard = new RespGuard(
    { maxClientsPerIp: config.maxClientsPerIp, maxOutputBufferBytes: config.maxOutputBufferBytes, maxPubsubOutputBufferBytes: config.maxPubsubOutputBufferBytes },
    log,
  );
  const app = createHttpApp(node, {
    auth: node,
    maxValueBytes: config.maxValueBytes,
    maxKeyBytes: config.maxKeyBytes,
  });
  // the request limits read the client's IP through Bun's server.requestIP: hand them Deno's remoteAddr the same way
  const limited = limitedFetch((req) => app.fetch(req), config, log);
  const http = Deno.serve({ hostname: config.bind, port: config.httpPort, onListen: () => {} }, (req, info) =>
    limited(req, { requestIP: () => ({ address: info.remoteAddr.hostname, family: "", port: info.remoteAddr.port }) } as unknown as Parameters<Fetch>[1]),
  );
  node.start();
  const lagSampler = sampleEventLoopLag(node.stats.eventLoopLag, systemClock);
  log.info("shoal listening", { runtime: "deno", node: node.config.nodeName, resp: `${config.bind}:${listener.addr.port}`, http: `http://${config.bind}:${http.addr.port}` });
  const accepting = (async () => {
    try {
      for await (const conn of listener) void serveConn(node, guard, conn);
    } catch {
      // listener closed
    }
  })();
  const close = async (): Promise<void> => {
    lagSampler.stop();
    node.stop();
    try {
      listener.close();
    } catch {
      // already closed
    }
    await Promise.all([http.shutdown(), accepting]);
  };
  return await untilStopped(close, log, 5000, (signal, handler) => Deno.addSignalListener(signal, handler));
}

main(Deno.args).then(
  (code) => Deno.exit(code),
  (err: Error) => {
    console.error(`shoal: ${err.stack ?? err.message}`);
    Deno.exit(1);
  },
);
