/**
 * Starts one shoal node for benchmarks: a ShoalNode with the Bun RESP
 * listener (transports/resp-server.ts), the same objects cmd/serve.ts wires,
 * without the HTTP API or the CLI's config loading.
 *
 *   bun bench/start-node.ts --port P [--max-inuse 100mb]
 *
 * Prints "ready <port>" on stdout once listening; exits on SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import { systemClock, systemRng } from "../cmd/runtime.ts";
import { ShoalNode } from "../core/node.ts";
import { parseSize } from "../core/units.ts";
import { listenResp } from "../transports/resp-server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "max-inuse": { type: "string", default: "0" },
  },
});
const port = Number(values.port);
const maxInuse = parseSize(values["max-inuse"] ?? "0");
if (!Number.isInteger(port) || maxInuse === null) {
  console.error("usage: bun bench/start-node.ts --port P [--max-inuse SIZE]");
  process.exit(2);
}
const node = new ShoalNode({
  config: { port, mapDefaults: { ttlMs: 0, maxIdleMs: 0, maxKeys: 0, maxInuse } },
  clock: systemClock,
  rng: systemRng(),
});
const listener = listenResp(node, "127.0.0.1", port);
node.start();
console.log(`ready ${listener.port}`);
const stop = (): void => {
  node.stop();
  listener.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
