import { describe, expect, test } from "bun:test";
import { ConfigError, configHelp, defaultConfig, loadConfig, mapLimitsFor, PRESETS, ShoalConfig, ShoalConfigFields } from "../../../core/config.ts";
import { envName, flagName, yamlName } from "../../../core/config-load.ts";

const files = (map: Record<string, string>) => (path: string) => map[path] ?? null;
const load = (argv: string[] = [], env: Record<string, string> = {}, yaml?: string) =>
  loadConfig({ argv, env, readFile: files(yaml === undefined ? {} : { "shoal.yaml": yaml }), hostname: "box" });

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  test("match DESIGN.md and the issue", () => {
    const c = load();
    expect(c.port).toBe(3320);
    expect(c.httpPort).toBe(3380);
    expect(c.peerPort).toBe(3322);
    expect(c.bind).toBe("127.0.0.1");
    expect(c.nodeName).toBe("box-3320");
    expect(c.requirepass).toBeUndefined();
    expect(c.maxClients).toBe(10_000);
    expect(c.maxKeyBytes).toBe(64 * 1024);
    expect(c.maxValueBytes).toBe(512 * 1024 * 1024);
    expect(c.maxMultibulkLen).toBe(1_048_576);
    expect(c.maxInlineBytes).toBe(64 * 1024);
    expect(c.maxQueryBufferBytes).toBe(1024 ** 3);
    expect(c.frameTimeoutMs).toBe(30_000);
    expect(c.idleTimeoutMs).toBe(0);
    expect([c.logFormat, c.logLevel]).toEqual(["text", "info"]);
    expect([c.ttlMs, c.maxIdleMs, c.maxKeys, c.maxInuse]).toEqual([0, 0, 0, 0]);
    expect(c.preset).toBe("lan");
    expect(c.peers).toEqual([]);
    expect([c.replicaCount, c.writeQuorum, c.readQuorum, c.memberCountQuorum]).toEqual([1, 1, 1, 1]);
    expect(c.partitionCount).toBe(271);
    expect(c.leaveTimeoutMs).toBe(5000);
    expect(c.replicationMode).toBe("sync");
    expect(c.discovery).toBe("static");
  });

  test("ShoalConfig.parse({}) and defaultConfig give the same defaults", () => {
    expect(ShoalConfig.parse({}).port).toBe(3320);
    expect(defaultConfig({ port: 4000 }).nodeName).toBe("shoal-4000");
    expect(() => defaultConfig({ writeQuorum: 3 })).toThrow();
  });
});

describe("precedence: flags > env > file > defaults", () => {
  const yaml = "port: 1111\nhttp_port: 2222\npeer-port: 3333\nlogLevel: warn\n";
  test("each layer overrides the one below", () => {
    const c = load(["--port", "9999"], { SHOAL_PORT: "8888", SHOAL_HTTP_PORT: "7777" }, yaml);
    expect(c.port).toBe(9999);
    expect(c.httpPort).toBe(7777);
    expect(c.peerPort).toBe(3333);
    expect(c.logLevel).toBe("warn");
    expect(c.bind).toBe("127.0.0.1");
  });
  test("--flag=value form and --config path", () => {
    const c = loadConfig({ argv: ["--config", "/etc/s.yaml", "--bind=0.0.0.0"], env: {}, readFile: files({ "/etc/s.yaml": "port: 4444" }) });
    expect([c.port, c.bind]).toEqual([4444, "0.0.0.0"]);
  });
  test("SHOAL_CONFIG names the file when no --config is given", () => {
    const c = loadConfig({ argv: [], env: { SHOAL_CONFIG: "x.yaml" }, readFile: files({ "x.yaml": "port: 5555" }) });
    expect(c.port).toBe(5555);
  });
  test("a missing explicit file is an error, a missing ./shoal.yaml is not", () => {
    expect(problems(() => loadConfig({ argv: ["--config", "nope.yaml"], env: {}, readFile: files({}) }))).toEqual([
      "--config: file not found: nope.yaml",
    ]);
    expect(load().port).toBe(3320);
  });
  test("an unreadable file is reported, not thrown raw", () => {
    const readFile = () => {
      throw new Error("EISDIR");
    };
    expect(problems(() => loadConfig({ argv: ["--config", "/etc"], env: {}, readFile }))).toEqual(["--config: cannot read /etc: EISDIR"]);
  });
  test("empty env values are ignored", () => {
    expect(load([], { SHOAL_PORT: "" }).port).toBe(3320);
  });
});

describe("value forms", () => {
  test("durations and sizes from every source", () => {
    const c = load(["--frame-timeout", "100ms", "--max-inuse", "64mb"], { SHOAL_IDLE_TIMEOUT: "2m", SHOAL_MAX_KEY_BYTES: "1kb" }, "ttl: 5s\nmax_idle: 1500\nmax_value_bytes: 1gb\n");
    expect(c.frameTimeoutMs).toBe(100);
    expect(c.maxInuse).toBe(64 * 1024 ** 2);
    expect(c.idleTimeoutMs).toBe(120_000);
    expect(c.maxKeyBytes).toBe(1024);
    expect(c.ttlMs).toBe(5000);
    expect(c.maxIdleMs).toBe(1500);
    expect(c.maxValueBytes).toBe(1024 ** 3);
  });
  test("peers as a comma list or a YAML list", () => {
    expect(load(["--peers", "a:3322, b:3322,[::1]:7"]).peers).toEqual(["a:3322", "b:3322", "[::1]:7"]);
    expect(load([], {}, "peers:\n  - 10.0.0.1:3322\n  - 10.0.0.2:3322\n").peers).toEqual(["10.0.0.1:3322", "10.0.0.2:3322"]);
  });
  test("boolean flags may omit the value", () => {
    expect(load(["--consul-register"]).consulRegister).toBe(true);
    expect(load(["--consul-register", "--port", "4000"]).consulRegister).toBe(true);
    expect(load(["--consul-register", "no"]).consulRegister).toBe(false);
    expect(load([], { SHOAL_CONSUL_REGISTER: "true" }).consulRegister).toBe(true);
  });
  test("discovery plugin options pass through", () => {
    const c = load(["--discovery", "dns"], { SHOAL_DNS_NAME: "_shoal._tcp.example" }, "discovery_options:\n  weight: 3\n");
    expect(c.discovery).toBe("dns");
    expect(c.dnsName).toBe("_shoal._tcp.example");
    expect(c.discoveryOptions).toEqual({ weight: 3 });
  });
  test("aliases: DESIGN.md's SHOAL_DNS_SRV sets dnsName", () => {
    expect(load([], { SHOAL_DNS_SRV: "_shoal._tcp.example" }).dnsName).toBe("_shoal._tcp.example");
    expect(load(["--dns-srv", "a.example"]).dnsName).toBe("a.example");
    expect(load([], { SHOAL_DNS_NAME: "n", SHOAL_DNS_SRV: "s" }).dnsName).toBe("n");
    expect(load([], {}, "dns_srv: y.example\n").dnsName).toBe("y.example");
  });
  test("per-map overrides from YAML, kebab or snake keys", () => {
    const c = load(["--max-keys", "100"], {}, "ttl: 1m\nmaps:\n  sessions:\n    ttl: 5m\n    max-inuse: 64mb\n  hot: { max_keys: 10 }\n");
    expect(mapLimitsFor(c, "sessions")).toEqual({ ttlMs: 300_000, maxIdleMs: 0, maxKeys: 100, maxInuse: 64 * 1024 ** 2 });
    expect(mapLimitsFor(c, "hot")).toEqual({ ttlMs: 60_000, maxIdleMs: 0, maxKeys: 10, maxInuse: 0 });
    expect(mapLimitsFor(c, "other")).toEqual({ ttlMs: 60_000, maxIdleMs: 0, maxKeys: 100, maxInuse: 0 });
  });
});

describe("presets", () => {
  test("each preset sets the cluster timings", () => {
    for (const name of ["local", "lan", "wan"] as const) {
      const c = load(["--preset", name]);
      for (const [key, value] of Object.entries(PRESETS[name])) expect(c[key as keyof typeof c]).toBe(value);
    }
    expect(PRESETS.local.probeTimeoutMs).toBeLessThan(PRESETS.wan.probeTimeoutMs);
  });
  test("explicit values beat the preset, whatever their source", () => {
    const c = load(["--preset", "wan", "--probe-interval", "2s"], { SHOAL_SUSPICION_MULT: "9" }, "leave_timeout: 1s\n");
    expect(c.probeIntervalMs).toBe(2000);
    expect(c.suspicionMult).toBe(9);
    expect(c.leaveTimeoutMs).toBe(1000);
    expect(c.probeTimeoutMs).toBe(PRESETS.wan.probeTimeoutMs);
  });
  test("preset from env, case-insensitive", () => {
    expect(load([], { SHOAL_PRESET: "LOCAL" }).preset).toBe("local");
  });
});

describe("bad input: one clear message per field", () => {
  test("flags name the flag and quote the value", () => {
    expect(problems(() => load(["--port", "abc"]))).toEqual(['--port: expected an integer 1-65535, got "abc"']);
  });
  test("every problem is listed at once, labelled by source", () => {
    const got = problems(() => load(["--port", "0", "--max-key-bytes", "12zz"], { SHOAL_LOG_LEVEL: "loud", SHOAL_FRAME_TIMEOUT: "soon" }, "http_port: 70000\npeers: nohost\n"));
    expect(got).toEqual([
      '--port: expected an integer 1-65535, got "0"',
      "shoal.yaml: http_port: expected an integer 1-65535, got 70000",
      '--max-key-bytes: expected a size such as 64kb, 512mb, 1gb (or a number of bytes), got "12zz"',
      'SHOAL_FRAME_TIMEOUT: expected a duration such as 500ms, 5s, 2m (or a number of milliseconds), got "soon"',
      'SHOAL_LOG_LEVEL: expected one of debug|info|warn|error, got "loud"',
      'shoal.yaml: peers.0: expected host:port addresses separated by commas, got "nohost"',
    ]);
  });

  const cases: [string[], string][] = [
    [["--http-port", "-1"], '--http-port: expected an integer 1-65535, got "-1"'],
    [["--peer-port", "1.5"], '--peer-port: expected an integer 1-65535, got "1.5"'],
    [["--bind", ""], '--bind: expected a non-empty string, got ""'],
    [["--max-clients", "0"], '--max-clients: expected an integer 1-1000000, got "0"'],
    [["--max-multibulk-len", "x"], '--max-multibulk-len: expected an integer 1-2147483647, got "x"'],
    [["--max-inline-bytes", "1qb"], '--max-inline-bytes: expected a size such as 64kb, 512mb, 1gb (or a number of bytes), got "1qb"'],
    [["--idle-timeout", "-5s"], '--idle-timeout: expected a duration such as 500ms, 5s, 2m (or a number of milliseconds), got "-5s"'],
    [["--log-format", "xml"], '--log-format: expected one of text|json, got "xml"'],
    [["--preset", "mars"], '--preset: expected one of local|lan|wan, got "mars"'],
    [["--replica-count", "17"], '--replica-count: expected an integer 1-16, got "17"'],
    [["--partition-count", "0"], '--partition-count: expected an integer 1-16384, got "0"'],
    [["--replication-mode", "eventually"], '--replication-mode: expected one of sync|async, got "eventually"'],
    [["--discovery", "carrier-pigeon"], '--discovery: expected one of static|dns|consul|kubernetes|plugin, got "carrier-pigeon"'],
    [["--consul-register", "maybe"], '--consul-register: expected true or false, got "maybe"'],
    [["--peers", "a:1,b"], '--peers.1: expected host:port addresses separated by commas, got "b"'],
    [["--write-quorum", "2"], "--write-quorum: must not exceed --replica-count (1), got 2"],
    [["--replica-count", "2", "--read-quorum", "3"], "--read-quorum: must not exceed --replica-count (2), got 3"],
    [["--http-port", "3320"], "--http-port: must differ from --port (3320)"],
    [["--nope", "1"], "--nope: unknown flag (see shoal serve --help)"],
    [["--maps", "x"], "--maps: unknown flag (see shoal serve --help)"],
    [["--port"], "--port: expected a value"],
    [["serve"], 'unexpected argument "serve" (flags look like --port 3320)'],
  ];
  test.each(cases)("%p", (argv, message) => expect(problems(() => load(argv))).toEqual([message]));

  test("YAML problems", () => {
    expect(problems(() => load([], {}, "port: [1\n"))[0]).toStartWith("shoal.yaml: invalid YAML:");
    expect(problems(() => load([], {}, "- a\n"))).toEqual(["shoal.yaml: expected a mapping of settings at the top level"]);
    expect(problems(() => load([], {}, "bogus: 1\n"))).toEqual(["shoal.yaml: bogus: unknown setting"]);
    expect(problems(() => load([], {}, "maps:\n  s: { ttl: 5x, foo: 1 }\n"))).toEqual([
      'shoal.yaml: maps.s.ttl: expected a duration such as 500ms, 5s, 2m (or a number of milliseconds), got "5x"',
      "shoal.yaml: maps.s: unknown setting(s) foo",
    ]);
  });

  test("the error message lists every problem", () => {
    try {
      load(["--port", "abc", "--bind", ""]);
    } catch (err) {
      expect((err as Error).message).toBe('invalid configuration:\n  --port: expected an integer 1-65535, got "abc"\n  --bind: expected a non-empty string, got ""');
    }
  });
});

describe("help", () => {
  test("names every field's flag, env and YAML key", () => {
    const help = configHelp();
    for (const key of Object.keys(ShoalConfigFields.shape)) {
      if (key === "maps" || key === "discoveryOptions" || key === "routes") {
        expect(help).toContain(`${yamlName(key)}: (shoal.yaml only)`);
        continue;
      }
      expect(help).toContain(`--${flagName(key)} `);
      expect(help).toContain(envName(key));
    }
    expect(help).toContain("--port <1-65535>");
    expect(help).toContain("[default 30s]");
    expect(help).toContain("[default 512mb]");
    expect(help).toContain("2s/5s/15s by preset");
  });
  test("naming rules", () => {
    expect(flagName("frameTimeoutMs")).toBe("frame-timeout");
    expect(envName("httpPort")).toBe("SHOAL_HTTP_PORT");
    expect(envName("k8sNamespace")).toBe("SHOAL_K8S_NAMESPACE");
    expect(yamlName("maxQueryBufferBytes")).toBe("max_query_buffer_bytes");
  });
});
