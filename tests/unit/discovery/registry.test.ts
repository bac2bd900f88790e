import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiscoveryConfigError } from "../../../plugins/discovery/contract.ts";
import { createDiscovery, knownKinds, loadExternalPlugin } from "../../../plugins/discovery/registry.ts";
import { type DiscoveryHarness, RecordingLogger, runDiscoveryContract } from "./contract.ts";

const dir = mkdtempSync(join(tmpdir(), "shoal-discovery-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("createDiscovery", () => {
  test("knows the four built-in plugins", () => {
    expect(knownKinds().sort()).toEqual(["consul", "dns", "kubernetes", "static"]);
  });

  test("unknown kind lists the known ones", () => {
    expect(() => createDiscovery("etcd", {}, new RecordingLogger())).toThrow(
      /unknown discovery plugin "etcd"; known: .*static.*dns.*consul.*kubernetes/,
    );
  });

  test("invalid section names the plugin and field", () => {
    const err = (() => {
      try {
        createDiscovery("static", { peers: "a:99999" }, new RecordingLogger());
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DiscoveryConfigError);
    expect((err as Error).message).toMatch(/discovery static: invalid config\n {2}peers(\.0)?: expected "host:port"/);
  });

  test("builds a working static discovery", async () => {
    const d = createDiscovery("static", { peers: ["10.1.1.1:3322", "10.1.1.2:3322"] }, new RecordingLogger());
    let got: string[] = [];
    await d.start((p) => {
      got = p.map((x) => x.address);
    });
    expect(got).toEqual(["10.1.1.1:3322", "10.1.1.2:3322"]);
    await d.stop();
  });
});

describe("loadExternalPlugin", () => {
  test("rejects a module without create()", async () => {
    const bad = join(dir, "bad.ts");
    writeFileSync(bad, "export const nothing = 1;\n");
    await expect(loadExternalPlugin(bad)).rejects.toThrow(/must export create\(config, logger\): Discovery.*nothing/);
  });

  test("reports a module that cannot be loaded", async () => {
    await expect(loadExternalPlugin("./does-not-exist.ts", dir)).rejects.toThrow(/cannot load module/);
  });

  test("validates config with the module's schema", async () => {
    const plugin = await loadExternalPlugin("plugins/discovery/examples/file-plugin.ts");
    expect(plugin.kind).toBe("file");
    expect(() => plugin.create({ path: "" }, new RecordingLogger())).toThrow(/discovery file: invalid config/);
  });
});

/** The example file plugin, loaded through loadExternalPlugin, passes the contract too. */
runDiscoveryContract("external file-plugin", async (initial) => {
  const path = join(dir, `peers-${Math.random().toString(36).slice(2)}.txt`);
  const write = (peers: string[]) => writeFileSync(path, `# peers\n${peers.join("\n")}\n`);
  write(initial);
  let current = initial;
  const plugin = await loadExternalPlugin("./plugins/discovery/examples/file-plugin.ts");
  const logger = new RecordingLogger();
  const harness: DiscoveryHarness = {
    discovery: plugin.create({ path, interval: 40 }, logger),
    logger,
    setPeers: async (peers) => {
      current = peers;
      write(peers);
    },
    breakSource: async () => rmSync(path, { force: true }),
    healSource: async () => write(current),
    close: async () => rmSync(path, { force: true }),
  };
  return harness;
}, { withoutStatus: true }); // the example shows the minimal contract: no status() (the node then reports what reached onChange)
