/**
 * The replicated write path's batching and encodings: entries appended to an
 * EntryBatch (from states or straight from the store) decode to the same
 * states as packEntries; the compact apply/applied codec round-trips and
 * refuses malformed input; the ReplicaChannel sends one `apply` per holder
 * per turn (through `afterTurn`), shares one answer among a batch's writes,
 * counts failed asynchronous writes and sends an oversized batch early; the
 * member table's cached lists follow every change.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SeededRng } from "../../../core/clock.ts";
import { EntryBatch } from "../../../core/cluster/entry-batch.ts";
import { EntrySync } from "../../../core/cluster/entry-sync.ts";
import { HybridClock } from "../../../core/cluster/hlc.ts";
import { MemberTable } from "../../../core/cluster/member-table.ts";
import { decodeCompactApplied, decodeCompactApply, encodeCompactApplied, encodeCompactApply } from "../../../core/cluster/peer-compact.ts";
import { decodeRequest, decodeResponse, type EntryState, encodePeer, type PeerRequest, type PeerResponse, packEntries, unpackEntries } from "../../../core/cluster/peer-protocol.ts";
import { PushStream } from "../../../core/cluster/push-stream.ts";
import { ReplicaChannel } from "../../../core/cluster/replica-channel.ts";
import { newRouterStats } from "../../../core/cluster/router-stats.ts";
import { ShoalNode } from "../../../core/node.ts";
import { ManualClock } from "../snapshot/helpers.ts";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const plain = (es: EntryState[]) =>
  es.map((e) => ({ ...e, kind: e.kind ?? 0, key: Array.from(e.key), value: e.value === null ? null : Array.from(e.value) }));

const entry = fc.record({
  map: fc.oneof(fc.constant("default"), fc.string({ maxLength: 12 }), fc.constant("größe·map")),
  key: fc.uint8Array({ maxLength: 40 }),
  kind: fc.constantFrom(0, 1, 2),
  value: fc.option(fc.uint8Array({ maxLength: 3000 }), { nil: null }),
  expireAt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 47 })),
  version: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

function node(): { node: ShoalNode; sync: EntrySync; clock: ManualClock } {
  const clock = new ManualClock();
  const n = new ShoalNode({ clock, rng: new SeededRng(1) });
  return { node: n, sync: new EntrySync(n, new HybridClock(clock), clock), clock };
}

describe("EntryBatch", () => {
  test("appended states encode exactly as packEntries (property, growing past the first buffer)", () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), (es) => {
        const b = new EntryBatch(16);
        for (const e of es) b.add(e);
        expect(b.count).toBe(es.length);
        const packed = b.finish();
        expect(Array.from(packed)).toEqual(Array.from(packEntries(es)));
        expect(plain(unpackEntries(packed))).toEqual(plain(es));
      }),
      { numRuns: 200 },
    );
  });

  test("stampInto writes the store's value, expiry and the new version into every holder's batch; a missing key as a deletion", () => {
    const { node: n, sync } = node();
    n.map("m").put(bytes("k"), bytes("value"));
    n.map("m").setExpire(n.map("m").lookup(bytes("k"), 0, 1, false), 1_900_000_000_000);
    const a = new EntryBatch();
    const b = new EntryBatch();
    const v1 = sync.stampInto("m", bytes("k"), [a, b]);
    const v2 = sync.stampInto("m", bytes("gone"), [a]);
    expect(v1).toBeGreaterThan(0);
    expect(v2).toBeGreaterThan(v1);
    const want = [
      { map: "m", key: bytes("k"), kind: 0, value: bytes("value"), expireAt: 1_900_000_000_000, version: v1 },
      { map: "m", key: bytes("gone"), kind: 0, value: null, expireAt: 0, version: v2 },
    ];
    expect(plain(unpackEntries(a.finish()))).toEqual(plain(want));
    expect(plain(unpackEntries(b.finish()))).toEqual(plain(want.slice(0, 1)));
    // the stamped version is the entry's version now, and the deletion was remembered as a tombstone
    expect(sync.current("m", bytes("k")).version).toBe(v1);
    expect(sync.current("m", bytes("gone")).version).toBe(v2);
  });
});

describe("compact apply / applied", () => {
  test("round-trip every head field and the entry list", () => {
    const es: EntryState[] = [{ map: "default", key: bytes("a"), value: bytes("1"), expireAt: 0, version: 7 }];
    for (const head of [{}, { strict: true }, { from: "n1:7000", strict: true, view: 0xdeadbeef }, { from: "ü:1", view: 0 }]) {
      const req = decodeRequest(encodePeer({ t: "apply", entries: es, ...head }));
      expect(req).toMatchObject({ t: "apply", strict: head.strict === true, from: "from" in head ? head.from : undefined, view: "view" in head ? head.view : undefined });
      if (req.t === "apply") expect(plain(req.entries)).toEqual(plain(es));
    }
    // a prepacked list goes out as it is
    const packed = packEntries(es);
    const viaPacked = decodeRequest(encodePeer({ t: "apply", entries: [], packed, from: "x:1", strict: true }));
    expect(viaPacked.t === "apply" && plain(viaPacked.entries)).toEqual(plain(es));
    expect(decodeResponse(encodePeer({ t: "applied", taken: 0 }))).toEqual({ t: "applied", taken: 0 });
    // a pull page: cursor and suspicion travel with the packed list
    for (const next of [null, { map: "größe", idx: 123_456 }]) {
      for (const suspect of [false, true]) {
        const page = decodeResponse(encodePeer({ t: "entries", entries: [], packed, next, ...(suspect ? { suspect } : {}) }));
        expect(page).toMatchObject({ t: "entries", next, ...(suspect ? { suspect: true } : {}) });
        expect(page.t === "entries" && plain(page.entries)).toEqual(plain(es));
        expect(page.t === "entries" && "suspect" in page && !suspect).toBe(false);
      }
    }
    expect(decodeResponse(encodePeer({ t: "applied", taken: 70_000, suspect: true }))).toEqual({ t: "applied", taken: 70_000, suspect: true });
  });

  test("truncated or foreign compact messages are refused with TypeError", () => {
    const apply = encodeCompactApply({ from: "n1:7000", strict: true, view: 3 }, packEntries([{ map: "m", key: bytes("k"), value: bytes("v"), expireAt: 0, version: 1 }]));
    for (let cut = 1; cut < apply.length; cut++) expect(() => decodeRequest(apply.subarray(0, cut))).toThrow(TypeError);
    expect(() => decodeCompactApply(encodeCompactApplied(1, false))).toThrow(TypeError);
    const applied = encodeCompactApplied(5, false);
    expect(() => decodeCompactApplied(applied.subarray(0, 7))).toThrow(TypeError);
    expect(() => decodeResponse(new Uint8Array([0xc1, 9, 0, 0, 0, 0, 0, 0]))).toThrow(TypeError);
  });
});

/** A ReplicaChannel over a recording `request` and a manual end-of-turn queue. */
function channel(answer: (peer: string, msg: PeerRequest) => Promise<PeerResponse>) {
  const sent: { peer: string; entries: EntryState[] }[] = [];
  const hinted: { replicas: readonly string[]; keys: string[] }[] = [];
  const turn: (() => void)[] = [];
  const stats = newRouterStats();
  const ch = new ReplicaChannel({
    self: "n0:1",
    viewId: () => 42,
    stats,
    afterTurn: (fn) => turn.push(fn),
    hint: (replicas, entries) => hinted.push({ replicas, keys: entries.map((e) => new TextDecoder().decode(e.key)) }),
    request: (peer, msg) => {
      const decoded = decodeRequest(encodePeer(msg));
      if (decoded.t === "apply") sent.push({ peer, entries: decoded.entries });
      return answer(peer, msg);
    },
  });
  const endTurn = (): void => {
    for (const fn of turn.splice(0)) fn();
  };
  return { ch, sent, stats, endTurn, hinted };
}

describe("ReplicaChannel", () => {
  test("writes of one turn, across microtasks, go to each holder as one apply; they share its answer", async () => {
    const { node: n, sync } = node();
    const t = channel(async () => ({ t: "applied", taken: 1 }));
    for (const k of ["a", "b", "c"]) n.map("default").put(bytes(k), bytes(`v${k}`));
    const first = t.ch.pushSync(["r1:1", "r2:1"], "default", [bytes("a")], sync, 1)!;
    await Promise.resolve(); // a socket read's microtasks drain here in the real loop
    t.ch.pushAsync(["r1:1"], "default", [bytes("b")], sync);
    const second = t.ch.pushSync(["r1:1", "r2:1"], "default", [bytes("c")], sync, 2)!;
    expect(t.sent).toHaveLength(0); // nothing leaves before the turn ends
    t.endTurn();
    expect(await first.repl.acks).toBe(1);
    expect(await second.repl.acks).toBe(2);
    expect(t.sent.map((s) => [s.peer, s.entries.map((e) => new TextDecoder().decode(e.key))])).toEqual([
      ["r1:1", ["a", "b", "c"]],
      ["r2:1", ["a", "c"]],
    ]);
    expect(t.stats.replicaBatches).toBe(2);
    expect(t.stats.replicated).toBe(5);
    expect(first.stamped.map((s) => s.version)).toEqual([sync.current("default", bytes("a")).version]);
  });

  test("a refused or unreachable batch: sync writes see no ack, async writes count as replica failures", async () => {
    const { node: n, sync } = node();
    const t = channel(async (peer) => {
      if (peer === "down:1") throw new Error("unreachable");
      return { t: "error", message: "not the owner here" };
    });
    for (const k of ["a", "b", "c"]) n.map("default").put(bytes(k), bytes("1"));
    const w = t.ch.pushSync(["refuses:1", "down:1"], "default", [bytes("a")], sync, 1)!;
    t.ch.pushAsync(["refuses:1", "down:1"], "default", [bytes("b")], sync);
    t.ch.pushAsync(["down:1"], "default", [bytes("c")], sync);
    t.endTurn();
    expect(await w.repl.acks).toBe(0);
    expect(await w.repl.all()).toEqual({ took: [], refused: ["refuses:1"], unreachable: ["down:1"] });
    await Bun.sleep(0);
    expect(t.stats.replicaFailures).toBe(2 + 1 + 2); // the sync write at both holders, the async ones per holder
    // the asynchronous writes stand: the unreachable replica gets them as hints; the synchronous one failed its quorum and is not hinted
    expect(t.hinted).toEqual([{ replicas: ["down:1"], keys: ["b", "c"] }]);
  });

  test("a batch past 1 MiB goes out at once; the rest of the turn follows in the next one", () => {
    const { node: n, sync } = node();
    const t = channel(async () => ({ t: "applied", taken: 1 }));
    const big = new Uint8Array(300_000);
    for (let i = 0; i < 5; i++) {
      n.map("default").put(bytes(`k${i}`), big);
      t.ch.pushAsync(["r1:1"], "default", [bytes(`k${i}`)], sync);
    }
    expect(t.sent.map((s) => s.entries.length)).toEqual([4]);
    t.endTurn();
    expect(t.sent.map((s) => s.entries.length)).toEqual([4, 1]);
  });
});

describe("MemberTable cached lists", () => {
  test("live(), liveCount() and all() follow set, apply and remove", () => {
    const t = new MemberTable();
    t.set({ name: "b", status: "alive", incarnation: 0, since: 0 });
    t.set({ name: "a", status: "alive", incarnation: 0, since: 0 });
    expect(t.live()).toEqual(["a", "b"]);
    expect(t.liveCount()).toBe(2);
    t.apply({ name: "c", status: "alive", incarnation: 1, from: "a" }, 1);
    expect(t.live()).toEqual(["a", "b", "c"]);
    t.apply({ name: "b", status: "dead", incarnation: 0, from: "a" }, 2);
    expect([t.live(), t.liveCount()]).toEqual([["a", "c"], 2]);
    const copy = t.live();
    copy.push("mutated"); // callers get their own array
    expect(t.live()).toEqual(["a", "c"]);
    t.remove("c");
    expect([t.liveCount(), t.all().map((m) => m.name)]).toEqual([1, ["a", "b"]]);
  });
});

describe("PushStream (rebalancing)", () => {
  test("streams batches of at most `entries`, one in flight at a time, and reports what the peer took", async () => {
    const { node: n } = node();
    const store = n.map("default");
    for (let i = 0; i < 25; i++) store.put(`k${i}`, `v${i}`);
    let inFlight = 0;
    let most = 0;
    const batches: number[] = [];
    const release: (() => void)[] = [];
    const s = new PushStream(
      "p:1",
      async (_peer, msg) => {
        const decoded = decodeRequest(encodePeer(msg));
        if (decoded.t === "apply") batches.push(decoded.entries.length);
        most = Math.max(most, ++inFlight);
        await new Promise<void>((resolve) => release.push(resolve));
        inFlight--;
        return { t: "applied", taken: 0 };
      },
      { entries: 10, bytes: 1 << 20 },
    );
    const pump = setInterval(() => release.shift()?.(), 1);
    try {
      for (let i = 0; i < 25; i++) {
        s.addStored("default", store, store.lookup(bytes(`k${i}`), 0, `k${i}`.length, false));
        if (s.full) await s.cut();
      }
      expect(await s.finish()).toBe(true);
    } finally {
      clearInterval(pump);
    }
    expect(batches).toEqual([10, 10, 5]);
    expect(most).toBe(1);
    expect(s.sent).toBe(25);
  });

  test("a failed batch fails the stream; later entries are not sent", async () => {
    let calls = 0;
    const s = new PushStream(
      "p:1",
      async () => {
        calls++;
        throw new Error("cannot reach peer");
      },
      { entries: 1, bytes: 1 << 20 },
    );
    for (let i = 0; i < 5; i++) {
      s.add({ map: "m", key: bytes(`k${i}`), value: bytes("v"), expireAt: 0, version: i + 1 });
      if (s.full) await s.cut();
    }
    expect(await s.finish()).toBe(false);
    expect(calls).toBe(1);
    expect([s.sent, (s.error as Error).message]).toEqual([0, "cannot reach peer"]);
  });
});
