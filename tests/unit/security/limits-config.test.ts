import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../../core/config.ts";

const load = (argv: string[], env: Record<string, string> = {}, yaml: string | null = null) =>
  loadConfig({ argv: yaml === null ? argv : ["--config", "shoal.yaml", ...argv], env, readFile: () => yaml });

describe("security and limit settings: flag, SHOAL_* env and shoal.yaml", () => {
  test("flags", () => {
    const c = load(["--max-clients-per-ip", "5", "--max-output-buffer-bytes", "1mb", "--max-commands-per-second", "10", "--acl-file", "/x.acl"]);
    expect([c.maxClientsPerIp, c.maxOutputBufferBytes, c.maxCommandsPerSecond, c.aclFile]).toEqual([5, 1024 * 1024, 10, "/x.acl"]);
    expect(load(["--maxclients", "7"]).maxClients).toBe(7);
  });
  test("env", () => {
    const c = load([], { SHOAL_MAX_CLIENTS_PER_IP: "9", SHOAL_MAX_PUBSUB_OUTPUT_BUFFER_BYTES: "2mb", SHOAL_IDLE_TIMEOUT: "5m" });
    expect([c.maxClientsPerIp, c.maxPubsubOutputBufferBytes, c.idleTimeoutMs]).toEqual([9, 2 * 1024 * 1024, 300_000]);
  });
  test("yaml", () => {
    const c = load([], {}, "max_commands_per_second: 1000\nframe_timeout: 10s\nhttp_tls_port: 8443\ntls_cert: a.crt\ntls_key: a.key\n");
    expect([c.maxCommandsPerSecond, c.frameTimeoutMs, c.httpTlsPort, c.http3]).toEqual([1000, 10_000, 8443, true]);
  });
  test("--http-tls-port needs the certificate", () => {
    expect(() => load(["--http-tls-port", "8443"])).toThrow("--http-tls-port needs --tls-cert, --tls-key");
  });
  test("defaults: pub/sub output buffer 32mb, everything else unlimited", () => {
    const c = load([]);
    expect([c.maxClientsPerIp, c.maxOutputBufferBytes, c.maxPubsubOutputBufferBytes, c.maxCommandsPerSecond]).toEqual([0, 0, 32 * 1024 * 1024, 0]);
  });
});
