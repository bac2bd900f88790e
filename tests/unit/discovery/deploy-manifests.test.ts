/** The deploy/kubernetes manifests parse and agree with each other and with the plugin's defaults. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../../../core/config.ts";

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON; the assertions check the shape
type Json = any;
type Doc = { kind: string; metadata: { name: string }; spec?: Json; rules?: Json; subjects?: Json; roleRef?: Json };
const load = (file: string): Doc[] =>
  parseAllDocuments(readFileSync(`deploy/kubernetes/${file}`, "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return d.toJSON() as Doc;
  });

describe("deploy/kubernetes", () => {
  const docs = ["rbac.yaml", "services.yaml", "statefulset.yaml", "pdb.yaml"].flatMap(load);
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

  test("RBAC grants exactly get/list/watch on endpointslices to the pods' service account", () => {
    const [role] = byKind("Role");
    expect(role!.rules).toEqual([{ apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] }]);
    const [binding] = byKind("RoleBinding");
    expect(binding!.roleRef.name).toBe(role!.metadata.name);
    const sts = byKind("StatefulSet")[0]!;
    expect(binding!.subjects[0].name).toBe(sts.spec.template.spec.serviceAccountName);
  });

  test("headless peer service exposes the port named 'peer' that the plugin looks for; discovery targets it", () => {
    const peers = byKind("Service").find((s) => s.spec.clusterIP === "None")!;
    expect(peers.spec.ports.map((p: { name: string }) => p.name)).toContain("peer");
    const sts = byKind("StatefulSet")[0]!;
    expect(sts.spec.serviceName).toBe(peers.metadata.name);
    const env = Object.fromEntries(sts.spec.template.spec.containers[0].env.map((e: Json) => [e.name, e.value]));
    expect(env.SHOAL_DISCOVERY).toBe("kubernetes");
    expect(env.SHOAL_K8S_SERVICE).toBe(peers.metadata.name);
  });

  test("readiness probe is GET /readyz on the HTTP port 3380; PDB selects the pods", () => {
    const c = byKind("StatefulSet")[0]!.spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    const http = c.ports.find((p: { name: string }) => p.name === c.readinessProbe.httpGet.port);
    expect(http.containerPort).toBe(3380);
    const pdb = byKind("PodDisruptionBudget")[0]!;
    expect(pdb.spec.selector.matchLabels).toEqual(byKind("StatefulSet")[0]!.spec.selector.matchLabels);
  });

  test("peers authenticate: the cluster key file comes from a read-only Secret volume", () => {
    const spec = byKind("StatefulSet")[0]!.spec.template.spec;
    const c = spec.containers[0];
    const env = Object.fromEntries(c.env.map((e: Json) => [e.name, e.value]));
    const file: string = env.SHOAL_CLUSTER_KEY_FILE;
    const mount = c.volumeMounts.find((m: Json) => file.startsWith(`${m.mountPath}/`));
    expect(mount.readOnly).toBe(true);
    const volume = spec.volumes.find((v: Json) => v.name === mount.name);
    expect(volume.secret.secretName).toBe("shoal-cluster-key");
  });

  test("every SHOAL_* variable of the pod is a setting shoal reads (an unknown one would stop the pod)", () => {
    const c = byKind("StatefulSet")[0]!.spec.template.spec.containers[0];
    const env: Record<string, string> = {};
    for (const e of c.env as { name: string; value?: string }[]) {
      if (e.name.startsWith("SHOAL_")) env[e.name] = String(e.value).replace("$(POD_IP)", "10.1.2.3").replace("$(POD_NAME)", "shoal-0");
    }
    expect(Object.keys(env).length).toBeGreaterThan(3);
    const cfg = loadConfig({ argv: [], env, readFile: () => null, hostname: "shoal-0" });
    expect(cfg.bind).toBe(env.SHOAL_BIND);
    expect(cfg.clusterKeyFile).toBe(env.SHOAL_CLUSTER_KEY_FILE);
  });
});
