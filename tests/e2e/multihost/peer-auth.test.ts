/**
 * Issue 13 "Done when", on namespace hosts (tests/helpers/netns-hosts.ts) with
 * the compiled binary:
 * - `shoal serve --bind 0.0.0.0 --advertise <ip> --peers …` without a key
 *   exits 2 naming --cluster-key-file (and so does --peer-transport quic off
 *   loopback, even with a key);
 * - a keyed (shoal keygen --out), password-protected three-node cluster gives
 *   a node with a wrong key, and a keyless node started with
 *   --allow-insecure-peers, 0 of its keys, and loses none to their FLUSHDB:
 *   the intruders never become members, the members log the refusals
 *   (without the key), and every key still reads back through every member.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENT_OPS } from "../../helpers/netns-client-ops.ts";
import { type Host, type HostAgent, HostLab, hostLabUnavailable, type LabProcess } from "../../helpers/netns-hosts.ts";
import { describeIf } from "../../helpers/prerequisites.ts";
import { requireBinary } from "../binary.ts";

const OPS = join(import.meta.dir, "peer-auth-ops.ts");
const unavailable = hostLabUnavailable();
const PASS = "cluster-pass-5e1";
const KEYS = Array.from({ length: 60 }, (_, i) => `acct:${i}`);
const dir = mkdtempSync(join(tmpdir(), "shoal-peer-auth-"));

describeIf(unavailable)("peer authentication on namespace hosts", () => {
  let lab: HostLab | undefined;
  let agent: HostAgent | undefined;
  afterAll(async () => {
    await agent?.close();
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("no key: exit 2 naming --cluster-key-file; a wrong-key and an insecure node get 0 keys and flush none", async () => {
    if (unavailable) throw new Error(`CI must be able to make namespace hosts: ${unavailable}`);
    const BIN = requireBinary();
    lab = HostLab.create({ hosts: 5, clients: 1 });
    const [h0, h1, h2, wrongHost, openHost] = lab.hosts as [Host, Host, Host, Host, Host];
    const members = [h0, h1, h2];
    const peers = members.map((h) => `${h.ip}:3322`).join(",");
    const serve = (h: Host, extra: string[]) => [
      BIN,
      ...["serve", "--bind", "0.0.0.0", "--advertise", h.ip, "--peers", peers, "--node-name", h.name],
      ...["--preset", "local", "--log-format", "json", "--replica-count", "2", "--write-quorum", "2", "--requirepass", PASS],
      ...extra,
    ];

    // 1. without a key: exit 2 with the line naming --cluster-key-file
    const keyless = await lab.run(h0, serve(h0, []), { timeoutMs: 20_000 });
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain("--cluster-key-file: required because --bind 0.0.0.0 lets other hosts reach the peer port");
    expect(keyless.stderr).toContain("shoal keygen --out cluster.key");
    const quic = await lab.run(h0, serve(h0, ["--peer-transport", "quic", "--peer-tls-cert", "x", "--peer-tls-key", "y", "--cluster-key", "k"]));
    expect(quic.code).toBe(2);
    expect(quic.stderr).toContain("--peer-transport: quic is for loopback test clusters only (--bind 0.0.0.0 is reachable from other hosts)");

    // 2. a keyed, password-protected cluster (key made by shoal keygen)
    const keyFile = join(dir, "cluster.key");
    const wrongFile = join(dir, "wrong.key");
    expect((await lab.run(h0, [BIN, "keygen", "--out", keyFile])).code).toBe(0);
    expect((await lab.run(h0, [BIN, "keygen", "--out", wrongFile])).code).toBe(0);
    const key = readFileSync(keyFile, "utf8").trim();
    const nodes: LabProcess[] = members.map((h) => lab!.spawn(h, serve(h, ["--cluster-key-file", keyFile])));
    agent = await lab.agent(lab.clients[0]!);
    for (const h of members) await agent.call(CLIENT_OPS, "waitHttp", [`http://${h.ip}:3380/readyz`, 200, 30_000]);
    // written through each member in turn
    for (const [i, k] of KEYS.entries()) {
      const h = members[i % 3]!;
      expect(await agent.call(OPS, "session", [h.ip, 3320, PASS, [["SET", k, `v:${k}`]]])).toEqual(["OK"]);
    }
    for (const h of members) expect(await agent.call(OPS, "countValues", [h.ip, 3320, PASS, KEYS])).toBe(KEYS.length);

    // 3. the intruders: a wrong key, and no key with the explicit opt-out (each with its own password, or none)
    const wrong = lab.spawn(wrongHost, serve(wrongHost, ["--cluster-key-file", wrongFile]).filter((a) => a !== PASS && a !== "--requirepass"));
    const open = lab.spawn(openHost, serve(openHost, ["--allow-insecure-peers"]).filter((a) => a !== PASS && a !== "--requirepass"));
    for (const h of [wrongHost, openHost]) await agent.call(CLIENT_OPS, "waitPing", [h.ip, 3320, 20_000]);
    expect(open.output()).toContain("peers are not authenticated (--allow-insecure-peers)");
    // a legitimate node joins a local-preset cluster within a few seconds: give the intruders more than that
    await Bun.sleep(8000);
    for (const h of [wrongHost, openHost]) {
      const [dbsize, keys, ...values] = (await agent.call(OPS, "session", [h.ip, 3320, null, [["DBSIZE"], ["KEYS", "*"], ...KEYS.map((k) => ["GET", k])]])) as unknown[];
      expect({ host: h.name, dbsize, keys, got: values.filter((v) => v !== null).length }).toEqual({ host: h.name, dbsize: 0, keys: [], got: 0 });
      expect(await agent.call(OPS, "session", [h.ip, 3320, null, [["FLUSHDB"]]])).toEqual(["OK"]);
    }
    // nothing lost, through every member; the intruders were never members
    for (const h of members) expect(await agent.call(OPS, "countValues", [h.ip, 3320, PASS, KEYS])).toBe(KEYS.length);
    for (const n of nodes) {
      const tables = n.output().split("\n").filter((l) => l.includes("partition table rebuilt"));
      expect(tables.length).toBeGreaterThan(0);
      expect(tables.some((l) => /"members":[4-9]/.test(l))).toBe(false);
      expect(n.output()).not.toContain(key);
    }
    const nodesText = (await agent.call(OPS, "session", [h0.ip, 3320, PASS, [["CLUSTER", "NODES"]]])) as string[];
    expect(nodesText[0]!.trim().split("\n")).toHaveLength(3);
    // each refusal is logged (rate-limited), naming the remote and never the key
    const refusals = nodes.map((n) => n.output()).join("\n");
    expect(refusals).toContain("peer refused: bad frame or wrong cluster key");
    expect(refusals).toContain(`"remote":"${wrongHost.ip}:`);
    expect(refusals).toContain(`"remote":"${openHost.ip}:`);
    for (const p of [wrong, open]) expect(p.output()).not.toContain(key);
    console.log(
      `peer auth on netns hosts: ${KEYS.length} keys kept; intruders saw 0; refusal lines on members: ${refusals.split("\n").filter((l) => l.includes("peer refused")).length}`,
    );
  }, 120_000);
});
