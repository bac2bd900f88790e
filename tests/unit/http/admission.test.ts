/**
 * Issue 13 part 4 (pure parts): the HTTP request admission table and the
 * bounded metric labels. An unauthenticated client sending 300 requests
 * with made-up methods and paths adds no series per method or path.
 */
import { describe, expect, test } from "bun:test";
import { HttpAdmission, refusalBody } from "../../../core/http/admission.ts";
import { createHttpApp } from "../../../core/http/app.ts";
import { requestLabels } from "../../../core/http/metrics.ts";
import { parseExposition } from "./exposition.ts";
import { testNode } from "./test-node.ts";

describe("HttpAdmission", () => {
  test("counts in total and per IP; release frees the slot once", () => {
    const a = new HttpAdmission({ maxRequests: 3, maxRequestsPerIp: 2 });
    const r1 = a.admit("10.0.0.1");
    const r2 = a.admit("10.0.0.1");
    expect(typeof r1).toBe("function");
    expect(typeof r2).toBe("function");
    expect(a.admit("10.0.0.1")).toEqual({ kind: "per-ip", limit: 2 });
    const r3 = a.admit("10.0.0.2");
    expect(typeof r3).toBe("function");
    expect(a.admit("10.0.0.3")).toEqual({ kind: "total", limit: 3 });
    (r1 as () => void)();
    (r1 as () => void)(); // a second call does nothing
    expect(a.inProgress).toBe(2);
    expect(typeof a.admit("10.0.0.1")).toBe("function");
    expect(a.admit("10.0.0.1")).toEqual({ kind: "total", limit: 3 });
  });

  test("0 means unlimited", () => {
    const a = new HttpAdmission({ maxRequests: 0, maxRequestsPerIp: 0 });
    for (let i = 0; i < 1000; i++) expect(typeof a.admit("10.0.0.1")).toBe("function");
    expect(a.inProgress).toBe(1000);
  });

  test("refusal bodies name the setting", () => {
    expect(refusalBody({ kind: "total", limit: 5 })).toEqual({
      error: "BUSY",
      message: "the node already handles 5 HTTP requests (--http-max-requests); retry later",
    });
    expect(refusalBody({ kind: "per-ip", limit: 2 })).toEqual({
      error: "BUSY",
      message: "this IP address already has 2 HTTP requests in progress (--http-max-requests-per-ip); retry later",
    });
  });
});

describe("metric labels are bounded before authentication", () => {
  test("requestLabels keeps known methods and valid statuses only", () => {
    expect(requestLabels("GET", 200)).toEqual(["GET", "200"]);
    expect(requestLabels("DELETE", 404)).toEqual(["DELETE", "404"]);
    expect(requestLabels("FOOBAR", 200)).toEqual(["other", "200"]);
    expect(requestLabels("get", 200)).toEqual(["other", "200"]);
    expect(requestLabels("GET", 0)).toEqual(["GET", "other"]);
  });

  test("300 made-up methods and paths without credentials add one series at most", async () => {
    const { node } = testNode({ requirepass: "pw" });
    const app = createHttpApp(node, { auth: node });
    for (let i = 0; i < 300; i++) {
      const r = await app.request(`http://shoal/nope/${i}/${"x".repeat(i)}`, { method: `M${i}X` });
      expect([401, 404]).toContain(r.status);
    }
    const m = await app.request("http://shoal/metrics", { headers: { authorization: "Bearer pw" } });
    const series = parseExposition(await m.text()).get("shoal_http_requests_total")!.samples;
    // Bun's Request turns an unknown method into GET; another runtime's would count as "other"
    for (const s of series) expect(["GET", "other"]).toContain(s.labels.method);
    for (const s of series) expect(Object.keys(s.labels).sort()).toEqual(["code", "method"]);
    expect(series.length).toBeLessThanOrEqual(2);
    expect(series.reduce((n, s) => n + s.value, 0)).toBe(300);
  });
});
