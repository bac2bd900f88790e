import { describe, expect, test } from "bun:test";
import { formatDuration, formatSize, parseDuration, parseSize } from "../../../core/units.ts";

describe("parseDuration", () => {
  test.each([
    [250, 250],
    ["250", 250],
    ["100ms", 100],
    ["5s", 5000],
    ["1.5s", 1500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    [" 30S ", 30_000],
    ["0", 0],
  ] as const)("%p → %p ms", (input, ms) => expect(parseDuration(input)).toBe(ms));

  test.each(["", "abc", "5x", "-1s", "1s2", "s", "1e3"])("rejects %p", (input) => expect(parseDuration(input)).toBeNull());
  test("rejects negative and non-finite numbers", () => {
    expect(parseDuration(-1)).toBeNull();
    expect(parseDuration(Number.NaN)).toBeNull();
    expect(parseDuration(Number.POSITIVE_INFINITY)).toBeNull();
  });
});

describe("parseSize", () => {
  test.each([
    [1000, 1000],
    ["512", 512],
    ["64kb", 65_536],
    ["64k", 65_536],
    ["64KiB", 65_536],
    ["512mb", 512 * 1024 ** 2],
    ["1gb", 1024 ** 3],
    ["1.5kb", 1536],
    ["2tb", 2 * 1024 ** 4],
  ] as const)("%p → %p bytes", (input, bytes) => expect(parseSize(input)).toBe(bytes));

  test.each(["", "lots", "64xb", "-5", "kb", "99999999999tb"])("rejects %p", (input) => expect(parseSize(input)).toBeNull());
});

test("format round-trips through parse", () => {
  for (const ms of [0, 1, 999, 1000, 1500, 60_000, 90_000, 3_600_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  for (const b of [0, 1, 1000, 1024, 65_536, 1024 ** 3, 3 * 1024 ** 2 + 1]) expect(parseSize(formatSize(b))).toBe(b);
  expect(formatDuration(30_000)).toBe("30s");
  expect(formatSize(64 * 1024)).toBe("64kb");
});
