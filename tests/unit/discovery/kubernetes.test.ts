/** kubernetes plugin against the HTTPS API-server fixture (list + watch of EndpointSlices). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubernetesDiscovery, kubernetesSchema } from "../../../plugins/discovery/kubernetes.ts";
import { endpointSlice, K8sFixture, pod } from "../../fixtures/k8s-server.ts";
import { type DiscoveryHarness, RecordingLogger, runDiscoveryContract, until } from "./contract.ts";

const TOKEN = "sa-token-123";
let k8s: K8sFixture;
let dir: string;
let env: Record<string, string>;
let nsCounter = 0;

beforeAll(async () => {
  k8s = await K8sFixture.start(TOKEN);
  dir = mkdtempSync(join(tmpdir(), "shoal-k8s-"));
  writeFileSync(join(dir, "token"), `${TOKEN}\n`);
  writeFileSync(join(dir, "ca.crt"), k8s.cert.cert);
  writeFileSync(join(dir, "namespace"), "from-file\n");
  env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(k8s.port) };
});
afterAll(async () => {
  await k8s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const slice = (peers: string[]) =>
  endpointSlice(
    "shoal-x7k2p",
    "shoal",
    peers.map((p) => ({ ip: p.split(":")[0]!, ready: true })),
  );

/** In-cluster plugin on a fresh namespace of the shared fixture. */
function inCluster(ns: string, logger = new RecordingLogger(), extra: Record<string, unknown> = {}) {
  const config = kubernetesSchema.parse({ service: "shoal", namespace: ns, serviceAccountDir: dir, retry: "50ms", ...extra });
  return new KubernetesDiscovery(config, logger, env);
}

runDiscoveryContract("kubernetes (fixture)", async (initial): Promise<DiscoveryHarness> => {
  const ns = `contract-${++nsCounter}`;
  k8s.apply(ns, slice(initial));
  const logger = new RecordingLogger();
  return {
    discovery: inCluster(ns, logger),
    logger,
    setPeers: async (peers) => k8s.apply(ns, slice(peers)),
    breakSource: async () => k8s.fail(503),
    healSource: async () => k8s.fail(undefined),
    close: async () => k8s.fail(undefined),
  };
});

describe("kubernetes plugin", () => {
  test("rejects requests without the bearer token (401 Status)", async () => {
    const res = await fetch(`${k8s.url}/apis/discovery.k8s.io/v1/namespaces/x/endpointslices`, {
      tls: { ca: k8s.cert.cert },
    } as RequestInit);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { reason: string }).reason).toBe("Unauthorized");
  });

  test("watches: only ready endpoints, named peer port, other services ignored, slice deletion", async () => {
    const ns = "watch";
    k8s.apply(ns, endpointSlice("shoal-a", "shoal", [{ ip: "10.0.0.1", ready: true }, { ip: "10.0.0.2", ready: false }, { ip: "10.0.0.3" }], 4000));
    k8s.apply(ns, endpointSlice("other-a", "other", [{ ip: "10.9.9.9", ready: true }]));
    const d = inCluster(ns);
    const reports: string[][] = [];
    let seenAt = 0;
    await d.start((p) => {
      seenAt = performance.now();
      reports.push(p.map((x) => x.address));
    });
    expect(reports[0]).toEqual(["10.0.0.1:4000", "10.0.0.3:4000"]);
    const t0 = performance.now();
    k8s.apply(ns, endpointSlice("shoal-b", "shoal", [{ ip: "fd00::5", ready: true }], 4000));
    await until(() => reports.length === 2, 3000, "ADDED slice");
    console.log(`kubernetes: change noticed after ${(seenAt - t0).toFixed(1)} ms (watch)`);
    expect(reports[1]).toEqual(["10.0.0.1:4000", "10.0.0.3:4000", "[fd00::5]:4000"]);
    k8s.apply(ns, endpointSlice("other-a", "other", [{ ip: "10.9.9.8", ready: true }]));
    k8s.delete(ns, "shoal-a");
    await until(() => reports.length === 3, 3000, "DELETED slice");
    expect(reports[2]).toEqual(["[fd00::5]:4000"]);
    await d.stop();
  });

  test("410 Gone on watch → relist, then watch again from the new resourceVersion", async () => {
    const ns = "expiry";
    k8s.apply(ns, slice(["10.1.0.1:3322"]));
    const logger = new RecordingLogger();
    const d = inCluster(ns, logger, { watchTimeout: "1s" });
    const reports: string[][] = [];
    await d.start((p) => reports.push(p.map((x) => x.address)));
    await until(() => k8s.openWatches() > 0, 3000, "watch open");
    k8s.fail(503); // drop the watch …
    k8s.apply(ns, slice(["10.1.0.1:3322", "10.1.0.2:3322"])); // … change while it is gone …
    k8s.compact(); // … and compact history so the resume point is too old
    const listsBefore = k8s.requests.filter((r) => r === "list").length;
    k8s.fail(undefined);
    await until(() => reports.length === 2, 5000, "relist after 410");
    expect(reports[1]).toEqual(["10.1.0.1:3322", "10.1.0.2:3322"]);
    expect(k8s.requests.filter((r) => r === "list").length).toBeGreaterThan(listsBefore);
    expect(logger.lines.some((l) => l.event === "discovery.kubernetes.relist")).toBe(true);
    k8s.bookmark();
    await d.stop();
  });

  test("selector without service watches Pods: Ready pods only, container port named peer, label filtering", async () => {
    const ns = "pods";
    const app = { app: "shoal" };
    k8s.apply(ns, pod("shoal-0", app, "10.3.0.1", true, 4100));
    k8s.apply(ns, pod("shoal-1", app, "10.3.0.2", false, 4100));
    k8s.apply(ns, pod("web-0", { app: "web" }, "10.3.0.9", true));
    const d = inCluster(ns, new RecordingLogger(), { service: undefined, selector: "app=shoal" });
    const reports: string[][] = [];
    await d.start((p) => reports.push(p.map((x) => x.address)));
    expect(reports[0]).toEqual(["10.3.0.1:4100"]);
    k8s.apply(ns, pod("shoal-1", app, "10.3.0.2", true, 4100));
    await until(() => reports.length === 2, 3000, "pod turning Ready");
    expect(reports[1]).toEqual(["10.3.0.1:4100", "10.3.0.2:4100"]);
    k8s.delete(ns, "shoal-0", "pods");
    await until(() => reports.length === 3, 3000, "pod deletion");
    expect(reports[2]).toEqual(["10.3.0.2:4100"]);
    expect(k8s.requests).toContain("list:pods");
    await d.stop();
  });

  test("kubeconfig: server, CA data, token and context namespace", async () => {
    k8s.apply("kcns", slice(["10.2.0.1:3322"]));
    const path = join(dir, "kubeconfig.yaml");
    writeFileSync(
      path,
      `apiVersion: v1
kind: Config
current-context: test
contexts:
- name: test
  context: { cluster: fixture, user: shoal, namespace: kcns }
clusters:
- name: fixture
  cluster:
    server: ${k8s.url}
    certificate-authority-data: ${Buffer.from(k8s.cert.cert).toString("base64")}
users:
- name: shoal
  user: { token: ${TOKEN} }
`,
    );
    const d = new KubernetesDiscovery(kubernetesSchema.parse({ service: "shoal", kubeconfig: path }), new RecordingLogger(), {});
    expect(d.namespace).toBe("kcns");
    let got: string[] = [];
    await d.start((p) => {
      got = p.map((x) => x.address);
    });
    expect(got).toEqual(["10.2.0.1:3322"]);
    await d.stop();
  });

  test("config errors: no service/selector, not in a cluster, missing token file, untrusted CA", async () => {
    expect(kubernetesSchema.safeParse({}).error?.issues[0]?.message).toContain("give service");
    const parsed = kubernetesSchema.parse({ service: "s", serviceAccountDir: dir });
    expect(() => new KubernetesDiscovery(parsed, new RecordingLogger(), {})).toThrow(/KUBERNETES_SERVICE_HOST\/PORT unset/);
    const noToken = kubernetesSchema.parse({ service: "s", serviceAccountDir: "/nonexistent" });
    expect(() => new KubernetesDiscovery(noToken, new RecordingLogger(), env)).toThrow(/missing token file \/nonexistent\/token/);
    const logger = new RecordingLogger();
    const d = new KubernetesDiscovery(parsed, logger, env);
    expect(d.namespace).toBe("from-file");
    const other = mkdtempSync(join(tmpdir(), "shoal-k8s-badca-"));
    writeFileSync(join(other, "token"), TOKEN);
    writeFileSync(join(other, "ca.crt"), (await (await import("../../fixtures/k8s-server.ts")).makeSelfSignedCert()).cert);
    const badCa = new KubernetesDiscovery(kubernetesSchema.parse({ service: "s", serviceAccountDir: other, retry: "1s" }), logger, env);
    await badCa.start(() => {});
    await badCa.stop();
    rmSync(other, { recursive: true, force: true });
    expect(logger.warnings()).toBeGreaterThan(0);
  });
});
