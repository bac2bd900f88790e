/**
 * `shoal certs`: makes a development CA and certificates for a cluster with
 * the `openssl` CLI (the same recipe as tests/fixtures/certs.ts): EC P-256
 * keys, one CA, a certificate per node (serverAuth + clientAuth, so it serves
 * --tls-cert, --http-tls-port and the mTLS peer transport) and a client
 * certificate (clientAuth) for `--tls-ca` setups. Keys are written 0600.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { CERTS_HELP } from "./help.ts";
import { type CommandIO, parseOptions, positiveInt, UsageError } from "./io.ts";

const OPTIONS = {
  "--out": { key: "out", value: true },
  "--hosts": { key: "hosts", value: true },
  "--nodes": { key: "nodes", value: true },
  "--days": { key: "days", value: true },
  "--force": { key: "force", value: false },
};

function openssl(cwd: string, args: string[]): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString().trim()}`);
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** subjectAltName value for host names and IP addresses. */
export function subjectAltName(hosts: readonly string[]): string {
  return hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
}

function makeCa(dir: string, days: number): void {
  openssl(dir, [
    ...["req", "-x509", ...KEY, "-keyout", "ca.key", "-out", "ca.crt", "-days", String(days), "-subj", "/CN=shoal dev CA"],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  chmodSync(join(dir, "ca.key"), 0o600);
}

function makeLeaf(dir: string, name: string, days: number, usage: string, hosts: readonly string[]): void {
  const ext = join(dir, `${name}.ext`);
  const lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", `extendedKeyUsage=${usage}`];
  if (hosts.length > 0) lines.push(`subjectAltName=${subjectAltName(hosts)}`);
  writeFileSync(ext, `${lines.join("\n")}\n`);
  openssl(dir, ["req", ...KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  openssl(dir, [
    ...["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
    ...["-out", `${name}.crt`, "-days", String(days), "-extfile", ext],
  ]);
  chmodSync(join(dir, `${name}.key`), 0o600);
  rmSync(ext);
  rmSync(join(dir, `${name}.csr`));
}

/** What {@link makeDevCerts} wrote. */
export interface DevCertFiles {
  dir: string;
  nodes: string[];
  client: string;
}

/**
 * Writes ca.{crt,key}, node1..N.{crt,key} (SAN: `hosts` plus the node's
 * name) and client.{crt,key} into `dir`.
 */
export function makeDevCerts(dir: string, opts: { hosts: string[]; nodes: number; days: number }): DevCertFiles {
  mkdirSync(dir, { recursive: true });
  makeCa(dir, opts.days);
  const nodes: string[] = [];
  for (let i = 1; i <= opts.nodes; i++) {
    const name = `node${i}`;
    makeLeaf(dir, name, opts.days, "serverAuth,clientAuth", [...new Set([...opts.hosts, name])]);
    nodes.push(name);
  }
  makeLeaf(dir, "client", opts.days, "clientAuth", []);
  return { dir, nodes, client: "client" };
}

/** `shoal certs --out dir [--hosts h,…] [--nodes n] [--days d] [--force]`. */
export async function runCerts(args: readonly string[], io: CommandIO): Promise<number> {
  const { options, rest, help } = parseOptions(args, OPTIONS);
  if (help) {
    io.out(CERTS_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const dir = options.out;
  if (dir === undefined) throw new UsageError("--out <dir> is required");
  const hosts = (options.hosts ?? "127.0.0.1,::1,localhost")
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  for (const h of hosts) if (!/^[A-Za-z0-9.:*-]+$/.test(h)) throw new UsageError(`--hosts: not a host name or IP address: ${JSON.stringify(h)}`);
  const nodes = positiveInt(options.nodes ?? "3", "--nodes");
  const days = positiveInt(options.days ?? "365", "--days");
  if (nodes > 100) throw new UsageError("--nodes expects at most 100");
  if (existsSync(join(dir, "ca.key")) && options.force === undefined) {
    throw new UsageError(`${join(dir, "ca.key")} exists: pass --force to replace the CA and every certificate`);
  }
  const out = makeDevCerts(dir, { hosts, nodes, days });
  const n1 = join(out.dir, out.nodes[0]!);
  io.out(
    `wrote a dev CA, ${nodes} node certificate(s) and a client certificate to ${out.dir} (valid ${days} days; SAN ${subjectAltName(hosts)})

  ca.crt ca.key                 the CA (keep ca.key private)
  ${out.nodes.map((n) => `${n}.crt ${n}.key`).join("\n  ")}
  client.crt client.key         client certificate, for --tls-ca setups

Node 1, client TLS (RESP and HTTPS) and mTLS between nodes:
  shoal serve --tls-port 6380 --http-tls-port 8443 --tls-cert ${n1}.crt --tls-key ${n1}.key \\
    --peer-transport tls --peer-tls-cert ${n1}.crt --peer-tls-key ${n1}.key --peer-tls-ca ${join(out.dir, "ca.crt")}
  redis-cli --tls --cacert ${join(out.dir, "ca.crt")} -p 6380 PING
`,
  );
  return 0;
}
