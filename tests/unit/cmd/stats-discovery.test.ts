/** `shoal stats` shows what discovery last saw, when, through which server, and its last error. */
import { expect, test } from "bun:test";
import { formatDiscovery } from "../../../cmd/stats.ts";

test("discovery rows: peers, time, name/server/transport; the last error with the failures since", () => {
  const at = Date.UTC(2026, 0, 2, 3, 4, 5);
  expect(
    formatDiscovery({
      plugin: "dns",
      lastResult: { peers: ["10.0.0.1:3322", "10.0.0.2:3322"], at, detail: { name: "shoal.svc.local", server: "10.0.0.53:53", transport: "tcp" } },
      lastError: { message: "A shoal: no UDP answer", at: at + 5000 },
      failuresSinceResult: 3,
    }),
  ).toEqual([
    ["discovery", "dns: 2 peer(s) at 2026-01-02T03:04:05.000Z (shoal.svc.local via 10.0.0.53:53 tcp)"],
    ["", "last error at 2026-01-02T03:04:10.000Z (3 since the last answer): A shoal: no UDP answer"],
  ]);
  expect(formatDiscovery({ plugin: "consul", lastResult: null, lastError: null, failuresSinceResult: 0 })).toEqual([["discovery", "consul: no answer yet"]]);
  expect(formatDiscovery(undefined)).toEqual([]);
});
