/**
 * The namespace-host harness itself (tests/helpers/netns-hosts.ts): hosts
 * reach each other over IPv4 and IPv6 through the switch namespace, nothing
 * appears in the root namespace, cut/heal and block work, an agent runs code
 * inside a host, and destroy (or a dead test process's leftovers) leaves no
 * namespace behind. Needs root: skipped elsewhere, failed in CI without it.
 */
import { afterAll, expect, test } from "bun:test";
import { CLIENT_OPS } from "../../helpers/netns-client-ops.ts";
import { type HostAgent, HostLab, hostLabUnavailable, removeStaleHostLabs } from "../../helpers/netns-hosts.ts";
import { describeIf } from "../../helpers/prerequisites.ts";
import { redisServerPath } from "../../helpers/processes.ts";

const unavailable = hostLabUnavailable();
const rootLinks = () => new Set(Bun.spawnSync(["ip", "-o", "link"]).stdout.toString().split("\n").map((l) => l.split(":")[1]?.trim()));
const namespaces = () => Bun.spawnSync(["ip", "netns", "list"]).stdout.toString();

describeIf(unavailable)("netns hosts", () => {
  let lab: HostLab | undefined;
  let agent: HostAgent | undefined;
  afterAll(async () => {
    await agent?.close();
    await lab?.destroy();
  });

  test("hosts talk over IPv4 and IPv6; cut, block and heal; destroy removes everything", async () => {
    if (unavailable) throw new Error(`CI must be able to make namespace hosts: ${unavailable}`);
    const before = rootLinks();
    lab = HostLab.create({ hosts: 2, clients: 1, ipv6: true });
    const [h0, h1] = lab.hosts as [NonNullable<(typeof lab.hosts)[0]>, NonNullable<(typeof lab.hosts)[0]>];
    const c0 = lab.clients[0]!;
    expect([h0.ip, h1.ip, c0.ip]).toEqual(["10.88.0.10", "10.88.0.11", "10.88.0.100"]);
    for (const l of rootLinks()) expect(before.has(l)).toBe(true); // nothing new in the root namespace

    const redis = redisServerPath();
    if (!redis) throw new Error("redis-server is needed (apt-get install redis-server)");
    const server = lab.spawn(h0, [redis, "--port", "6390", "--bind", "0.0.0.0 ::", "--save", "", "--appendonly", "no", "--protected-mode", "no"]);
    agent = await lab.agent(c0);
    await agent.call(CLIENT_OPS, "waitPing", [h0.ip, 6390, 10_000]);
    expect(await agent.call(CLIENT_OPS, "resp", [h0.ip6!, 6390, ["PING"]])).toBe("PONG");
    // the client's address as the server saw it: the host's own, not NATed
    const list = (await agent.call<string>(CLIENT_OPS, "resp", [h0.ip, 6390, ["CLIENT", "LIST"]])) as string;
    expect(list).toContain(`addr=${c0.ip}:`);

    lab.cut(h0);
    await expect(agent.call(CLIENT_OPS, "resp", [h0.ip, 6390, ["PING"], 500])).rejects.toThrow();
    lab.heal(h0);
    expect(await agent.call(CLIENT_OPS, "resp", [h0.ip, 6390, ["PING"]])).toBe("PONG");

    lab.block(c0, h0);
    await expect(agent.call(CLIENT_OPS, "resp", [h0.ip, 6390, ["PING"], 500])).rejects.toThrow();
    await expect(agent.call(CLIENT_OPS, "resp", [h0.ip6!, 6390, ["PING"], 500])).rejects.toThrow();
    lab.heal(c0);
    expect(await agent.call(CLIENT_OPS, "resp", [h0.ip, 6390, ["PING"]])).toBe("PONG");

    lab.partition([h0], [c0]);
    await expect(agent.call(CLIENT_OPS, "resp", [h0.ip, 6390, ["PING"], 500])).rejects.toThrow();
    lab.heal();
    expect(await agent.call(CLIENT_OPS, "resp", [h0.ip, 6390, ["PING"]])).toBe("PONG");

    const run = await lab.run(h1, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
    expect(run.stdout).toContain("10.88.0.11/24");
    expect((await lab.run(h1, ["hostname"])).stdout.trim()).toBe("h1"); // each host has its own hostname

    await agent.close();
    agent = undefined;
    await lab.destroy();
    expect(await server.exited).not.toBe(0); // killed by destroy
    expect(namespaces()).not.toContain(`shf-${process.pid}-`);
    lab = undefined;
  }, 60_000);

  test("labs of dead test processes are removed", async () => {
    if (unavailable) throw new Error(`CI must be able to make namespace hosts: ${unavailable}`);
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    const stale = `shf-${gone.pid}-h0`;
    Bun.spawnSync(["ip", "netns", "add", stale]);
    expect(namespaces()).toContain(stale);
    expect(removeStaleHostLabs()).toContain(stale);
    expect(namespaces()).not.toContain(stale);
  });
});
