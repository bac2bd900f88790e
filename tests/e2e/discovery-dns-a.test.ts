/**
 * dns discovery in A/AAAA mode (issue 6 item 3) against dist/shoal and a real
 * dnsmasq: the name `shoal-peers.shoal.test` has no SRV records, only A
 * records (an addn-hosts file, re-read on SIGHUP), as a Kubernetes headless
 * service has. Three nodes on distinct loopback addresses (random
 * 127.x.y.0/24, so parallel runs do not collide) all use the default peer
 * port 3322 (no --peer-port), find each other through the A records and form
 * one cluster; each logs `discovery changed` with the list. An A record added
 * for a fourth node (which itself resolves a name without records) makes the
 * others log the addition and join it; a removed record is logged as removed
 * while SWIM keeps the live member.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { DnsmasqFixture } from "../fixtures/dnsmasq.ts";
import type { RawClient } from "../helpers/raw-client.ts";
import {
  killAll,
  launch,
  launchAll,
  nodeSpecs,
  type ShoalProc,
  until,
  waitMembers,
  waitReady,
  writeAll,
} from "./cluster-harness.ts";

const NAME = "shoal-peers.shoal.test";
const clients: RawClient[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await killAll();
  for (const c of cleanups) await c().catch(() => undefined);
});

/** The `discovery changed` events of `n`. */
const changes = (n: ShoalProc) => n.events("discovery changed") as unknown as { peers: number; added: string[]; removed: string[] }[];

describe("e2e dns discovery, A records (dist/shoal, dnsmasq)", () => {
  test("three binaries on the default peer port find each other through A records; added and removed records are logged", async () => {
    const net = `127.${10 + Math.floor(Math.random() * 240)}.${Math.floor(Math.random() * 250)}`;
    const ips = [2, 3, 4, 5].map((h) => `${net}.${h}`);
    const hostLines = (list: string[]) => list.map((ip) => `${ip} ${NAME}`);
    const dns = await DnsmasqFixture.start({}, hostLines(ips.slice(0, 3)));
    cleanups.push(() => dns.close());
    const dnsArgs = (name: string) => ["--discovery", "dns", "--dns-name", name, "--dns-server", dns.server, "--dns-interval", "200ms"];
    const specs = await nodeSpecs(4, {
      prefix: "dnsa",
      host: (i) => ips[i]!,
      peerPort: "default",
      extra: (i) => dnsArgs(i < 3 ? NAME : "nobody.shoal.test"),
    });
    expect(specs.every((s) => !s.args.includes("--peer-port") && s.peerPort === 3322)).toBe(true);
    const started = Date.now();
    const three = await launchAll(specs.slice(0, 3));
    await waitMembers(three, 3, 20_000, "A-record discovery");
    const joinMs = Date.now() - started;
    await waitReady(three, 20_000);
    for (const n of three) {
      const first = changes(n)[0];
      expect(first?.peers).toBe(3);
      expect([...(first?.added ?? [])].sort()).toEqual(ips.slice(0, 3).map((ip) => `${ip}:3322`).sort());
    }
    // one cluster: written through the first, read through the third
    const c0 = await three[0]!.connect();
    const c2 = await three[2]!.connect();
    clients.push(c0, c2);
    const w = await writeAll([c0], [["dns-a-key", "through-a-records"]]);
    expect(w.acked.size).toBe(1);
    expect(await c2.call(["GET", "dns-a-key"])).toBe("$17\r\nthrough-a-records\r\n");

    // an added A record: the others log it and join the fourth node, which found nobody itself
    const fourth = await launch(specs[3]!);
    expect(fourth.members()).toBeLessThanOrEqual(1);
    const addedAt = Date.now();
    await dns.setHosts(hostLines(ips));
    const all = [...three, fourth];
    await waitMembers(all, 4, 20_000, "after the A record was added");
    const addMs = Date.now() - addedAt;
    // membership may reach 4 (the fourth node gossips) before every node's next DNS poll logs the change
    const addLogged = await until(() => three.every((n) => changes(n).some((e) => e.peers === 4 && e.added.includes(`${ips[3]}:3322`))), 10_000, 50);
    expect(addLogged).toBe(true);

    // a removed record is logged; the live member stays (SWIM decides liveness, discovery only seeds)
    await dns.setHosts(hostLines([ips[0]!, ips[1]!, ips[3]!]));
    const logged = await until(() => three.every((n) => changes(n).some((e) => e.removed.includes(`${ips[2]}:3322`))), 10_000, 50);
    expect(logged).toBe(true);
    expect(all.every((n) => n.members() === 4)).toBe(true);

    console.log(`dns A records: spawn of 3 → members:3 on all ${joinMs} ms; record added → members:4 on all ${addMs} ms`);
    await Promise.all(all.map((n) => n.stop(10_000)));
  }, 120_000);
});
