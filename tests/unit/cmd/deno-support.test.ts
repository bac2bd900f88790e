/**
 * The Deno entry's refusals (cmd/deno-support.ts), without Deno: every
 * setting of the schema is either honoured by cmd/deno-main.ts or refused
 * when given — by flag, SHOAL_* variable or shoal.yaml — with its label and
 * the reason; per-map quorums are refused, per-map limits are not.
 */
import { describe, expect, test } from "bun:test";
import { DENO_HONOURED, denoRefusalMessage, denoRefusals } from "../../../cmd/deno-support.ts";
import { type ConfigKey, loadConfigWithOrigins, ShoalConfigFields } from "../../../core/config.ts";

const load = (argv: string[], env: Record<string, string> = {}, yaml: string | null = null) =>
  loadConfigWithOrigins({ argv, env, readFile: (p) => (p === "shoal.yaml" || p === "/x/shoal.yaml" ? yaml : null), hostname: "h" });

describe("Deno refusals", () => {
  test("the given settings are known with their labels: flag, env, yaml; defaults are not 'given'", () => {
    const l = load(["--port", "7000"], { SHOAL_PEERS: "10.0.0.1:3322" }, "replica_count: 2\n");
    expect([...l.given].sort()).toEqual([
      ["peers", "SHOAL_PEERS"],
      ["port", "--port"],
      ["replicaCount", "shoal.yaml: replica_count"],
    ]);
    expect(denoRefusals(l).sort()).toEqual([
      "SHOAL_PEERS: clustering runs only in the shoal binary; the Deno entry serves one node",
      "shoal.yaml: replica_count: clustering runs only in the shoal binary; the Deno entry serves one node",
    ]);
  });

  test("every schema setting is honoured or refused: a given unhonoured one always yields one line naming its label", () => {
    const keys = Object.keys(ShoalConfigFields.shape) as ConfigKey[];
    const refused = keys.filter((k) => !DENO_HONOURED.has(k));
    expect(refused.length).toBeGreaterThan(40);
    for (const key of keys) {
      const lines = denoRefusals({ config: load([]).config, given: new Map([[key, `--${key}`]]) });
      if (DENO_HONOURED.has(key)) expect(lines).toEqual([]);
      else {
        expect(lines.length).toBe(1);
        expect(lines[0]!.startsWith(`--${key}: `)).toBe(true);
      }
    }
    for (const k of ["peers", "discovery", "dnsName", "peerTransport", "clusterKeyFile", "advertise", "tlsPort", "tlsCert", "http3", "httpStallTimeoutMs", "origin", "edgePort", "preset"] as ConfigKey[]) {
      expect(DENO_HONOURED.has(k)).toBe(false);
    }
  });

  test("honoured settings pass; per-map limits pass, per-map quorums are refused", () => {
    expect(denoRefusals(load(["--port", "7000", "--max-clients", "9", "--max-clients-per-ip", "2", "--requirepass", "pw", "--max-output-buffer-bytes", "1mb"]))).toEqual([]);
    const yaml = "replica_count: 2\nmaps:\n  sessions:\n    ttl: 5s\n    write_quorum: 2\n  plain:\n    max_keys: 10\n";
    expect(denoRefusals(load([], {}, yaml)).filter((l) => l.includes("maps"))).toEqual([
      "shoal.yaml: maps.sessions.write_quorum: quorums need a cluster, which runs only in the shoal binary",
    ]);
  });

  test("the message lists each setting on its own line and says what to run instead", () => {
    const msg = denoRefusalMessage(["--peers: x", "--tls-port: y"]);
    expect(msg).toBe(
      "shoal (deno): these settings do not work on Deno and would be ignored:\n  --peers: x\n  --tls-port: y\nRun the shoal binary for them (npm run build → dist/shoal, or a release archive), or remove them to serve one node on Deno.",
    );
  });
});
