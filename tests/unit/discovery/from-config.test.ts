import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { discoveryFromConfig, sectionFor } from "../../../plugins/discovery/from-config.ts";
import { RecordingLogger } from "./contract.ts";

const dir = mkdtempSync(join(tmpdir(), "shoal-fromcfg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("discoveryFromConfig", () => {
  test("maps flat flags onto plugin sections; discoveryOptions override", () => {
    expect(sectionFor({ discovery: "dns", dnsName: "_s._tcp.x", dnsIntervalMs: 2000, discoveryOptions: { timeout: "3s" } })).toEqual({
      name: "_s._tcp.x",
      interval: 2000,
      timeout: "3s",
    });
    expect(
      sectionFor(
        { discovery: "consul", consulAddr: "http://c:8500", consulService: "shoal", consulRegister: true },
        { host: "10.0.0.5", port: 3322, name: "n1" },
      ),
    ).toEqual({
      addr: "http://c:8500",
      service: "shoal",
      register: true,
      registration: { address: "10.0.0.5", port: 3322, id: "n1" },
    });
    expect(sectionFor({ discovery: "kubernetes", k8sService: "shoal-peers", k8sNamespace: "ns" })).toEqual({
      service: "shoal-peers",
      namespace: "ns",
    });
  });

  test("static with no peers is a valid single-node setup", async () => {
    const d = await discoveryFromConfig({ discovery: "static", peers: [] }, new RecordingLogger());
    let got: unknown;
    await d.start((p) => {
      got = p;
    });
    await d.stop();
    expect(got).toEqual([]);
  });

  test("errors name the bad setting: dns without a name, unknown kind, plugin without a path", async () => {
    await expect(discoveryFromConfig({ discovery: "dns" }, new RecordingLogger())).rejects.toThrow(/discovery dns: invalid config\n {2}name: /);
    await expect(discoveryFromConfig({ discovery: "zookeeper" }, new RecordingLogger())).rejects.toThrow(/known: static, dns, consul, kubernetes/);
    await expect(discoveryFromConfig({ discovery: "plugin" }, new RecordingLogger())).rejects.toThrow(/--discovery-plugin/);
  });

  test("--discovery-plugin loads the example file plugin with discoveryOptions", async () => {
    const path = join(dir, "peers.txt");
    writeFileSync(path, "10.0.0.1:3322\n10.0.0.2:3322 # second\n");
    const d = await discoveryFromConfig(
      { discovery: "static", discoveryPlugin: "./plugins/discovery/examples/file-plugin.ts", discoveryOptions: { path } },
      new RecordingLogger(),
    );
    let got: string[] = [];
    await d.start((p) => {
      got = p.map((x) => x.address);
    });
    await d.stop();
    expect(d.name).toBe("file");
    expect(got).toEqual(["10.0.0.1:3322", "10.0.0.2:3322"]);
  });
});
