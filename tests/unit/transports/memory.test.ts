/**
 * Runs the shared contract over the in-process memory transport when
 * transports/memory.ts exists (it is written separately). The module is
 * loaded dynamically so this file type-checks and runs before it lands.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { systemClock } from "../../../core/clock.ts";
import type { Transport } from "../../../core/transport.ts";
import { runTransportContract } from "./contract.ts";

const modulePath = join(import.meta.dir, "../../../transports/memory.ts");
// biome-ignore lint/suspicious/noExplicitAny: the module's shape is unknown until it lands
type AnyModule = Record<string, any>;

/** Finds a factory of transports sharing one in-process network, whatever the module's exact shape. */
function factoryFrom(mod: AnyModule): (() => Transport) | undefined {
  const Network = mod.MemoryNetwork;
  if (typeof Network === "function") {
    const net = Network.length > 0 ? new Network({ clock: systemClock }) : new Network();
    if (typeof net.transport === "function") return () => net.transport();
    if (typeof mod.MemoryTransport === "function") return () => new mod.MemoryTransport(net);
  }
  if (typeof mod.createMemoryNetwork === "function") {
    const net = mod.createMemoryNetwork({ clock: systemClock });
    return () => (typeof net.transport === "function" ? net.transport() : net);
  }
  if (typeof mod.MemoryTransport === "function") {
    const shared = new mod.MemoryTransport();
    return () => shared;
  }
  return undefined;
}

if (existsSync(modulePath)) {
  const mod: AnyModule = await import(modulePath);
  const factory = factoryFrom(mod);
  if (factory) {
    let n = 0;
    runTransportContract("memory", factory, { listenAddress: () => `mem-node-${++n}` });
  } else {
    describe("transport contract: memory", () => {
      test("transports/memory.ts exposes a recognised factory", () => {
        expect(Object.keys(mod)).toContain("MemoryNetwork");
      });
    });
  }
} else {
  test("transport contract: memory", () => {
    throw new Error("transports/memory.ts is missing: the in-process transport the simulator and contract tests rely on");
  });
}
