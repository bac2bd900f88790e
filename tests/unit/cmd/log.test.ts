import { expect, test } from "bun:test";
import { createLogger, isSecretField, redact } from "../../../cmd/log.ts";

const at = Date.UTC(2026, 10, 23, 10, 0, 0);

function capture(format: "text" | "json", level: "debug" | "info" | "warn" | "error" = "info") {
  const lines: string[] = [];
  return { lines, log: createLogger({ format, level, write: (l) => lines.push(l), now: () => at }) };
}

test("text lines: time, level, event, key=value", () => {
  const { lines, log } = capture("text");
  log.info("shoal listening", { resp: "127.0.0.1:3320", n: 3, msg: "two words", ok: true });
  expect(lines).toEqual(['2026-11-23T10:00:00.000Z INFO shoal listening resp=127.0.0.1:3320 n=3 msg="two words" ok=true']);
});

test("json lines: one object per line", () => {
  const { lines, log } = capture("json");
  log.warn("peer slow", { peer: "a:1", ms: 12 });
  expect(JSON.parse(lines[0]!)).toEqual({ time: "2026-11-23T10:00:00.000Z", level: "warn", event: "peer slow", peer: "a:1", ms: 12 });
});

test("levels below the minimum are dropped", () => {
  const { lines, log } = capture("text", "warn");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  expect(lines.map((l) => l.split(" ")[1])).toEqual(["WARN", "ERROR"]);
});

test("secrets never reach the output, data keys do", () => {
  for (const format of ["text", "json"] as const) {
    const { lines, log } = capture(format);
    log.info("config", { requirepass: "hunter2", consulToken: "tok-123", apiKey: "k-9", nested: { password: "p4ss" }, key: "user:1", keys: 10 });
    const out = lines.join("\n");
    for (const secret of ["hunter2", "tok-123", "k-9", "p4ss"]) expect(out).not.toContain(secret);
    expect(out).toContain("user:1");
    expect(out).toContain("[redacted]");
  }
  expect(isSecretField("consul_token")).toBe(true);
  expect(isSecretField("SHOAL_REQUIREPASS")).toBe(true);
  expect(isSecretField("key")).toBe(false);
  expect(isSecretField("maxKeys")).toBe(false);
  expect(redact({ a: [{ secret: "x" }] })).toEqual({ a: [{ secret: "[redacted]" }] });
});
