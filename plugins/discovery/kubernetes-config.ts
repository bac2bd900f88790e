/**
 * How the kubernetes plugin reaches the API server: in-cluster (service
 * account token, CA and namespace files + KUBERNETES_SERVICE_HOST/PORT) or a
 * kubeconfig file (current context; server, CA, token or tokenFile).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { DiscoveryConfigError, joinHostPort } from "./contract.ts";

/** Default service-account mount. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Resolved API server connection. */
export interface ApiConnection {
  /** Base URL, e.g. https://10.96.0.1:443. */
  server: string;
  /** PEM CA bundle to trust (undefined: system roots). */
  ca?: string;
  /** Skip TLS verification (kubeconfig insecure-skip-tls-verify). */
  insecure: boolean;
  /** Current bearer token; re-read on every call for file tokens (bound tokens rotate). */
  token(): string | undefined;
  namespace: string;
  /** Where the settings came from, for logs. */
  source: string;
}

/** Settings the resolver needs from the plugin config. */
export interface ConnectionSettings {
  kubeconfig?: string;
  serviceAccountDir: string;
  namespace?: string;
  apiServer?: string;
}

const fail = (message: string): never => {
  throw new DiscoveryConfigError(`discovery kubernetes: ${message}`);
};

function readFileToken(path: string): () => string | undefined {
  if (!existsSync(path)) fail(`missing token file ${path}`);
  return () => {
    try {
      return readFileSync(path, "utf8").trim();
    } catch {
      return undefined;
    }
  };
}

/** In-cluster connection from the service-account directory and env. */
export function inClusterConnection(s: ConnectionSettings, env: Record<string, string | undefined>): ApiConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!s.apiServer && (!host || !port)) {
    fail("not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); set kubeconfig or apiServer");
  }
  const dir = s.serviceAccountDir;
  const caPath = `${dir}/ca.crt`;
  const nsPath = `${dir}/namespace`;
  const token = readFileToken(`${dir}/token`);
  return {
    server: s.apiServer ?? `https://${joinHostPort(host!, Number(port))}`,
    ca: existsSync(caPath) ? readFileSync(caPath, "utf8") : fail(`missing CA file ${caPath}`),
    insecure: false,
    token,
    namespace: s.namespace ?? (existsSync(nsPath) ? readFileSync(nsPath, "utf8").trim() : "default"),
    source: `in-cluster (${dir})`,
  };
}

type Named<T> = { name: string } & T;
interface KubeConfig {
  "current-context"?: string;
  contexts?: Named<{ context: { cluster: string; user: string; namespace?: string } }>[];
  clusters?: Named<{
    cluster: {
      server: string;
      "certificate-authority"?: string;
      "certificate-authority-data"?: string;
      "insecure-skip-tls-verify"?: boolean;
    };
  }>[];
  users?: Named<{ user: { token?: string; tokenFile?: string } }>[];
}

/** Connection from a kubeconfig file (current context). Client certificates and exec plugins are not supported. */
export function kubeconfigConnection(s: ConnectionSettings & { kubeconfig: string }): ApiConnection {
  let doc: KubeConfig;
  try {
    doc = parseYaml(readFileSync(s.kubeconfig, "utf8")) as KubeConfig;
  } catch (err) {
    return fail(`kubeconfig ${s.kubeconfig}: ${(err as Error).message}`);
  }
  const base = dirname(s.kubeconfig);
  const ctxName = doc["current-context"] ?? fail(`kubeconfig ${s.kubeconfig}: no current-context`);
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context ?? fail(`kubeconfig: context ${ctxName} not found`);
  const cluster =
    doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster ?? fail(`kubeconfig: cluster ${ctx.cluster} not found`);
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const caData = cluster["certificate-authority-data"];
  const caFile = cluster["certificate-authority"];
  const tokenFile = user.tokenFile ? resolve(base, user.tokenFile) : undefined;
  return {
    server: s.apiServer ?? cluster.server,
    ca: caData ? Buffer.from(caData, "base64").toString("utf8") : caFile ? readFileSync(resolve(base, caFile), "utf8") : undefined,
    insecure: cluster["insecure-skip-tls-verify"] === true,
    token: tokenFile ? readFileToken(tokenFile) : () => user.token,
    namespace: s.namespace ?? ctx.namespace ?? "default",
    source: `kubeconfig ${s.kubeconfig} (context ${ctxName})`,
  };
}

/** Picks kubeconfig when given, in-cluster otherwise. @throws DiscoveryConfigError naming the missing piece. */
export function resolveConnection(s: ConnectionSettings, env: Record<string, string | undefined>): ApiConnection {
  return s.kubeconfig ? kubeconfigConnection({ ...s, kubeconfig: s.kubeconfig }) : inClusterConnection(s, env);
}
