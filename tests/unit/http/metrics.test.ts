import { describe, expect, test } from "bun:test";
import { createHttpApp } from "../../../core/http/app.ts";
import { escapeLabel, renderMetrics } from "../../../core/http/metrics.ts";
import { one, parseExposition } from "./exposition.ts";
import { testNode } from "./test-node.ts";

describe("/metrics", () => {
  test("every line parses, every family has HELP and TYPE, values follow the node", async () => {
    const { node } = testNode();
    node.stats.countCommand("get");
    node.stats.countCommand("get");
    node.stats.countCommand("set");
    node.stats.hits = 5;
    node.stats.misses = 2;
    node.stats.evictions = 3;
    node.stats.expirations = 4;
    node.stats.connectionsCurrent = 6;
    node.stats.connectionsTotal = 9;
    for (const s of [0.00001, 0.0003, 0.0003, 0.02, 5]) node.stats.latency.observe(s);
    node.map("m").put("a", "1");
    node.map("m").put("b", "2");
    const app = createHttpApp(node, { rssBytes: () => 123_456_789 });
    await app.request("http://shoal/healthz");
    const r = await app.request("http://shoal/metrics");
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const fams = parseExposition(await r.text());

    const cmds = fams.get("shoal_commands_total")!;
    expect(cmds.type).toBe("counter");
    expect(cmds.samples.map((s) => [s.labels.command, s.value])).toEqual([
      ["get", 2],
      ["set", 1],
    ]);
    expect(one(fams, "shoal_keyspace_hits_total")).toBe(5);
    expect(one(fams, "shoal_keyspace_misses_total")).toBe(2);
    expect(one(fams, "shoal_keys")).toBe(2);
    expect(one(fams, "shoal_memory_used_bytes")).toBe(node.memoryBytes());
    expect(node.memoryBytes()).toBeGreaterThan(0);
    expect(one(fams, "shoal_evictions_total")).toBe(3);
    expect(one(fams, "shoal_expirations_total")).toBe(4);
    expect(one(fams, "shoal_connected_clients")).toBe(6);
    expect(one(fams, "shoal_connections_total")).toBe(9);
    expect(one(fams, "shoal_up")).toBe(1);
    expect(one(fams, "process_resident_memory_bytes")).toBe(123_456_789);
    expect(fams.get("shoal_http_requests_total")!.samples).toContainEqual({
      name: "shoal_http_requests_total",
      labels: { method: "GET", code: "200" },
      value: 1,
    });

    const h = fams.get("shoal_command_duration_seconds")!;
    expect(h.type).toBe("histogram");
    const buckets = h.samples.filter((s) => s.name.endsWith("_bucket"));
    const les = buckets.map((b) => Number(b.labels.le === "+Inf" ? Infinity : b.labels.le));
    expect(les).toEqual([...les].sort((a, b) => a - b));
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b)); // cumulative
    expect(buckets.find((b) => b.labels.le === "0.00005")!.value).toBe(1);
    expect(buckets.find((b) => b.labels.le === "0.0005")!.value).toBe(3);
    expect(buckets.find((b) => b.labels.le === "1")!.value).toBe(4);
    expect(buckets.at(-1)).toMatchObject({ labels: { le: "+Inf" }, value: 5 });
    expect(h.samples.find((s) => s.name.endsWith("_count"))!.value).toBe(5);
    expect(h.samples.find((s) => s.name.endsWith("_sum"))!.value).toBeCloseTo(5.02061, 5);
  });

  test("HTTP reads move the store's hit/miss counters; HTTP latency is a histogram", async () => {
    const { node } = testNode();
    const app = createHttpApp(node);
    await app.request("http://shoal/v1/maps/m/keys/k", { method: "PUT", body: "v" });
    await app.request("http://shoal/v1/maps/m/keys/k");
    await app.request("http://shoal/v1/maps/m/keys/missing");
    await app.request("http://shoal/v1/maps/no-such-map/keys/k");
    const fams = parseExposition(await (await app.request("http://shoal/metrics")).text());
    expect(one(fams, "shoal_keyspace_hits_total")).toBe(1);
    expect(one(fams, "shoal_keyspace_misses_total")).toBe(2);
    expect(node.mapNames()).not.toContain("no-such-map");
    const h = fams.get("shoal_http_request_duration_seconds")!;
    expect(h.type).toBe("histogram");
    expect(h.samples.find((x) => x.name.endsWith("_count"))!.value).toBe(4);
  });

  test("event-loop lag: the 10-s gauge follows the recorded lag and drops after the window, the max stays", () => {
    const { node, clock } = testNode();
    const gauges = () => {
      const fams = parseExposition(renderMetrics(node));
      expect(fams.get("shoal_event_loop_lag_seconds")!.type).toBe("gauge");
      expect(fams.get("shoal_event_loop_lag_max_seconds")!.type).toBe("gauge");
      return [one(fams, "shoal_event_loop_lag_seconds"), one(fams, "shoal_event_loop_lag_max_seconds")];
    };
    expect(gauges()).toEqual([0, 0]); // nothing samples (no runtime adapter): both 0
    const lag = node.stats.eventLoopLag;
    lag.started(100, clock.monotonic());
    clock.advance(100);
    lag.record(2, clock.monotonic());
    clock.advance(650);
    lag.record(550, clock.monotonic());
    expect(gauges()).toEqual([0.55, 0.55]);
    for (let i = 0; i < 120; i++) {
      clock.advance(100);
      lag.record(1, clock.monotonic());
    }
    expect(gauges()).toEqual([0.001, 0.55]); // 12 s later the stall left the window, not the max
  });

  test("without rssBytes there is no process family; label values are escaped", () => {
    const { node } = testNode();
    node.stats.countCommand('we"ird\\name\n');
    const text = renderMetrics(node);
    expect(text).not.toContain("process_resident_memory_bytes");
    const fams = parseExposition(text);
    expect(fams.get("shoal_commands_total")!.samples[0]!.labels.command).toBe('we"ird\\name\n');
    expect(escapeLabel('a"b')).toBe('a\\"b');
  });

  test("the parser rejects what Prometheus would reject", () => {
    expect(() => parseExposition("shoal_x 1\n")).toThrow(/HELP or TYPE/);
    expect(() => parseExposition("# HELP c x\n# TYPE c counter\nc 1\n")).toThrow(/_total/);
    expect(() => parseExposition('# HELP g x\n# TYPE g gauge\ng{a="b} 1\n')).toThrow();
    expect(() => parseExposition("# HELP g x\n# TYPE g gauge\ng one\n")).toThrow();
  });
});
