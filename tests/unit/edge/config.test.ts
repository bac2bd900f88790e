import { describe, expect, test } from "bun:test";
import { ConfigError, defaultConfig, loadConfig } from "../../../core/config.ts";
import { nodeSettings } from "../../../core/node-settings.ts";

const files = (m: Record<string, string>) => (p: string) => m[p] ?? null;
const load = (argv: string[], yaml?: string, env: Record<string, string> = {}) =>
  loadConfig({ argv, env, readFile: files(yaml === undefined ? {} : { "shoal.yaml": yaml }) });
const problems = (fn: () => unknown): readonly string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
};

describe("edge configuration", () => {
  test("--origin, SHOAL_ORIGIN and origin: set the origin; the trailing slash is dropped", () => {
    expect(load(["--origin", "http://127.0.0.1:8080/"]).origin).toBe("http://127.0.0.1:8080");
    expect(load([], undefined, { SHOAL_ORIGIN: "https://cdn.example/base/" }).origin).toBe("https://cdn.example/base");
    expect(load([], "origin: http://o:1\nedge_port: 4390\n").edgePort).toBe(4390);
    expect(defaultConfig().origin).toBeUndefined();
    expect(defaultConfig().edgePort).toBe(3390);
  });

  test("routes: per path prefix, with an optional ttl", () => {
    const c = load([], "routes:\n  - { prefix: /api/, origin: http://a:1, ttl: 30s }\n  - { prefix: /s/, origin: http://b:2/ }\n");
    expect(c.routes).toEqual([
      { prefix: "/api/", origin: "http://a:1", ttlMs: 30_000 },
      { prefix: "/s/", origin: "http://b:2" },
    ]);
  });

  test("bad origins and routes are named with the fix", () => {
    expect(problems(() => load(["--origin", "ftp://x"]))).toEqual(['--origin: expected an http:// or https:// URL (scheme ftp: is not supported), got "ftp://x"']);
    expect(problems(() => load(["--origin", "http://x/?a=1"]))[0]).toContain("takes no query");
    expect(problems(() => load(["--origin", "not a url"]))[0]).toContain("expected an http:// or https:// URL");
    expect(problems(() => load([], "routes:\n  - { prefix: api, origin: http://a:1, tll: 30s }\n"))).toEqual([
      'shoal.yaml: routes.0.prefix: a route prefix starts with /, got "api"',
      "shoal.yaml: routes.0: unknown setting(s) tll",
    ]);
    expect(problems(() => load([], "routes:\n  - { prefix: /a, origin: http://a:1 }\n  - { prefix: /a, origin: http://b:1 }\n"))).toEqual([
      "shoal.yaml: routes: prefix /a is listed twice",
    ]);
  });

  test("the edge port must not clash, and objects must fit a peer frame and the value limit", () => {
    expect(problems(() => load(["--origin", "http://a", "--edge-port", "3380"]))).toEqual(["--edge-port: must differ from --http-port (3380)"]);
    expect(load(["--edge-port", "3380"]).edgePort).toBe(3380); // no origin: no edge listener, no clash
    expect(problems(() => load(["--edge-max-object-size", "100mb"]))[0]).toContain("at most 48mb");
    expect(problems(() => load(["--origin", "http://a", "--edge-max-object-size", "2mb", "--max-value-bytes", "1mb"]))[0]).toContain("must not exceed --max-value-bytes");
    expect(load(["--max-value-bytes", "1mb"]).maxValueBytes).toBe(1024 * 1024); // no edge cache: no conflict
  });

  test("--edge-max-memory bounds the edge map unless maps.<edge map>.max_inuse is set", () => {
    expect(nodeSettings(load(["--origin", "http://a", "--edge-max-memory", "64mb"])).maps.edge).toEqual({ maxInuse: 64 * 1024 * 1024 });
    expect(nodeSettings(load(["--origin", "http://a"], "maps:\n  edge: { max_inuse: 1mb, ttl: 5s }\n")).maps.edge).toEqual({ maxInuse: 1024 * 1024, ttlMs: 5000 });
    expect(nodeSettings(load([])).maps.edge).toBeUndefined();
  });
});
