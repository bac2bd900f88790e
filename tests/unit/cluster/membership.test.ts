import { describe, expect, test } from "bun:test";
import { SeededRng } from "../../../core/clock.ts";
import { Membership } from "../../../core/cluster/membership.ts";
import { detectionBound, MEMBERSHIP_PRESETS, suspicionMinTimeout } from "../../../core/cluster/membership-config.ts";
import { type SimCluster, startCluster } from "./sim-cluster.ts";

const LAN = MEMBERSHIP_PRESETS.lan;

/**
 * Crashes the last member at a seed-dependent phase; returns first/last "dead" declaration times (ms after the
 * crash). `silent`: instead of stopping (nothing listens any more: connections are refused), it stops answering
 * (every message to or from it is lost: probes time out), as a hung or cut-off process does.
 */
async function crashAndMeasure(c: SimCluster, seed: number, hint: boolean, silent = false): Promise<{ first: number; last: number }> {
  const victim = c.members.at(-1)!;
  const others = c.members.slice(0, -1);
  await c.clock.advance((seed * 137) % 1000);
  const t0 = c.clock.monotonic();
  if (silent) c.net.setFilter((from, to) => from !== victim.self && to !== victim.self);
  else await victim.stop();
  if (hint) for (const m of others) m.probeNow(victim.self);
  const done = await c.runUntil(() => others.every((m) => m.member(victim.self)?.status === "dead"), 60_000, 10);
  expect(done).toBe(true);
  const dead = c.events.filter((e) => e.type === "dead" && e.member.name === victim.self).map((e) => e.at - t0);
  expect(dead.length).toBe(others.length);
  return { first: Math.min(...dead), last: Math.max(...dead) };
}

describe("Membership (5 members, simulated clock, memory transport)", () => {
  test("members joining through one seed converge to the same view", async () => {
    const c = await startCluster({ size: 5, seed: 1 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    for (const m of c.members) {
      const joins = c.events.filter((e) => e.on === m.self && e.type === "join").map((e) => e.member.name);
      expect(joins.sort()).toEqual(c.names.filter((n) => n !== m.self));
    }
    // no false suspicion on a healthy network
    await c.clock.advance(20_000);
    expect(c.events.filter((e) => e.type !== "join")).toEqual([]);
  });

  test("a crashed member (connections refused, here and by every helper) is declared dead one probe timeout after the probe", async () => {
    const firsts: number[] = [];
    const lasts: number[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const c = await startCluster({ size: 5, seed });
      expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
      const { first, last } = await crashAndMeasure(c, seed, false);
      firsts.push(first);
      lasts.push(last);
      const reason = c.events.find((e) => e.type === "dead" && e.reason.includes("no refutation"))?.reason;
      expect(reason).toMatch(/suspicion timeout 0\.5s .*\(0\/0 confirmations\).*refused to all 3 helpers too/);
      // the first probe to reach it comes within a round-robin cycle; then one probe timeout; then one gossip round
      expect(last).toBeLessThan((2 * 4 - 1) * LAN.probeIntervalMs + LAN.probeTimeoutMs + LAN.gossipIntervalMs + 100);
      expect(first).toBeGreaterThanOrEqual(LAN.probeTimeoutMs);
    }
    const mean = (a: number[]) => Math.round(a.reduce((s, x) => s + x, 0) / a.length);
    console.log(`lan detection of a crash, 5 members, 10 seeds: first mean ${mean(firsts)} ms, all survivors mean ${mean(lasts)} ms (max ${Math.max(...lasts)})`);
    expect(mean(lasts)).toBeLessThan(2000);
  });

  test("a member that stops answering (probes time out, nothing refused) is declared dead the Lifeguard way, within the lan bound", async () => {
    const bound = detectionBound(LAN, 5);
    const firsts: number[] = [];
    const lasts: number[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const c = await startCluster({ size: 5, seed });
      expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
      const { first, last } = await crashAndMeasure(c, seed, false, true);
      firsts.push(first);
      lasts.push(last);
      expect(last).toBeLessThan(bound);
      const reason = c.events.find((e) => e.type === "dead" && e.reason.includes("no refutation"))?.reason;
      expect(reason).toMatch(/2\/2 confirmations/);
    }
    const mean = (a: number[]) => Math.round(a.reduce((s, x) => s + x, 0) / a.length);
    console.log(
      `lan detection of a silent member, 5 members, 10 seeds: first declaration mean ${mean(firsts)} ms (max ${Math.max(...firsts)}), ` +
        `all survivors mean ${mean(lasts)} ms (max ${Math.max(...lasts)}); bound ${bound} ms`,
    );
    // Lifeguard's minimum suspicion timeout (after a timed-out probe) is the floor: nobody is declared dead before it.
    expect(Math.min(...firsts)).toBeGreaterThanOrEqual(suspicionMinTimeout(LAN, 5) + LAN.probeTimeoutMs);
    expect(mean(lasts)).toBeLessThan(8000);
  });

  test("local and wan presets also converge and detect a crash (refused) and a silent member within their bounds", async () => {
    for (const preset of ["local", "wan"] as const) {
      for (const silent of [false, true]) {
        const c = await startCluster({ size: 5, seed: 8, preset });
        expect(await c.runUntil(() => c.converged(c.members, c.names), 5 * c.timings.probeIntervalMs)).toBe(true);
        const { first, last } = await crashAndMeasure(c, 8, false, silent);
        expect(first).toBeGreaterThanOrEqual(silent ? suspicionMinTimeout(c.timings, 5) : c.timings.probeTimeoutMs);
        expect(last).toBeLessThan(detectionBound(MEMBERSHIP_PRESETS[preset], 5));
      }
    }
  });

  test("the refusal path needs every helper's refusal: one helper whose probe times out keeps the Lifeguard timeout", async () => {
    const c = await startCluster({ size: 5, seed: 3 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    const victim = c.members.at(-1)!;
    const slow = c.names[1]!;
    // slow's messages to the victim are lost (its probes time out); the others are refused once the victim stops
    c.net.setFilter((from, to) => !(from === slow && to === victim.self));
    const t0 = c.clock.monotonic();
    await victim.stop();
    const others = c.members.slice(0, -1);
    expect(await c.runUntil(() => others.every((m) => m.member(victim.self)?.status === "dead"), 60_000, 10)).toBe(true);
    const dead = c.events.filter((e) => e.type === "dead" && e.member.name === victim.self);
    expect(Math.min(...dead.map((e) => e.at - t0))).toBeGreaterThanOrEqual(suspicionMinTimeout(LAN, 5));
    expect(dead.some((e) => e.reason.includes("refused to all"))).toBe(false);
  });

  test("refusals that keep coming (every failed request probes again) do not push the end of the short suspicion back", async () => {
    const c = await startCluster({ size: 5, seed: 4 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    const victim = c.members.at(-1)!;
    const others = c.members.slice(0, -1);
    const t0 = c.clock.monotonic();
    await victim.stop();
    let dead = false;
    for (let i = 0; i < 200 && !dead; i++) {
      for (const m of others) m.probeNow(victim.self); // as the data channel does on every failed request
      await c.clock.advance(10);
      dead = others.every((m) => m.member(victim.self)?.status === "dead");
    }
    expect(dead).toBe(true);
    const last = Math.max(...c.events.filter((e) => e.type === "dead" && e.member.name === victim.self).map((e) => e.at - t0));
    expect(last).toBeLessThan(LAN.probeTimeoutMs + 200);
  });

  test("with a connection-drop hint (probeNow) detection is the minimum suspicion timeout, under 5 s", async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const c = await startCluster({ size: 5, seed });
      expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
      const { last } = await crashAndMeasure(c, seed, true);
      expect(last).toBeLessThan(5000);
    }
  });

  test("a paused member is suspected, refutes with a higher incarnation, and is never declared dead", async () => {
    const c = await startCluster({ size: 5, seed: 7 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    const paused = c.names[2]!;
    const t0 = c.clock.monotonic();
    c.net.setFilter((from, to) => from !== paused && to !== paused);
    const suspected = await c.runUntil(
      () => c.events.some((e) => e.type === "suspect" && e.member.name === paused && e.at >= t0),
      3000,
      10,
    );
    expect(suspected).toBe(true);
    await c.clock.advance(500);
    c.net.setFilter(undefined);
    expect(await c.runUntil(() => c.converged(c.members, c.names), 20_000)).toBe(true);
    expect(c.events.filter((e) => e.type === "dead")).toEqual([]);
    const refuted = c.events.find((e) => e.on === paused && e.type === "alive" && e.member.name === paused);
    expect(refuted?.reason).toMatch(/refuted "suspect"/);
    for (const m of c.members) expect(m.member(paused)!.incarnation).toBeGreaterThanOrEqual(1);
  });

  test("full-state push-pull alone converges views after message loss (gossip disabled)", async () => {
    const rng = new SeededRng(99);
    const c = await startCluster({ size: 5, seed: 3, preset: "local", maxPiggyback: 0 });
    c.net.setFilter(() => rng.next() >= 0.3);
    await c.clock.advance(500);
    expect(c.converged(c.members, c.names)).toBe(false); // joins through the seed alone do not spread
    await c.clock.advance(20_000);
    c.net.setFilter(undefined);
    const ok = await c.runUntil(() => c.converged(c.members, c.names), 10 * c.timings.pushPullIntervalMs, 100);
    expect(ok).toBe(true);
  });

  test("a graceful leave is seen as 'leave' (not dead) within a second", async () => {
    const c = await startCluster({ size: 5, seed: 11 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    const leaver = c.members[1]!;
    const t0 = c.clock.monotonic();
    const leaving = leaver.leave();
    await c.clock.advance(1000);
    await leaving;
    const others = c.members.filter((m) => m !== leaver);
    for (const m of others) expect(m.member(leaver.self)?.status).toBe("left");
    const leaves = c.events.filter((e) => e.type === "leave" && e.member.name === leaver.self);
    expect(leaves.length).toBe(4);
    expect(Math.max(...leaves.map((e) => e.at - t0))).toBeLessThan(1000);
    await c.clock.advance(30_000);
    expect(c.events.filter((e) => e.type === "dead")).toEqual([]);
    expect(c.converged(others, c.names.filter((n) => n !== leaver.self))).toBe(true);

    // coming back at the same address out-bids the "left" record
    const back = new Membership({
      self: leaver.self,
      clock: c.clock,
      rng: new SeededRng(77),
      transport: c.net.transport(),
      timings: LAN,
      seeds: [c.names[0]!],
    });
    const started = back.start();
    await c.clock.advance(100);
    await started;
    const all = [...others, back];
    expect(await c.runUntil(() => c.converged(all, c.names), 10_000)).toBe(true);
    await back.stop();
  });

  test("a crashed member that restarts at the same address refutes its death and rejoins", async () => {
    const c = await startCluster({ size: 5, seed: 5 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    await crashAndMeasure(c, 5, true);
    const name = c.names[4]!;
    const reborn = new Membership({
      self: name,
      clock: c.clock,
      rng: new SeededRng(4242),
      transport: c.net.transport(),
      timings: LAN,
      seeds: [c.names[0]!],
    });
    const started = reborn.start();
    await c.clock.advance(100);
    await started;
    const all = [...c.members.slice(0, 4), reborn];
    expect(await c.runUntil(() => c.converged(all, c.names), 10_000)).toBe(true);
    expect(reborn.member(name)!.incarnation).toBeGreaterThanOrEqual(1);
    await reborn.stop();
  });

  test("10% random message loss for 5 simulated minutes: suspicions get refuted, nobody is declared dead", async () => {
    const rng = new SeededRng(5);
    const c = await startCluster({ size: 5, seed: 17 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    c.net.setFilter(() => rng.next() >= 0.1);
    await c.clock.advance(300_000);
    c.net.setFilter(undefined);
    expect(await c.runUntil(() => c.converged(c.members, c.names), 60_000)).toBe(true);
    expect(c.events.filter((e) => e.type === "suspect").length).toBeGreaterThan(0); // the loss did bite
    expect(c.events.filter((e) => e.type === "dead")).toEqual([]);
  });

  test("30 members converge and detect a crash within the bound for n = 30", async () => {
    const c = await startCluster({ size: 30, seed: 3 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 30_000)).toBe(true);
    const { last } = await crashAndMeasure(c, 3, false);
    expect(last).toBeLessThan(detectionBound(LAN, 30));
  });

  test("answeredWithin: an isolated member sees its contacts lapse before the others can declare it dead", async () => {
    const c = await startCluster({ size: 5, seed: 7 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    const window = suspicionMinTimeout(c.timings, 5);
    await c.clock.advance(2 * window);
    // healthy: every member heard back from at least two others (a majority with itself) within the window
    for (const m of c.members) expect(m.answeredWithin(window)).toBeGreaterThanOrEqual(2);
    const x = c.members[3]!;
    c.net.setFilter((from, to) => from !== x.self && to !== x.self);
    const cutAt = c.clock.monotonic();
    // the cut-off member loses its contacts within one window, while the others still hold it alive or suspect
    expect(await c.runUntil(() => x.answeredWithin(window) === 0, window + c.timings.probeIntervalMs, 10)).toBe(true);
    const lapsedAfter = c.clock.monotonic() - cutAt;
    const firstDeath = await c.runUntil(() => c.members.some((m) => m !== x && m.member(x.self)?.status === "dead"), 60_000, 10);
    expect(firstDeath).toBe(true);
    const deadAfter = c.clock.monotonic() - cutAt;
    expect(lapsedAfter).toBeLessThan(deadAfter);
    for (const m of c.members) if (m !== x) expect(m.answeredWithin(window)).toBeGreaterThanOrEqual(2);
    c.net.setFilter(undefined);
  });

  test("an isolated member rejoins after healing without making the majority flap to dead", async () => {
    // isolation shorter than, around, and longer than detection (~5 s) + its own max suspicion timeout (24 s)
    for (const [seed, isolatedMs] of [
      [3, 20_000],
      [2, 32_000],
      [1, 32_000],
      [4, 40_000],
      [6, 25_000],
    ] as const) {
      const c = await startCluster({ size: 5, seed });
      expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
      const x = c.names[3]!;
      c.net.setFilter((from, to) => from !== x && to !== x);
      await c.clock.advance(isolatedMs);
      for (const m of c.members) if (m.self !== x) expect(m.member(x)?.status ?? "forgotten").not.toBe("alive");
      c.net.setFilter(undefined);
      const want = c.names.join(",");
      expect(await c.runUntil(() => c.members.every((m) => m.liveMembers().join(",") === want), 2000, 10)).toBe(true);
      expect(await c.runUntil(() => c.converged(c.members, c.names), 2 * c.timings.pushPullIntervalMs)).toBe(true);
      // the isolated member's stale claims about the others reach them only as suspicions, refuted at once
      const falseDeaths = c.events.filter((e) => e.on !== x && e.type === "dead" && e.member.name !== x);
      expect(falseDeaths).toEqual([]);
    }
  });

  test("the seed member itself isolated until both sides hold each other dead: the views merge again after healing", async () => {
    const c = await startCluster({ size: 5, seed: 10 });
    expect(await c.runUntil(() => c.converged(c.members, c.names), 5000)).toBe(true);
    const x = c.names[0]!; // everyone's seed; its own seed list is just itself
    c.net.setFilter((from, to) => from !== x && to !== x);
    expect(await c.runUntil(() => c.members[0]!.liveMembers().length === 1, 60_000, 500)).toBe(true);
    for (const m of c.members.slice(1)) expect(m.liveMembers()).not.toContain(x);
    c.net.setFilter(undefined);
    expect(await c.runUntil(() => c.converged(c.members, c.names), 4 * c.timings.pushPullIntervalMs)).toBe(true);
  });

  test("two separate clusters merge when one member is told about the other (join)", async () => {
    const c = await startCluster({ size: 5, seed: 13, separateSeeds: 2 });
    const left = c.members.slice(0, 2);
    const right = c.members.slice(2);
    expect(await c.runUntil(() => c.converged(left, c.names.slice(0, 2)) && c.converged(right, c.names.slice(2)), 5000)).toBe(true);
    const joining = left[0]!.join([c.names[2]!]);
    await c.clock.advance(10);
    expect(await joining).toBe(1);
    expect(await c.runUntil(() => c.converged(c.members, c.names), 10_000)).toBe(true);
    expect(c.members[0]!.stats.syncs).toBeGreaterThan(0);
    expect(c.events.filter((e) => e.type === "dead" || e.type === "suspect")).toEqual([]);
  });

  test("same seed, same history (deterministic simulation)", async () => {
    const run = async () => {
      const c = await startCluster({ size: 5, seed: 21 });
      await c.runUntil(() => c.converged(c.members, c.names), 5000);
      await crashAndMeasure(c, 21, false);
      return c.events.map((e) => `${e.at} ${e.on} ${e.type} ${e.member.name} ${e.reason}`);
    };
    expect(await run()).toEqual(await run());
  });
});
