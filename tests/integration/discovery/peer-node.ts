/**
 * A stand-in node process for multi-process discovery tests: listens on a TCP
 * port, runs one discovery plugin (SHOAL_TEST_DISCOVERY kind +
 * SHOAL_TEST_SECTION JSON; for consul it self-registers with its own port),
 * dials every discovered peer, and prints JSON lines:
 *   {"self":"127.0.0.1:P"} once, then {"peers":[…],"reached":[…]} on every change.
 * SIGTERM stops discovery (deregistering) and exits.
 */
import { createDiscovery } from "../../../plugins/discovery/registry.ts";

const kind = process.env.SHOAL_TEST_DISCOVERY ?? "static";
const section = JSON.parse(process.env.SHOAL_TEST_SECTION ?? "{}") as Record<string, unknown>;
const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const listener = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data: (s, d) => {
      s.write(`ok ${d.toString().trim()}\n`);
    },
  },
});
const self = `127.0.0.1:${listener.port}`;
if (kind === "consul") section.registration = { address: "127.0.0.1", port: listener.port, id: `node-${listener.port}`, ttl: "300ms", deregisterAfter: "1m" };
print({ self });

/** Dials `address`, says hello, resolves true on the echo. */
function reach(address: string): Promise<boolean> {
  const i = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 1000);
    Bun.connect({
      hostname: address.slice(0, i),
      port: Number(address.slice(i + 1)),
      socket: {
        open: (s) => void s.write(`hello ${self}\n`),
        data: (s, d) => {
          clearTimeout(timer);
          resolve(d.toString().startsWith("ok"));
          s.end();
        },
        error: () => resolve(false),
        connectError: () => resolve(false),
      },
    }).catch(() => resolve(false));
  });
}

const logger = {
  info: (event: string, fields?: Record<string, unknown>) => console.error(JSON.stringify({ level: "info", event, ...fields })),
  warn: (event: string, fields?: Record<string, unknown>) => console.error(JSON.stringify({ level: "warn", event, ...fields })),
  error: (event: string, fields?: Record<string, unknown>) => console.error(JSON.stringify({ level: "error", event, ...fields })),
};
const discovery = createDiscovery(kind, section, logger);
let reports = Promise.resolve(); // one report at a time, in order
await discovery.start((peers) => {
  reports = reports.then(async () => {
    const addresses = peers.map((p) => p.address);
    const reached = [];
    for (const a of addresses) if (a !== self && (await reach(a))) reached.push(a);
    print({ peers: addresses, reached });
  });
});

process.on("SIGTERM", async () => {
  await discovery.stop();
  listener.stop(true);
  process.exit(0);
});
