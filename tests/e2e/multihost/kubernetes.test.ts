/**
 * deploy/kubernetes/ for real: the StatefulSet's own container args, env,
 * volumes and security context (kubelet.ts) start three "pods" on namespace
 * hosts, each with its pod IP, against the Kubernetes API fixture running as
 * a process in a fourth host and serving the EndpointSlices of the headless
 * peer Service. The pods must pass their readiness and liveness probes, form
 * one cluster named by pod IPs, and survive a pod deletion: the pod is
 * terminated (SIGTERM, SIGKILL after the grace period), its endpoint removed,
 * and a new pod with the same name starts on another host with a new IP; the
 * cluster heals to three members and every acknowledged key is still there.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { endpointSlice, makeSelfSignedCert } from "../../fixtures/k8s-server.ts";
import { CLIENT_OPS } from "../../helpers/netns-client-ops.ts";
import type { Host, LabProcess } from "../../helpers/netns-hosts.ts";
import { describeIf } from "../../helpers/prerequisites.ts";
import { requireBinary } from "../binary.ts";
import { type ClusterFacts, containerPort, loadManifests, type PodSpec, runPod } from "./kubelet.ts";
import { type NodeView, OPS, type WriteResult } from "./ops.ts";
import { RESP_PORT, requireLab, ShoalHosts, UNAVAILABLE } from "./shoal-hosts.ts";

const NS = "shoal";

/** Polls `cond` every 20 ms until true or `ms` passed. */
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(20)) if (cond()) return true;
  return cond();
}
const TOKEN = "shoal-test-sa-token";

describeIf(UNAVAILABLE)("deploy/kubernetes on namespace hosts", () => {
  let s: ShoalHosts | undefined;
  const dir = mkdtempSync(join(tmpdir(), "shf-k8s-"));
  afterAll(async () => {
    await s?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the StatefulSet's pods form a cluster, pass their probes, and heal after a pod is deleted and recreated", async () => {
    requireLab();
    const manifests = loadManifests();
    const sts = manifests.find((d) => d.kind === "StatefulSet");
    const spec = sts.spec.template.spec;
    const container = spec.containers[0];
    const replicas: number = sts.spec.replicas;
    expect(container.image).toBe(`shoal:${(await import("../../../package.json")).version}`);
    const peerService = manifests.find((d) => d.kind === "Service" && d.metadata.name === sts.spec.serviceName);
    const peerPort = peerService.spec.ports.find((p: { name: string }) => p.name === "peer");

    // replicas pods + one spare host for the rescheduled pod; c0 runs the API server and the client
    s = await ShoalHosts.create({ hosts: replicas + 1, clients: 1 });
    const lab = s;
    const c0 = lab.lab.clients[0]!;
    const cert = await makeSelfSignedCert([c0.ip]);
    writeFileSync(join(dir, "cert.pem"), cert.cert);
    writeFileSync(join(dir, "key.pem"), cert.key);
    const api = lab.lab.spawn(c0, [process.execPath, "tests/fixtures/k8s-server.ts", "--host", c0.ip, "--port", "6443", "--cert", join(dir, "cert.pem"), "--key", join(dir, "key.pem"), "--token", TOKEN], {
      stdin: "pipe",
    });
    let answered = 0;
    const control = async (cmd: object) => {
      const stdin = api.proc.stdin as import("bun").FileSink;
      stdin.write(`${JSON.stringify(cmd)}\n`);
      stdin.flush();
      answered++;
      for (let i = 0; i < 100 && (api.output().match(/^(ok|error) /gm)?.length ?? 0) < answered; i++) await Bun.sleep(20);
      const last = api.output().match(/^(ok|error) .*$/gm)?.at(-1);
      if (!last?.startsWith("ok")) throw new Error(`k8s fixture: ${last ?? "no answer"}\n${api.output()}`);
    };
    const slice = (pods: PodSpec[]) =>
      endpointSlice(`${peerService.metadata.name}-abcde`, peerService.metadata.name, pods.map((p) => ({ ip: p.ip, ready: true, pod: p.name })), containerPort(manifests, peerPort.targetPort), peerPort.name);

    const facts: ClusterFacts = {
      apiHost: c0.ip,
      apiPort: 6443,
      caPem: cert.cert,
      token: TOKEN,
      secrets: { "shoal-cluster-key": { "cluster.key": `${crypto.getRandomValues(new Uint8Array(32)).reduce((a, b) => a + b.toString(16).padStart(2, "0"), "")}\n` } },
      clusterIps: { shoal: "10.96.0.20" },
      binary: requireBinary(),
      workDir: dir,
    };
    const pods: PodSpec[] = Array.from({ length: replicas }, (_, i) => ({ name: `${sts.metadata.name}-${i}`, namespace: NS, ip: lab.hosts[i]!.ip, host: lab.hosts[i]! }));
    const procs = new Map<string, LabProcess>();
    const start = (p: PodSpec) => procs.set(p.name, runPod(lab.lab, p, manifests, facts));
    const logs = () => [...procs].map(([n, p]) => `--- ${n} ---\n${p.output().slice(-3000)}`).join("\n") + `\n--- api ---\n${api.output().slice(-2000)}`;

    if (!(await waitFor(() => api.output().includes("k8s fixture listening"), 10_000))) throw new Error(`the API fixture did not start: ${api.output()}`);
    await control({ op: "apply", ns: NS, object: slice(pods) }); // publishNotReadyAddresses: every pod with an IP is listed
    for (const p of pods) start(p);

    const probe = async (p: PodSpec, which: "readinessProbe" | "livenessProbe") => {
      const g = container[which].httpGet;
      const pod = procs.get(p.name)!;
      // a pod that exits (CrashLoopBackOff) fails the test at once
      const crashed = pod.exited.then((code) => {
        throw new Error(`pod ${p.name} exited with ${code}`);
      });
      await Promise.race([lab.agent.call(CLIENT_OPS, "waitHttp", [`http://${p.ip}:${containerPort(manifests, g.port)}${g.path}`, 200, 30_000]), crashed]);
    };
    const members = (ps: PodSpec[]) => ps.map((p) => `${p.ip}:${containerPort(manifests, "peer")}`);
    const httpPort = containerPort(manifests, "http");
    try {
      for (const p of pods) {
        await probe(p, "readinessProbe");
        await probe(p, "livenessProbe");
      }
      const views = await lab.agent.call<NodeView[]>(OPS, "waitCluster", [pods.map((p) => p.ip), httpPort, members(pods), 30_000]);
      expect(views.map((v) => v.self)).toEqual(members(pods)); // SHOAL_ADVERTISE=$(POD_IP) names each member
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }

    const w = await lab.agent.call<WriteResult>(OPS, "writeKeys", [pods[0]!.ip, containerPort(manifests, "resp"), "k8s", 0, 1000]);
    expect(w.acked.length).toBe(1000);

    // kubectl delete pod shoal-1: SIGTERM, SIGKILL after the grace period; the endpoint goes away
    const victim = pods[1]!;
    const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const code = await procs.get(victim.name)!.stop(grace);
    expect(code).toBe(0); // it left gracefully within the grace period
    const survivors = pods.filter((p) => p !== victim);
    await control({ op: "apply", ns: NS, object: slice(survivors) });
    // the StatefulSet controller recreates shoal-1; the scheduler puts it on another node: new pod IP
    const spare: Host = lab.hosts[replicas]!;
    const reborn: PodSpec = { ...victim, ip: spare.ip, host: spare };
    const now = [...survivors, reborn].sort((a, b) => a.name.localeCompare(b.name));
    await control({ op: "apply", ns: NS, object: slice(now) });
    start(reborn);
    try {
      await probe(reborn, "readinessProbe");
      await lab.agent.call(OPS, "waitCluster", [now.map((p) => p.ip), httpPort, members(now), 30_000]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }
    for (const p of now) {
      expect(await lab.agent.call<string[]>(OPS, "readKeysPlain", [p.ip, RESP_PORT, "k8s", w.acked])).toEqual([]);
    }
    const viaCluster = await lab.agent.call<{ wrong: string[]; nodes: string[] }>(OPS, "readKeysCluster", [[{ host: reborn.ip, port: RESP_PORT }], "k8s", w.acked]);
    expect(viaCluster.wrong).toEqual([]);
    expect(viaCluster.nodes.sort()).toEqual(now.map((p) => `${p.ip}:${RESP_PORT}`).sort());
  }, 120_000);
});
