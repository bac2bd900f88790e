/**
 * A tiny kubelet for the Kubernetes manifest test: turns the StatefulSet in
 * deploy/kubernetes/ into pod processes on namespace hosts, doing what a
 * kubelet does with the fields the manifest uses — and refusing any field it
 * does not know, so the test cannot silently ignore part of the manifest:
 *
 * - command: the image's ENTRYPOINT (read from deploy/docker/Dockerfile, its
 *   binary path mapped to dist/shoal) + `command`/`args`;
 * - env: `value` with `$(VAR)` expansion, `valueFrom.fieldRef` (metadata.name,
 *   metadata.namespace, status.podIP, spec.serviceAccountName), plus the
 *   variables the kubelet adds: KUBERNETES_SERVICE_HOST/PORT always and, unless
 *   `enableServiceLinks: false`, `<SERVICE>_SERVICE_HOST`, `<SERVICE>_PORT`, …
 *   for every non-headless Service;
 * - volumes: Secret volumes (files with `defaultMode`, group `fsGroup`) and the
 *   service-account mount (token, ca.crt, namespace) at
 *   /var/run/secrets/kubernetes.io/serviceaccount, bind-mounted at their
 *   mountPath inside the pod's own mount namespace (an overlay makes missing
 *   parent directories without touching the host), read-only when asked;
 * - securityContext: runAsUser/runAsGroup/fsGroup (setpriv),
 *   allowPrivilegeEscalation false (no_new_privs), readOnlyRootFilesystem
 *   (the root mount is remounted read-only for the pod).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Host, HostLab, LabProcess } from "../../helpers/netns-hosts.ts";
import { REPO_ROOT } from "../../helpers/processes.ts";

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON
type Json = any;

/** The kind/name-indexed objects of deploy/kubernetes/*.yaml, parsed as Kubernetes does (YAML 1.1: 0440 is octal). */
export function loadManifests(dir = join(REPO_ROOT, "deploy/kubernetes")): Json[] {
  const kustomization = parseAllDocuments(readFileSync(join(dir, "kustomization.yaml"), "utf8"))[0]!.toJSON() as { resources: string[] };
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), "utf8"), { version: "1.1" }).map((d) => {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
      return d.toJSON();
    }),
  );
}

/** The image ENTRYPOINT of deploy/docker/Dockerfile (exec form). */
export function dockerEntrypoint(file = join(REPO_ROOT, "deploy/docker/Dockerfile")): string[] {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith("ENTRYPOINT "));
  if (!line) throw new Error(`${file} has no ENTRYPOINT`);
  return JSON.parse(line.slice("ENTRYPOINT ".length)) as string[];
}

/** One pod to run. */
export interface PodSpec {
  name: string;
  namespace: string;
  ip: string;
  host: Host;
}

/** What the fake control plane hands the kubelet. */
export interface ClusterFacts {
  /** API server address for KUBERNETES_SERVICE_HOST/PORT. */
  apiHost: string;
  apiPort: number;
  /** CA (PEM) and token of the service-account mount. */
  caPem: string;
  token: string;
  /** Secret name → file name → content. */
  secrets: Record<string, Record<string, string>>;
  /** Service name → the cluster IP it would get (non-headless services). */
  clusterIps: Record<string, string>;
  /** Binary that stands in for the image's ENTRYPOINT binary. */
  binary: string;
  /** Scratch directory for the pods' volumes. */
  workDir: string;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const envName = (service: string) => service.toUpperCase().replaceAll("-", "_");
const sq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** The env the kubelet gives the container (service links, then the container's env in order, `$(VAR)` expanded). */
export function podEnv(pod: PodSpec, spec: Json, container: Json, services: Json[], facts: ClusterFacts): Record<string, string> {
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOSTNAME: pod.name,
    KUBERNETES_SERVICE_HOST: facts.apiHost,
    KUBERNETES_SERVICE_PORT: String(facts.apiPort),
    KUBERNETES_SERVICE_PORT_HTTPS: String(facts.apiPort),
  };
  if (spec.enableServiceLinks !== false) {
    for (const svc of services) {
      if (svc.spec.clusterIP === "None") continue;
      const ip = facts.clusterIps[svc.metadata.name] ?? "10.96.0.10";
      const n = envName(svc.metadata.name);
      const [first] = svc.spec.ports as { name?: string; port: number; protocol?: string }[];
      env[`${n}_SERVICE_HOST`] = ip;
      env[`${n}_SERVICE_PORT`] = String(first!.port);
      env[`${n}_PORT`] = `tcp://${ip}:${first!.port}`;
      for (const p of svc.spec.ports as { name?: string; port: number; protocol?: string }[]) {
        if (p.name) env[`${n}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
        const k = `${n}_PORT_${p.port}_${p.protocol ?? "TCP"}`;
        env[k] = `tcp://${ip}:${p.port}`;
        env[`${k}_PROTO`] = (p.protocol ?? "TCP").toLowerCase();
        env[`${k}_PORT`] = String(p.port);
        env[`${k}_ADDR`] = ip;
      }
    }
  }
  const fields: Record<string, string> = {
    "metadata.name": pod.name,
    "metadata.namespace": pod.namespace,
    "status.podIP": pod.ip,
    "spec.serviceAccountName": spec.serviceAccountName ?? "default",
  };
  if (container.envFrom) throw new Error("kubelet.ts does not support envFrom: extend it before using it in the manifest");
  for (const e of container.env ?? []) {
    if (e.valueFrom) {
      const path = e.valueFrom.fieldRef?.fieldPath;
      if (!path || !(path in fields)) throw new Error(`kubelet.ts: unsupported valueFrom for ${e.name}: ${JSON.stringify(e.valueFrom)}`);
      env[e.name] = fields[path]!;
    } else {
      // $(VAR) refers to variables defined before it (or the kubelet's); $$ escapes
      env[e.name] = String(e.value ?? "").replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v) => (m === "$$" ? "$" : (env[v] ?? m)));
    }
  }
  return env;
}

/** Writes a Secret volume's files (mode defaultMode, owner root, group fsGroup) into `dir`. */
function writeSecretVolume(dir: string, volume: Json, facts: ClusterFacts, fsGroup: number | undefined): void {
  const data = facts.secrets[volume.secret.secretName];
  if (!data) throw new Error(`the pod mounts Secret ${volume.secret.secretName}, which the test did not create`);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const [file, content] of Object.entries(data)) {
    const path = join(dir, file);
    writeFileSync(path, content);
    chownSync(path, 0, fsGroup ?? 0);
    chmodSync(path, volume.secret.defaultMode ?? 0o644);
  }
}

/** The deepest existing ancestor of `path` (resolved), under which the mount point must be made. */
function existingAncestor(path: string): string {
  let p = dirname(path);
  while (!existsSync(p)) p = dirname(p);
  return realpathSync(p);
}

/** The shell script that sets up the pod's mounts and execs the container's command as its user. */
export function podScript(pod: PodSpec, spec: Json, container: Json, facts: ClusterFacts): string {
  const podDir = join(facts.workDir, pod.name.replace(/[^\w.-]/g, "_") + `-${pod.ip}`);
  const sc = { ...(spec.securityContext ?? {}), ...(container.securityContext ?? {}) };
  const mounts: { path: string; source: string; readOnly: boolean }[] = [];
  for (const m of container.volumeMounts ?? []) {
    const volume = (spec.volumes ?? []).find((v: Json) => v.name === m.name);
    if (!volume) throw new Error(`volumeMount ${m.name} names no volume`);
    if (!volume.secret) throw new Error(`kubelet.ts supports Secret volumes only, not ${JSON.stringify(volume)}`);
    const source = join(podDir, "volumes", m.name);
    writeSecretVolume(source, volume, facts, sc.fsGroup);
    mounts.push({ path: m.mountPath, source, readOnly: m.readOnly === true });
  }
  if (spec.automountServiceAccountToken !== false) {
    const source = join(podDir, "volumes", "kube-api-access");
    mkdirSync(source, { recursive: true });
    chmodSync(source, 0o755);
    for (const [file, content] of [["token", facts.token], ["ca.crt", facts.caPem], ["namespace", pod.namespace]] as const) {
      writeFileSync(join(source, file), content);
      chmodSync(join(source, file), 0o644);
    }
    mounts.push({ path: SA_DIR, source, readOnly: true });
  }
  const lines = ["set -e"];
  const overlays = [...new Set(mounts.map((m) => existingAncestor(m.path)))].sort((a, b) => a.length - b.length);
  if (overlays.length > 0) {
    const scratch = join(podDir, "scratch");
    mkdirSync(scratch, { recursive: true });
    lines.push(`mount -t tmpfs tmpfs ${sq(scratch)}`);
    overlays.forEach((dir, i) => {
      lines.push(`mkdir -p ${sq(`${scratch}/u${i}`)} ${sq(`${scratch}/w${i}`)}`);
      lines.push(`mount -t overlay overlay -o ${sq(`lowerdir=${dir},upperdir=${scratch}/u${i},workdir=${scratch}/w${i}`)} ${sq(dir)}`);
    });
  }
  for (const m of mounts) {
    lines.push(`mkdir -p ${sq(m.path)}`, `mount --bind ${sq(m.source)} ${sq(m.path)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${sq(m.path)}`);
  }
  if (sc.readOnlyRootFilesystem === true) lines.push("mount -o remount,bind,ro /");
  const entrypoint = dockerEntrypoint().map((a, i) => (i === 0 ? facts.binary : a));
  const argv = [...(container.command ?? entrypoint), ...(container.args ?? [])];
  const setpriv = ["setpriv"];
  if (sc.runAsUser !== undefined) setpriv.push(`--reuid=${sc.runAsUser}`);
  if (sc.runAsGroup !== undefined) setpriv.push(`--regid=${sc.runAsGroup}`);
  setpriv.push(sc.fsGroup !== undefined ? `--groups=${sc.fsGroup}` : "--clear-groups");
  if (sc.allowPrivilegeEscalation === false) setpriv.push("--no-new-privs");
  if (sc.runAsNonRoot === true && !(sc.runAsUser > 0)) throw new Error("runAsNonRoot without a non-zero runAsUser: the image's USER would decide");
  lines.push(`exec ${[...setpriv, "--", ...argv].map(sq).join(" ")}`);
  return lines.join("\n");
}

/** Starts `pod` on its host as the StatefulSet's template describes. */
export function runPod(lab: HostLab, pod: PodSpec, manifests: Json[], facts: ClusterFacts): LabProcess {
  const sts = manifests.find((d) => d.kind === "StatefulSet");
  const spec = sts.spec.template.spec;
  const [container] = spec.containers;
  const services = manifests.filter((d) => d.kind === "Service");
  const env = podEnv(pod, spec, container, services, facts);
  return lab.spawn(pod.host, ["sh", "-c", podScript(pod, spec, container, facts)], { env, cwd: "/" });
}

/** The container port number of a named (or numbered) port of the StatefulSet's container. */
export function containerPort(manifests: Json[], port: string | number): number {
  if (typeof port === "number") return port;
  const c = manifests.find((d) => d.kind === "StatefulSet").spec.template.spec.containers[0];
  const p = c.ports.find((x: Json) => x.name === port);
  if (!p) throw new Error(`the container has no port named ${port}`);
  return p.containerPort;
}

