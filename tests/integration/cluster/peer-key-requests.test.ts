/**
 * Issue 13 part 1: a node with a wrong cluster key, or none, can send no
 * request at all to a keyed node — neither on the data channel (`exec
 * FLUSHDB`, the command a forwarded client write would carry) nor on the
 * membership channel (a push-pull `sync` that would make it a member).
 * The peer is a real node process (`--cluster-key`); the callers are the
 * TCP peer transport with the wrong key, no key, and — to show the requests
 * themselves are well-formed — the right key.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { encodeMessage } from "../../../core/cluster/membership-wire.ts";
import { decodeResponse, encodePeer } from "../../../core/cluster/peer-protocol.ts";
import { TransportMux } from "../../../core/cluster/transport-mux.ts";
import { TcpTransport } from "../../../transports/tcp.ts";
import { freePorts, sleep } from "../../helpers/ports.ts";
import { type ServerProcess, spawnShoal } from "../../helpers/processes.ts";
import { RawClient } from "../../helpers/raw-client.ts";

const KEY = "the-right-cluster-key-9a1";
const MEMBERSHIP = 1;
const DATA = 2;
let node: ServerProcess;
const clients: RawClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await node?.stop(1000);
});

const enc = new TextEncoder();

describe("a keyed node refuses every request from peers without its key", () => {
  test("wrong key and no key: exec FLUSHDB and a membership sync both fail; nothing is flushed, no member is added", async () => {
    const [port, http, peer, self2] = (await freePorts(4)) as [number, number, number, number];
    const args = ["serve", "--port", String(port), "--http-port", String(http), "--peer-port", String(peer), "--bind", "127.0.0.1"];
    args.push("--peers", `127.0.0.1:${peer}`, "--preset", "local", "--log-format", "json", "--cluster-key", KEY);
    node = await spawnShoal({ port, httpPort: http, args });
    const c = await RawClient.connect(port);
    clients.push(c);
    for (let i = 0; i < 20 && (await c.call(["SET", "k0", "v"])) !== "+OK\r\n"; i++) await sleep(200);
    for (let i = 0; i < 50; i++) expect(await c.call(["SET", `k${i}`, "v"])).toBe("+OK\r\n");

    const target = `127.0.0.1:${peer}`;
    const me = `127.0.0.1:${self2}`;
    const flush = encodePeer({ t: "exec", args: [enc.encode("FLUSHDB")], proto: 2, hops: 1, user: "default" });
    const join = encodeMessage({ t: "sync", checksum: 0, states: [{ name: me, status: "alive", incarnation: 1, from: me }], join: true });
    for (const [label, key] of [["wrong key", "a-wrong-cluster-key-000"], ["no key", undefined]] as const) {
      const mux = new TransportMux(new TcpTransport({ requestTimeoutMs: 2000, clusterKey: key }));
      const data = mux.channel(DATA).connect(target, me);
      const members = mux.channel(MEMBERSHIP).connect(target, me);
      await expect(data.request(flush, 2000), label).rejects.toThrow();
      await expect(members.request(join, 2000), label).rejects.toThrow();
      data.close();
      members.close();
    }
    expect(await c.call(["DBSIZE"])).toBe(":50\r\n");
    expect(node.output()).toContain("peer refused: bad frame or wrong cluster key");
    expect(node.output()).not.toContain(KEY);
    expect(node.output()).not.toContain(me); // never learnt as a member

    // the same request with the right key goes through: the refusals above are the key's doing
    const mux = new TransportMux(new TcpTransport({ requestTimeoutMs: 2000, clusterKey: KEY }));
    const data = mux.channel(DATA).connect(target, me);
    const reply = decodeResponse(await data.request(encodePeer({ t: "exec", args: [enc.encode("DBSIZE")], proto: 2, hops: 1, user: "default" }), 2000));
    expect(reply).toEqual({ t: "reply", resp: enc.encode(":50\r\n") });
    data.close();
  }, 30_000);
});
