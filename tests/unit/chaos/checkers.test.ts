import { describe, expect, test } from "bun:test";
import {
  checkCounters,
  checkExpiry,
  checkHistory,
  checkLinearizable,
  checkLiveness,
  checkLocks,
  checkLostWrites,
  checkResurrection,
  formatViolation,
  lockOverlaps,
} from "../../../chaos/checkers.ts";
import { FINAL_CLIENT, type History, historyHash, type Op } from "../../../chaos/history.ts";

type Spec = [client: number, kind: Op["kind"], key: string, value: Op["value"], inv: number, comp: number, outcome: Op["outcome"], result?: Op["result"]];

/** A history from compact rows. */
function H(...rows: Spec[]): History {
  return {
    ops: rows.map(([client, kind, key, value, invokeMs, completeMs, outcome, result], id) => ({
      id,
      client,
      kind,
      key,
      value,
      invokeMs,
      completeMs,
      outcome,
      result: result ?? null,
    })),
  };
}

describe("linearizability of a register", () => {
  test("accepts a correct concurrent history, including an unknown write read later", () => {
    const h = H(
      [1, "put", "k", "a", 0, 10, "ok"],
      [2, "put", "k", "b", 5, 15, "ok"],
      [3, "get", "k", null, 6, 16, "ok", "a"], // concurrent with b: a is fine
      [3, "get", "k", null, 20, 25, "ok", "b"],
      [1, "put", "k", "c", 30, Number.POSITIVE_INFINITY, "unknown"],
      [2, "get", "k", null, 40, 45, "ok", "b"], // c may not have happened yet
      [2, "get", "k", null, 50, 55, "ok", "c"], // ... and now it did
      [1, "delete", "k", null, 60, 65, "ok", 1],
      [3, "get", "k", null, 70, 75, "ok", null],
    );
    expect(checkHistory(h)).toEqual([]);
  });

  test("catches a stale read after an acknowledged write", () => {
    const h = H(
      [1, "put", "k", "a", 0, 10, "ok"],
      [1, "put", "k", "b", 20, 30, "ok"],
      [2, "get", "k", null, 40, 45, "ok", "a"],
    );
    const v = checkLinearizable(h);
    expect(v).toHaveLength(1);
    expect(v[0]!.checker).toBe("linearizable");
    expect(v[0]!.key).toBe("k");
    expect(v[0]!.ops.map((o) => o.id)).toContain(2);
    expect(formatViolation(v[0]!, 7)).toContain("seed 7: [linearizable] key k");
  });

  test("catches reads that go back in time (a then b then a again)", () => {
    const h = H(
      [1, "put", "k", "a", 0, 10, "ok"],
      [2, "put", "k", "b", 5, 100, "ok"],
      [3, "get", "k", null, 20, 25, "ok", "b"],
      [3, "get", "k", null, 30, 35, "ok", "a"],
    );
    expect(checkLinearizable(h)).toHaveLength(1);
  });

  test("a failed write never happened", () => {
    const h = H([1, "put", "k", "a", 0, 10, "fail"], [2, "get", "k", null, 20, 25, "ok", "a"]);
    expect(checkLinearizable(h)).toHaveLength(1);
  });
});

describe("lost writes", () => {
  test("catches an acknowledged write missing from the final read", () => {
    const h = H(
      [1, "put", "k", "a", 0, 10, "ok"],
      [2, "put", "k", "b", 20, 30, "ok"],
      [FINAL_CLIENT, "get", "k", null, 100, 101, "ok", "a"],
    );
    const v = checkLostWrites(h);
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toContain('put k="b"');
  });

  test("a concurrent or unknown later write explains the final value", () => {
    const h = H(
      [1, "put", "k", "a", 0, 10, "ok"],
      [2, "put", "k", "b", 5, 30, "ok"],
      [3, "put", "k", "c", 40, Number.POSITIVE_INFINITY, "unknown"],
      [FINAL_CLIENT, "get", "k", null, 100, 101, "ok", "c"],
    );
    expect(checkLostWrites(h)).toEqual([]);
    const h2 = H([1, "put", "k", "a", 0, 10, "ok"], [FINAL_CLIENT, "get", "k", null, 100, 101, "ok", null]);
    expect(checkLostWrites(h2)).toHaveLength(1);
  });
});

describe("resurrection", () => {
  test("catches a deleted value coming back", () => {
    const h = H(
      [1, "put", "k", "a", 0, 10, "ok"],
      [1, "delete", "k", null, 20, 30, "ok", 1],
      [2, "get", "k", null, 40, 45, "ok", null],
      [2, "get", "k", null, 50, 55, "ok", "a"],
    );
    const v = checkResurrection(h);
    expect(v).toHaveLength(1);
    expect(v[0]!.checker).toBe("resurrection");
    // the report lists the delete, the bad read and what happened on the key between them
    expect(v[0]!.ops.map((o) => o.id)).toEqual([1, 2, 3]);
  });

  test("a put after the delete is not a resurrection", () => {
    const h = H(
      [1, "put", "k", "a", 0, 10, "ok"],
      [1, "delete", "k", null, 20, 30, "ok", 1],
      [1, "put", "k", "b", 35, 38, "ok"],
      [2, "get", "k", null, 50, 55, "ok", "b"],
    );
    expect(checkResurrection(h)).toEqual([]);
  });
});

describe("counters", () => {
  test("accepts exact counting with an unknown increment", () => {
    const h = H(
      [1, "incr", "c", 1, 0, 10, "ok", 1],
      [2, "incr", "c", 1, 5, 15, "ok", 2],
      [3, "incr", "c", 1, 20, Number.POSITIVE_INFINITY, "unknown"],
      [1, "incr", "c", 1, 30, 35, "ok", 4],
      [FINAL_CLIENT, "get", "c", null, 100, 101, "ok", "4"],
    );
    expect(checkCounters(h)).toEqual([]);
  });

  test("catches an increment counted twice (duplicate result)", () => {
    const h = H([1, "incr", "c", 1, 0, 10, "ok", 1], [2, "incr", "c", 1, 5, 15, "ok", 1]);
    expect(checkCounters(h)[0]!.message).toContain("two acknowledged INCRs returned 1");
  });

  test("catches a lost increment (counter went back)", () => {
    const h = H([1, "incr", "c", 1, 0, 10, "ok", 1], [1, "incr", "c", 1, 20, 30, "ok", 2], [2, "incr", "c", 1, 40, 45, "ok", 1]);
    expect(checkCounters(h)).toHaveLength(1);
    const h2 = H([1, "incr", "c", 1, 0, 10, "ok", 1], [1, "incr", "c", 1, 20, 30, "ok", 2], [FINAL_CLIENT, "get", "c", null, 50, 51, "ok", "1"]);
    expect(checkCounters(h2)[0]!.message).toContain("had already returned 2");
  });

  test("catches a final value above every possible increment", () => {
    const h = H([1, "incr", "c", 1, 0, 10, "ok", 1], [FINAL_CLIENT, "get", "c", null, 50, 51, "ok", "2"]);
    expect(checkCounters(h)[0]!.message).toContain("counted twice");
  });
});

describe("locks", () => {
  test("accepts hand-overs through unlock and lease expiry with growing tokens", () => {
    const h = H(
      [1, "lock", "l", 1000, 0, 10, "ok", "1:aa"],
      [1, "unlock", "l", "1:aa", 100, 110, "ok"],
      [2, "lock", "l", 1000, 105, 120, "ok", "2:bb"],
      [3, "lock", "l", 1000, 1200, 1210, "ok", "3:cc"], // 2's lease ran out at 1105
    );
    expect(checkLocks(h, 0)).toEqual([]);
  });

  test("catches two holders at once", () => {
    const h = H([1, "lock", "l", 1000, 0, 10, "ok", "1:aa"], [2, "lock", "l", 1000, 50, 60, "ok", "2:bb"]);
    // leases alone (mutex mode) forbid it; with fencing the larger later token tells them apart
    expect(checkLocks(h, 0, "mutex")[0]!.message).toContain("two holders at once");
    expect(checkLocks(h, 0, "fencing")).toEqual([]);
    expect(lockOverlaps(h, 0)).toBe(1);
    const same = H([1, "lock", "l", 1000, 0, 10, "ok", "2:aa"], [2, "lock", "l", 1000, 5, 60, "ok", "2:bb"]);
    expect(checkLocks(same, 0)[0]!.message).toContain("same fencing token");
  });

  test("catches a fencing token going backwards (e.g. after the owner lost its lock table)", () => {
    const h = H([1, "lock", "l", 100, 0, 10, "ok", "5:aa"], [2, "lock", "l", 100, 500, 510, "ok", "1:bb"]);
    expect(checkLocks(h, 0)[0]!.message).toContain("fencing token went backwards");
  });

  test("clock slack shortens the lease the client may count on", () => {
    const h = H([1, "lock", "l", 1000, 0, 10, "ok", "1:aa"], [2, "lock", "l", 1000, 950, 960, "ok", "2:bb"]);
    expect(checkLocks(h, 0, "mutex")).toHaveLength(1);
    expect(checkLocks(h, 100, "mutex")).toEqual([]);
  });
});

describe("expiry", () => {
  test("catches a value read after its ttl ran out", () => {
    const h = H([1, "put", "x", "a", 0, 10, "ok"], [1, "expire", "x", 100, 20, 30, "ok", 1], [2, "get", "x", null, 200, 205, "ok", "a"]);
    expect(checkExpiry(h, 0)).toHaveLength(1);
    expect(checkExpiry(h, 500)).toEqual([]);
    const rewritten = H(
      [1, "put", "x", "a", 0, 10, "ok"],
      [1, "expire", "x", 100, 20, 30, "ok", 1],
      [1, "put", "x", "b", 150, 160, "ok"],
      [2, "get", "x", null, 200, 205, "ok", "b"],
    );
    expect(checkExpiry(rewritten, 0)).toEqual([]);
  });
});

describe("liveness", () => {
  test("passes when converged within the bound, reports who is off otherwise", () => {
    const base = {
      boundMs: 30_000,
      expectedMembers: ["a", "b"],
      views: { a: ["a", "b"], b: ["a"] },
      ready: { a: true, b: false },
      underReplicated: { a: [], b: [1, 2] },
      replicaCount: 2,
    };
    expect(checkLiveness({ ...base, convergedAfterMs: 1200 })).toEqual([]);
    const v = checkLiveness({ ...base, convergedAfterMs: null });
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toContain("b sees [a]");
    expect(v[0]!.message).toContain("b not ready");
    expect(v[0]!.message).toContain("2 partitions");
  });
});

describe("history", () => {
  test("the hash follows the content", () => {
    const a = H([1, "put", "k", "a", 0, 10, "ok"]);
    const b = H([1, "put", "k", "a", 0, 11, "ok"]);
    expect(historyHash(a)).toBe(historyHash(H([1, "put", "k", "a", 0, 10, "ok"])));
    expect(historyHash(a)).not.toBe(historyHash(b));
  });
});
