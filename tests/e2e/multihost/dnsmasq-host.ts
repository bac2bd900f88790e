/**
 * A real dnsmasq (Debian dnsmasq-base) inside a namespace host, answering on
 * `<host ip>:53` for the `shoal.test` zone only (no upstream; or, with
 * `localZone: false`, for its records only, refusing the rest): SRV records
 * (`srv-host`) and A/AAAA records (`host-record`) from a conf file.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DNSMASQ, type DnsmasqRecords } from "../../fixtures/dnsmasq.ts";
import type { Host, HostAgent, HostLab, LabProcess } from "../../helpers/netns-hosts.ts";

/** A running dnsmasq in a host. */
export interface DnsmasqHost {
  /** "ip:53" for --dns-server. */
  server: string;
  process: LabProcess;
  stop(): Promise<void>;
}

/** Starts dnsmasq in `host` with `records` and waits (through `agent`) until it answers `probe` with an address. */
export async function startDnsmasqIn(
  lab: HostLab,
  host: Host,
  agent: HostAgent,
  records: DnsmasqRecords,
  probe: string,
  options: { localZone?: boolean } = {},
): Promise<DnsmasqHost> {
  const dir = mkdtempSync(join(tmpdir(), "shf-dnsmasq-"));
  lab.onDestroy(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  for (const r of records.srv ?? []) lines.push(`srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`);
  for (const [name, addrs] of Object.entries(records.hosts ?? {})) for (const a of addrs) lines.push(`host-record=${name},${a}`);
  writeFileSync(join(dir, "records.conf"), `${lines.join("\n")}\n`);
  const process = lab.spawn(host, [
    DNSMASQ,
    "--no-daemon",
    "--conf-file=/dev/null",
    `--conf-file=${join(dir, "records.conf")}`,
    "--no-resolv",
    "--no-hosts",
    // localZone false: no zone and no upstream, so dnsmasq REFUSES every name and type it has no record for (AAAA of an A-only name too)
    ...(options.localZone === false ? [] : ["--local=/shoal.test/"]),
    "--port=53",
    `--listen-address=${host.ip}`,
    "--bind-interfaces",
    "--user=root",
    "--pid-file=",
    "--cache-size=0",
    "--local-ttl=0",
  ]);
  const server = `${host.ip}:53`;
  try {
    await agent.call("tests/e2e/multihost/ops.ts", "waitDns", [host.ip, 53, probe, 10_000]);
  } catch (err) {
    await process.kill();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`dnsmasq in ${host.name} did not answer: ${(err as Error).message}\n${process.output()}`);
  }
  return {
    server,
    process,
    async stop() {
      await process.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
