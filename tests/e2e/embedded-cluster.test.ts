/**
 * The embedded API joins a real cluster (issue 13): two `dist/shoal serve`
 * processes and two programs embedding shoal (tests/fixtures/
 * embedded-member.ts, startShoal over TCP), each in its own process, RF=2
 * W=2. Keys written through embedded member A read back through member B
 * and over RESP and HTTP through both servers, and its deletes are seen
 * there too; keys PUT and DELETEd over
 * HTTP on a server are seen by the embedded members; then member A — which
 * took its writes — is killed with kill -9 and none of them is lost.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { freePorts } from "../helpers/ports.ts";
import { childEnv, REPO_ROOT } from "../helpers/processes.ts";
import { type Expected, killAll, launchAll, nodeSpecs, type ShoalProc, until, waitComplete, waitReady } from "./cluster-harness.ts";

const FIXTURE = resolve(REPO_ROOT, "tests/fixtures/embedded-member.ts");

/** One embedded member process, driven line by line. */
class EmbeddedProc {
  readonly proc: ReturnType<typeof Bun.spawn>;
  private lines: string[] = [];
  private output = "";
  private waiters: (() => void)[] = [];

  constructor(config: object) {
    this.proc = Bun.spawn([process.execPath, FIXTURE, JSON.stringify(config)], {
      cwd: REPO_ROOT,
      env: childEnv(),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.read(this.proc.stdout as ReadableStream<Uint8Array>, true);
    this.read(this.proc.stderr as ReadableStream<Uint8Array>, false);
  }

  private read(stream: ReadableStream<Uint8Array>, json: boolean): void {
    const dec = new TextDecoder();
    let partial = "";
    (async () => {
      try {
        for await (const chunk of stream) {
          const text = dec.decode(chunk, { stream: true });
          this.output += text;
          if (!json) continue;
          partial += text;
          for (let nl = partial.indexOf("\n"); nl >= 0; nl = partial.indexOf("\n")) {
            const line = partial.slice(0, nl);
            partial = partial.slice(nl + 1);
            if (line.startsWith("{\"")) this.lines.push(line);
          }
          for (const w of this.waiters.splice(0)) w();
        }
      } catch {
        // closed
      }
    })();
  }

  /** The next JSON line it prints (bounded wait). */
  async next<T>(limitMs = 30_000): Promise<T> {
    const deadline = Date.now() + limitMs;
    while (this.lines.length === 0) {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error(`embedded member: no answer within ${limitMs} ms\n${this.output.slice(-3000)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return JSON.parse(this.lines.shift()!) as T;
  }

  async ask<T>(req: object): Promise<T> {
    const stdin = this.proc.stdin as import("bun").FileSink;
    stdin.write(`${JSON.stringify(req)}\n`);
    stdin.flush();
    return this.next<T>();
  }

  /** Everything it printed. */
  log(): string {
    return this.output;
  }

  kill9(): Promise<number> {
    this.proc.kill("SIGKILL");
    return this.proc.exited;
  }
}

const embedded: EmbeddedProc[] = [];
afterAll(async () => {
  for (const e of embedded) await e.kill9();
  await killAll();
});

const base = (n: ShoalProc) => `http://${n.spec.host}:${n.spec.httpPort}`;

describe("e2e: embedded members (separate processes, TCP) in a cluster with dist/shoal servers, RF=2 W=2", () => {
  test("embedded writes read back everywhere; server HTTP writes and deletes reach the embedded members; nothing is lost after kill -9 of the writing member", async () => {
    const [pa, pb] = await freePorts(2);
    const embeddedPeers = [`127.0.0.1:${pa}`, `127.0.0.1:${pb}`];
    const specs = await nodeSpecs(2, {
      prefix: "emb",
      extra: (_i, peers) => ["--peers", [...peers, ...embeddedPeers].join(","), "--replica-count", "2", "--write-quorum", "2"],
    });
    const all = [...specs.map((s) => `${s.host}:${s.peerPort}`), ...embeddedPeers];
    const servers = await launchAll(specs);
    const member = (peerPort: number) =>
      new EmbeddedProc({ bind: "127.0.0.1", peerPort, peers: all, replicaCount: 2, writeQuorum: 2, preset: "local", nodeName: `embedded-${peerPort}` });
    const a = member(pa!);
    const b = member(pb!);
    embedded.push(a, b);
    expect(await a.next<{ ready: boolean }>(30_000)).toMatchObject({ ready: true });
    expect(await b.next<{ ready: boolean }>(30_000)).toMatchObject({ ready: true });
    const membersOf = async (e: EmbeddedProc) => (await e.ask<{ members: number }>({ op: "members" })).members;
    const fourMembers = async () => servers.every((s) => s.members() === 4) && (await membersOf(a)) === 4 && (await membersOf(b)) === 4;
    if (!(await until(fourMembers, 20_000, 100))) {
      throw new Error(`members: ${servers.map((s) => s.members())}\n${servers.map((s) => s.output().slice(-3000)).join("\n---\n")}\n--- embedded\n${a.log().slice(-2000)}`);
    }
    await waitReady(servers, 20_000);

    // writes through embedded member A, in the default map and a named one
    const entries: [string, string][] = Array.from({ length: 200 }, (_, i) => [`e:${i}`, `embedded-${i}`]);
    const put = await a.ask<{ acked: string[]; errors: Record<string, number> }>({ op: "put", map: "default", entries });
    expect(put.errors).toEqual({});
    expect(put.acked.length).toBe(entries.length);
    const named: [string, string][] = Array.from({ length: 40 }, (_, i) => [`n:${i}`, `named-${i}`]);
    expect((await a.ask<{ acked: string[] }>({ op: "put", map: "orders", entries: named })).acked.length).toBe(named.length);
    const expected: Expected = new Map(entries);
    // through the servers over RESP and HTTP, and through member B
    await waitComplete(servers, expected, 10_000, "embedded writes through the servers");
    for (const s of servers) {
      for (const [k, v] of named.slice(0, 10)) {
        const r = await fetch(`${base(s)}/v1/maps/orders/keys/${k}`);
        expect(await r.text()).toBe(v);
      }
    }
    const viaB = await b.ask<{ values: Record<string, string | null> }>({ op: "get", map: "default", keys: entries.map(([k]) => k) });
    expect(Object.values(viaB.values)).toEqual(entries.map(([, v]) => v));
    expect(await b.ask({ op: "size", map: "orders" })).toEqual({ size: named.length });

    // HTTP writes and deletes on a server reach the embedded members
    expect((await fetch(`${base(servers[0]!)}/v1/maps/orders/keys/from-http`, { method: "PUT", body: "h" })).status).toBe(204);
    expect((await fetch(`${base(servers[1]!)}/v1/maps/orders/keys/n:0`, { method: "DELETE" })).status).toBe(204);
    expect(await a.ask({ op: "get", map: "orders", keys: ["from-http", "n:0", "n:1"] })).toEqual({ values: { "from-http": "h", "n:0": null, "n:1": "named-1" } });

    // deletes through embedded member A are seen through the servers (RESP and HTTP) and member B
    const gone = entries.slice(0, 20).map(([k]) => k);
    expect(await a.ask({ op: "del", map: "default", keys: gone })).toEqual({ deleted: gone.length });
    for (const k of gone) expected.set(k, null);
    await waitComplete(servers, expected, 10_000, "embedded deletes through the servers");
    for (const s of servers) expect((await fetch(`${base(s)}/v1/maps/default/keys/${gone[0]}`)).status).toBe(404);
    const deletedViaB = await b.ask<{ values: Record<string, string | null> }>({ op: "get", map: "default", keys: gone });
    expect(Object.values(deletedViaB.values).every((v) => v === null)).toBe(true);

    // kill -9 the member that took the writes: every acknowledged one survives
    await a.kill9();
    expect(await until(() => servers.every((s) => s.members() === 3), 30_000, 100)).toBe(true);
    await waitComplete(servers, expected, 30_000, "embedded writes after kill -9 of their member");
    const afterKill = await b.ask<{ values: Record<string, string | null> }>({ op: "get", map: "orders", keys: named.slice(1).map(([k]) => k) });
    expect(Object.values(afterKill.values)).toEqual(named.slice(1).map(([, v]) => v));
    expect(await b.ask({ op: "stop" })).toEqual({ stopped: true });
  }, 120_000);
});
