/**
 * One host cut off from the other two with nftables, then healed, with
 * --member-count-quorum 2 (RF=2, W=2): while cut off, the lone node refuses
 * writes (it cannot see a quorum of members) and the majority side keeps
 * accepting them; after the heal the three form one cluster again and every
 * write the majority acknowledged is read back through every node, the
 * formerly cut-off one included. The client host reaches all three nodes
 * throughout (the cut is between the server hosts).
 */
import { afterAll, expect, test } from "bun:test";
import { CLIENT_OPS, type JsonReply } from "../../helpers/netns-client-ops.ts";
import { describeIf } from "../../helpers/prerequisites.ts";
import { OPS, type WriteResult } from "./ops.ts";
import { HTTP_PORT, RESP_PORT, requireLab, ShoalHosts, UNAVAILABLE } from "./shoal-hosts.ts";

describeIf(UNAVAILABLE)("a host cut off and healed", () => {
  let s: ShoalHosts | undefined;
  afterAll(async () => {
    await s?.destroy();
  });

  test("the lone node refuses writes, the majority keeps them, and after the heal every node serves them", async () => {
    requireLab();
    s = await ShoalHosts.create({ hosts: 3, clients: 1 });
    const lab = s;
    const [h0, h1, h2] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0], (typeof lab.hosts)[0]];
    const all = [h0!, h1!, h2!];
    const peers = all.map((h) => lab.peer(h)).join(",");
    const args = ["--peers", peers, "--replica-count", "2", "--write-quorum", "2", "--member-count-quorum", "2", "--preset", "local", "--push-pull-interval", "2s"];
    await Promise.all(all.map((h) => lab.start(h, args)));
    await lab.agent.call(OPS, "waitCluster", [all.map((h) => h.ip), HTTP_PORT, all.map((h) => lab.peer(h)), 30_000]);
    const before = await lab.agent.call<WriteResult>(OPS, "writeKeys", [h0!.ip, RESP_PORT, "pre", 0, 500]);
    expect(before.acked.length).toBe(500);

    lab.lab.partition([h2!], [h0!, h1!]);
    // the majority declares h2 dead; h2, with no one to confirm its suspicions, takes longer to drop them,
    // but its owner lease (no two-way contact with a member quorum) already stops it acting as owner
    await lab.agent.call(OPS, "waitCluster", [[h0!.ip, h1!.ip], HTTP_PORT, [lab.peer(h0!), lab.peer(h1!)], 30_000]);

    const refused = await lab.agent.call<WriteResult>(OPS, "writeKeys", [h2!.ip, RESP_PORT, "lone", 0, 30]);
    expect(refused.acked).toEqual([]);
    const oneRefusal = (await lab.agent.call<JsonReply>(CLIENT_OPS, "resp", [h2!.ip, RESP_PORT, ["SET", "lone:x", "1"]])) as { error: string };
    expect(oneRefusal.error).toMatch(/^(CLUSTERDOWN|CLUSTERQUORUM) /);
    expect(refused.errors.join("\n")).toMatch(/CLUSTERDOWN|CLUSTERQUORUM/);
    const majority = await lab.agent.call<WriteResult>(OPS, "writeKeys", [h0!.ip, RESP_PORT, "split", 0, 500]);
    expect(majority.acked.length).toBe(500);

    lab.lab.heal();
    await lab.agent.call(OPS, "waitCluster", [all.map((h) => h.ip), HTTP_PORT, all.map((h) => lab.peer(h)), 45_000]);
    for (const h of all) {
      expect(await lab.agent.call<string[]>(OPS, "readKeysPlain", [h.ip, RESP_PORT, "pre", before.acked])).toEqual([]);
      expect(await lab.agent.call<string[]>(OPS, "readKeysPlain", [h.ip, RESP_PORT, "split", majority.acked])).toEqual([]);
    }
    const after = await lab.agent.call<WriteResult>(OPS, "writeKeys", [h2!.ip, RESP_PORT, "healed", 0, 200]);
    expect(after.acked.length).toBe(200);
  }, 120_000);
});
