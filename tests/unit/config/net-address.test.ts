import { describe, expect, test } from "bun:test";
import { type AdvertiseRuntime, resolveAdvertise } from "../../../cmd/advertise.ts";
import { ConfigError, loadConfig } from "../../../core/config.ts";
import {
  chooseAdvertiseHost,
  type InterfaceAddress,
  isIPv6,
  isLinkLocalHost,
  isLoopbackHost,
  isWildcardHost,
  joinHostPort,
  splitHostPort,
} from "../../../core/net-address.ts";

const lo: InterfaceAddress[] = [
  { name: "lo", address: "127.0.0.1", family: "IPv4", internal: true },
  { name: "lo", address: "::1", family: "IPv6", internal: true },
];
const eth0: InterfaceAddress = { name: "eth0", address: "10.1.2.3", family: "IPv4", internal: false };
const eth0v6: InterfaceAddress = { name: "eth0", address: "fd00::3", family: "IPv6", internal: false };
const eth0ll: InterfaceAddress = { name: "eth0", address: "fe80::1", family: "IPv6", internal: false };
const wlan0: InterfaceAddress = { name: "wlan0", address: "192.168.7.9", family: "IPv4", internal: false };

describe("host:port text", () => {
  test.each([
    ["10.0.0.5:3322", "10.0.0.5", 3322],
    ["[fd00::5]:3322", "fd00::5", 3322],
    ["[::1]:1", "::1", 1],
    ["node-1.example:65535", "node-1.example", 65535],
  ])("%s splits and joins back", (text, host, port) => {
    expect(splitHostPort(text)).toEqual({ host, port });
    expect(joinHostPort(host, port)).toBe(text);
  });

  test("bare hosts take the default port; bare IPv6 literals are hosts, not host:port", () => {
    expect(splitHostPort("10.0.0.5", 3322)).toEqual({ host: "10.0.0.5", port: 3322 });
    expect(splitHostPort("fd00::5", 3322)).toEqual({ host: "fd00::5", port: 3322 });
    expect(splitHostPort("[fd00::5]", 3322)).toEqual({ host: "fd00::5", port: 3322 });
    expect(() => splitHostPort("fd00::5")).toThrow(/host:port/);
  });

  test.each(["10.0.0.5:0", "10.0.0.5:65536", "10.0.0.5:x", ":3322", "[fd00::5:3322", "[fd00::5]3322", ""])("%s is refused with an example", (text) => {
    expect(() => splitHostPort(text)).toThrow(/\[fd00::5\]:3322/);
  });

  test("port 0 is accepted when asked (listen on any port)", () => {
    expect(splitHostPort("[::]:0", undefined, 0)).toEqual({ host: "::", port: 0 });
  });

  test("joinHostPort brackets IPv6 once", () => {
    expect(joinHostPort("[fd00::5]", 3320)).toBe("[fd00::5]:3320");
    expect(joinHostPort("::", 3320)).toBe("[::]:3320");
  });

  test("address kinds", () => {
    for (const w of ["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"]) expect(isWildcardHost(w)).toBe(true);
    for (const n of ["10.0.0.1", "::1", "fd00::1"]) expect(isWildcardHost(n)).toBe(false);
    for (const l of ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost", "0:0:0:0:0:0:0:1"]) expect(isLoopbackHost(l)).toBe(true);
    for (const n of ["10.0.0.1", "fd00::1", "0.0.0.0", "::"]) expect(isLoopbackHost(n)).toBe(false);
    expect(isLinkLocalHost("fe80::1")).toBe(true);
    expect(isLinkLocalHost("169.254.3.4")).toBe(true);
    expect(isLinkLocalHost("10.0.0.1")).toBe(false);
    for (const v6 of ["::", "::1", "fd00::5", "2001:db8:0:0:0:0:0:1", "::ffff:10.0.0.1", "[fd00::5]", "fe80::1%eth0"]) expect(isIPv6(v6)).toBe(true);
    for (const not of ["10.0.0.1", "fd00:::5", "1:2:3:4:5:6:7:8:9", "12345::", "host:80", "g::1"]) expect(isIPv6(not)).toBe(false);
  });
});

describe("chooseAdvertiseHost", () => {
  test("an explicit --advertise wins", () => {
    expect(chooseAdvertiseHost("0.0.0.0", "10.9.9.9", [...lo, eth0, wlan0])).toEqual({ ok: true, host: "10.9.9.9", how: "advertise" });
    expect(chooseAdvertiseHost("::", "[fd00::9]", [])).toEqual({ ok: true, host: "fd00::9", how: "advertise" });
  });

  test("a specific bind is advertised as is (loopback dev clusters keep working)", () => {
    expect(chooseAdvertiseHost("127.0.0.1", undefined, [...lo, eth0, wlan0])).toEqual({ ok: true, host: "127.0.0.1", how: "bind" });
    expect(chooseAdvertiseHost("10.1.2.3", undefined, [])).toEqual({ ok: true, host: "10.1.2.3", how: "bind" });
    expect(chooseAdvertiseHost("[::1]", undefined, [])).toEqual({ ok: true, host: "::1", how: "bind" });
  });

  test("a wildcard bind takes the one non-loopback, non-link-local address", () => {
    expect(chooseAdvertiseHost("0.0.0.0", undefined, [...lo, eth0, eth0v6, eth0ll])).toEqual({ ok: true, host: "10.1.2.3", how: "only-address", iface: "eth0" });
    expect(chooseAdvertiseHost("::", undefined, [...lo, eth0v6, eth0ll])).toEqual({ ok: true, host: "fd00::3", how: "only-address", iface: "eth0" });
  });

  test("several addresses: refused, naming --advertise and each address", () => {
    const r = chooseAdvertiseHost("0.0.0.0", undefined, [...lo, eth0, wlan0]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.message).toContain("--advertise");
    expect(r.message).toContain("10.1.2.3 (eth0)");
    expect(r.message).toContain("192.168.7.9 (wlan0)");
    // `::` listens on both families: an IPv4 and an IPv6 address are two choices
    expect(chooseAdvertiseHost("::", undefined, [...lo, eth0, eth0v6]).ok).toBe(false);
  });

  test("no address at all: refused, naming --advertise", () => {
    const r = chooseAdvertiseHost("0.0.0.0", undefined, [...lo, eth0v6]);
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.message).toMatch(/no non-loopback IPv4 address.*--advertise/);
  });

  test("never a wildcard or (with a reachable bind) a loopback advertise", () => {
    expect(chooseAdvertiseHost("0.0.0.0", "0.0.0.0", []).ok).toBe(false);
    expect(chooseAdvertiseHost("0.0.0.0", "::", []).ok).toBe(false);
    expect(chooseAdvertiseHost("0.0.0.0", "127.0.0.1", []).ok).toBe(false);
    expect(chooseAdvertiseHost("127.0.0.1", "127.0.0.2", []).ok).toBe(true);
  });
});

describe("resolveAdvertise (cmd)", () => {
  const rt = (interfaces: InterfaceAddress[], names: Record<string, string[]> = {}): AdvertiseRuntime => ({
    interfaces: () => interfaces,
    resolve: async (host) => {
      const a = names[host];
      if (!a) throw new Error(`ENOTFOUND ${host}`);
      return a;
    },
  });

  test("a host name is resolved to its address (IPv4 preferred)", async () => {
    const r = await resolveAdvertise("0.0.0.0", "node1.lan", rt([], { "node1.lan": ["fd00::1", "10.0.0.1"] }));
    expect(r).toEqual({ ok: true, host: "10.0.0.1", note: "node1.lan resolved to 10.0.0.1" });
  });

  test("a name that does not resolve, or resolves to loopback, is refused", async () => {
    expect(await resolveAdvertise("0.0.0.0", "nowhere.lan", rt([]))).toMatchObject({ ok: false, message: expect.stringContaining("does not resolve") });
    expect(await resolveAdvertise("0.0.0.0", "localhost", rt([], { localhost: ["127.0.0.1"] }))).toMatchObject({ ok: false });
  });

  test("wildcard bind without advertise reads the interfaces", async () => {
    expect(await resolveAdvertise("0.0.0.0", undefined, rt([...lo, eth0]))).toMatchObject({ ok: true, host: "10.1.2.3" });
    expect(await resolveAdvertise("0.0.0.0", undefined, rt([...lo, eth0, wlan0]))).toMatchObject({ ok: false });
  });
});

describe("advertise setting", () => {
  const load = (argv: string[], env: Record<string, string> = {}) => loadConfig({ argv, env, readFile: () => null });

  test("flag, SHOAL_ADVERTISE and yaml advertise set it", () => {
    expect(load(["--advertise", "10.0.0.5"]).advertise).toBe("10.0.0.5");
    expect(load([], { SHOAL_ADVERTISE: "fd00::5" }).advertise).toBe("fd00::5");
    const yaml = loadConfig({ argv: ["--config", "x.yaml"], env: {}, readFile: () => "advertise: 10.0.0.6\n" });
    expect(yaml.advertise).toBe("10.0.0.6");
  });

  test.each([
    [["--advertise", "0.0.0.0"], /wildcard/],
    [["--advertise", "10.0.0.5:3322"], /without a port/],
    [["--advertise", "[fd00::5]:3322"], /without a port/],
    [["--advertise", "127.0.0.1", "--bind", "0.0.0.0", "--allow-insecure-peers"], /loopback/],
    [["--advertise", "bad name!"], /IP address or host name/],
  ])("%j is refused", (argv, message) => {
    expect(() => load(argv)).toThrow(ConfigError);
    expect(() => load(argv)).toThrow(message);
  });
});
