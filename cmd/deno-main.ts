/**
 * Deno entry point: the same node as `shoal serve`, with Deno's sockets.
 * RESP is served with Deno.listen feeding core ClientSessions; HTTP with
 * Deno.serve over the hono app. Config comes from flags, SHOAL_* env and
 * shoal.yaml exactly as on Bun. Run with `deno task start`.
 */

import { systemClock, systemRng } from "../core/clock.ts";
import { ConfigError, configHelp, loadConfig } from "../core/config.ts";
import { createHttpApp } from "../core/http/app.ts";
import { ShoalNode } from "../core/node.ts";
import { nodeSettings } from "../core/node-settings.ts";
import { ClientSession } from "../core/protocol/session.ts";
import { sampleEventLoopLag } from "./event-loop-lag.ts";
import { createLogger } from "./log.ts";
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
    handler: (req: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void>; addr: { port: number } };
  errors: { NotFound: new (...args: never[]) => Error };
}
declare const Deno: DenoApi;

const MAX_CLIENTS_REPLY = new TextEncoder().encode("-ERR max number of clients reached\r\n");

/** Serves one RESP connection: reads into the session, writes replies in order. */
async function serveConn(node: ShoalNode, conn: DenoConn): Promise<void> {
  if (!node.acceptsClient()) {
    node.stats.rejectedConnections++;
    await conn.write(MAX_CLIENTS_REPLY).catch(() => 0);
    conn.close();
    return;
  }
  conn.setNoDelay?.(true);
  let writing: Promise<unknown> = Promise.resolve();
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
  const session = new ClientSession(node, {
    remote: `${conn.remoteAddr.hostname ?? "?"}:${conn.remoteAddr.port ?? 0}`,
    write(bytes) {
      const copy = bytes.slice();
      writing = writing.then(() => (closed ? undefined : writeAll(copy))).catch(closeConn);
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
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ argv: rest, env: Deno.env.toObject(), readFile, hostname: Deno.hostname() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`shoal: ${err.message}\nRun 'shoal serve --help' for the list of settings.`);
    return 2;
  }
  const log = createLogger({ format: config.logFormat, level: config.logLevel });
  // --acl-file: the same Redis-syntax users as under Bun (cmd/security.ts reads it with node:fs there)
  const acl = config.aclFile === undefined ? {} : { aclLines: Deno.readTextFileSync(config.aclFile).split(/\r?\n/), aclSource: config.aclFile };
  const node = new ShoalNode({ config: { ...nodeSettings(config), ...acl }, clock: systemClock, rng: systemRng(), log });
  const listener = Deno.listen({ hostname: config.bind, port: config.port, transport: "tcp" });
  const app = createHttpApp(node, {
    auth: node,
    maxValueBytes: config.maxValueBytes,
    maxKeyBytes: config.maxKeyBytes,
  });
  const http = Deno.serve({ hostname: config.bind, port: config.httpPort, onListen: () => {} }, app.fetch);
  node.start();
  const lagSampler = sampleEventLoopLag(node.stats.eventLoopLag, systemClock);
  log.info("shoal listening", { runtime: "deno", node: node.config.nodeName, resp: `${config.bind}:${listener.addr.port}`, http: `http://${config.bind}:${http.addr.port}` });
  const accepting = (async () => {
    try {
      for await (const conn of listener) void serveConn(node, conn);
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
