import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { BroadcastQueue } from "../../../core/cluster/broadcast-queue.ts";
import { MemberTable } from "../../../core/cluster/member-table.ts";
import {
  detectionBound,
  expectedConfirmations,
  MEMBERSHIP_PRESETS,
  membershipTimings,
  retransmitLimit,
  suspicionMinTimeout,
} from "../../../core/cluster/membership-config.ts";
import { decodeMessage, encodeMessage, type MemberUpdate } from "../../../core/cluster/membership-wire.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import { Suspicion } from "../../../core/cluster/suspicion.ts";

const up = (name: string, status: MemberUpdate["status"], incarnation: number, from = "x"): MemberUpdate => ({
  name,
  status,
  incarnation,
  from,
});

describe("presets and formulas", () => {
  test("presets carry memberlist's timings", () => {
    expect(MEMBERSHIP_PRESETS.lan).toMatchObject({ probeIntervalMs: 1000, probeTimeoutMs: 500, suspicionMult: 4, gossipIntervalMs: 200 });
    expect(MEMBERSHIP_PRESETS.local).toMatchObject({ probeTimeoutMs: 200, suspicionMult: 3, indirectChecks: 1, gossipIntervalMs: 100 });
    expect(MEMBERSHIP_PRESETS.wan).toMatchObject({ probeIntervalMs: 5000, probeTimeoutMs: 3000, suspicionMult: 6 });
    expect(membershipTimings("lan", { probeIntervalMs: 50 }).probeIntervalMs).toBe(50);
  });

  test("suspicion timeout, confirmations and retransmits scale with cluster size", () => {
    const lan = MEMBERSHIP_PRESETS.lan;
    expect(suspicionMinTimeout(lan, 5)).toBe(4000);
    expect(Math.round(suspicionMinTimeout(lan, 100))).toBe(8000);
    expect(expectedConfirmations(lan, 5)).toBe(2);
    expect(expectedConfirmations(lan, 3)).toBe(0);
    expect(retransmitLimit(lan, 5)).toBe(4);
    expect(retransmitLimit(lan, 50)).toBe(8);
    expect(detectionBound(lan, 5)).toBe(7000 + 1000 + 4000 + 200);
  });
});

describe("Suspicion (Lifeguard)", () => {
  test("starts at the maximum timeout and shrinks to the minimum with k confirmations", async () => {
    const clock = new SimClock(0);
    let firedAt = -1;
    const s = new Suspicion(clock, "a", 2, 4000, 24000, () => (firedAt = clock.monotonic()));
    expect(s.timeoutMs()).toBe(24000);
    await clock.advance(1000);
    expect(s.confirm("a")).toBe(false); // the originator does not count
    expect(s.confirm("b")).toBe(true);
    expect(s.confirm("b")).toBe(false);
    expect(s.timeoutMs()).toBe(11381);
    expect(s.confirm("c")).toBe(true);
    expect(s.timeoutMs()).toBe(4000);
    expect(s.confirm("d")).toBe(false); // k reached
    await clock.advance(2999);
    expect(firedAt).toBe(-1);
    await clock.advance(1);
    expect(firedAt).toBe(4000);
  });

  test("a late confirmation past the new timeout fires at once; cancel stops it", async () => {
    const clock = new SimClock(0);
    let fired = 0;
    const s = new Suspicion(clock, "a", 1, 1000, 6000, () => fired++);
    await clock.advance(3000);
    s.confirm("b");
    await clock.advance(0);
    expect(fired).toBe(1);
    const t = new Suspicion(clock, "a", 0, 1000, 6000, () => fired++);
    t.cancel();
    await clock.advance(10_000);
    expect(fired).toBe(1);
  });
});

describe("MemberTable precedence", () => {
  test("SWIM rules", () => {
    const t = new MemberTable();
    expect(t.apply(up("m", "suspect", 0), 0)).toBeUndefined(); // unknown + suspect ignored
    expect(t.apply(up("m", "alive", 0), 0)?.previous).toBeUndefined();
    expect(t.apply(up("m", "alive", 0), 0)).toBeUndefined(); // same incarnation alive is stale
    expect(t.apply(up("m", "suspect", 0), 1)?.previous).toBe("alive");
    expect(t.apply(up("m", "suspect", 0), 1)).toBeUndefined();
    expect(t.apply(up("m", "alive", 1), 2)?.previous).toBe("suspect"); // refutation
    expect(t.apply(up("m", "dead", 0), 3)).toBeUndefined(); // older incarnation
    expect(t.apply(up("m", "dead", 1), 3)?.previous).toBe("alive");
    expect(t.apply(up("m", "suspect", 5), 4)).toBeUndefined(); // dead is final until alive out-bids it
    expect(t.apply(up("m", "left", 1), 4)?.previous).toBe("dead");
    expect(t.apply(up("m", "alive", 2), 5)?.previous).toBe("left"); // rejoin
    expect(t.live()).toEqual(["m"]);
  });

  test("property: incarnations never decrease and the final view is order-independent for distinct incarnations", () => {
    const status = fc.constantFrom("alive", "suspect", "dead", "left" as const);
    fc.assert(
      fc.property(fc.array(fc.tuple(status, fc.integer({ min: 0, max: 5 })), { maxLength: 30 }), (ops) => {
        const t = new MemberTable();
        t.apply(up("m", "alive", 0), 0);
        let inc = 0;
        for (const [s, i] of ops) {
          t.apply(up("m", s, i), 0);
          const now = t.get("m")!.incarnation;
          if (now < inc) return false;
          inc = now;
        }
        return true;
      }),
    );
  });

  test("checksum is equal for equal views and differs otherwise", () => {
    const a = new MemberTable();
    const b = new MemberTable();
    a.apply(up("x", "alive", 0), 0);
    a.apply(up("y", "alive", 0), 0);
    b.apply(up("y", "alive", 0), 5);
    b.apply(up("x", "alive", 0), 9);
    expect(a.checksum()).toBe(b.checksum());
    b.apply(up("x", "suspect", 0), 10);
    expect(a.checksum()).not.toBe(b.checksum());
  });
});

describe("BroadcastQueue", () => {
  test("each update is sent `limit` times, least-sent first; newer updates replace older", () => {
    const q = new BroadcastQueue();
    q.enqueue(up("a", "alive", 0));
    q.enqueue(up("b", "alive", 0));
    expect(q.take(1, 2).map((u) => u.name)).toEqual(["b"]);
    expect(q.take(1, 2).map((u) => u.name)).toEqual(["a"]);
    q.enqueue(up("a", "dead", 0)); // replaces a (fresh count)
    expect(q.take(8, 2).map((u) => `${u.name}:${u.status}`)).toEqual(["a:dead", "b:alive"]);
    expect(q.size).toBe(1);
    expect(q.take(8, 2).map((u) => u.name)).toEqual(["a"]);
    expect(q.size).toBe(0);
    expect(q.take(8, 2)).toEqual([]);
  });

  test("suspicions from different reporters coexist (Lifeguard confirmations); alive clears them", () => {
    const q = new BroadcastQueue();
    q.enqueue(up("m", "suspect", 0, "a"));
    q.enqueue(up("m", "suspect", 0, "b"));
    q.enqueue(up("m", "suspect", 0, "b"));
    expect(q.size).toBe(2);
    q.enqueue(up("m", "alive", 1, "m"));
    expect(q.take(8, 3)).toEqual([up("m", "alive", 1, "m")]);
  });
});

describe("wire", () => {
  test("messages round-trip through msgpack", () => {
    const m = { t: "ping" as const, target: "b", gossip: [up("c", "suspect", 3, "a")] };
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
    const s = { t: "sync" as const, checksum: 123, states: [up("a", "alive", 0)] };
    expect(decodeMessage(encodeMessage(s))).toEqual(s);
  });

  test("malformed messages are rejected", () => {
    const bad = (v: unknown) => encodeMessage(v as never);
    expect(() => decodeMessage(bad(42))).toThrow(/not a message/);
    expect(() => decodeMessage(bad({ t: "gossip" }))).toThrow(/without an update list/);
    expect(() => decodeMessage(bad({ t: "gossip", gossip: [{ name: "a", status: "zombie", incarnation: 0, from: "b" }] }))).toThrow(
      /malformed update/,
    );
  });
});
