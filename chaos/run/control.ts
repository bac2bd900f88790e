/**
 * The chaos runner's control endpoint (`SHOAL_CHAOS_URL` in the command's
 * environment; loopback only), so a test can turn client faults on around
 * one step. These are the faults of the runner's proxies between the
 * application and the nodes — not a node's own `/v1/faults` (peer-transport
 * faults, core/http/faults.ts), which a node serves only with
 * `--fault-injection`.
 *
 *   GET    /v1/faults   {"spec", "faults", "nodes", "stats"}: the client faults in force and the proxies' counters
 *   PUT    /v1/faults   replaces them; body `latency=200ms,reset=1%` (the --client-faults syntax)
 *                       or JSON `{"latency": "200ms", "reset": "1%"}`; 400 with the reason when bad
 *   DELETE /v1/faults   removes every client fault
 *   …?node=n1           the same for one node's proxies only (n0 is the first of SHOAL_NODES)
 *   GET    /v1/log      the fault log so far (node faults and client-fault changes)
 */
import { type ClientFaults, clientFaultsFromJson, NO_CLIENT_FAULTS, parseClientFaults } from "./client-faults.ts";

/** What the endpoint acts on. */
export interface ControlTarget {
  /** Node names (n0, n1, …) in SHOAL_NODES order. */
  nodeNames(): string[];
  /** The answer of GET /v1/faults (for one node, or all). */
  view(node?: string): object;
  /** Puts `f` in force on every node or on `node` (and logs the change). */
  apply(f: ClientFaults, source: string, node?: string): void;
  log(): unknown;
}

const MAX_BODY = 64 * 1024;

const json = (status: number, body: unknown) => new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json" } });
const problem = (status: number, message: string) => json(status, { error: message });

/** Parses a PUT body: the spec text, or a JSON object when it starts with `{`. Throws with the reason. */
export function parseControlBody(body: string): ClientFaults {
  const t = body.trim();
  if (t.startsWith("{")) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new Error(`the body starts with "{" but is not JSON (${(e as Error).message})`);
    }
    return clientFaultsFromJson(v);
  }
  return parseClientFaults(t);
}

/** Handles one request against `target`. */
export async function handleControl(req: Request, target: ControlTarget): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname.replace(/\/+$/, "") || "/";
  if (path === "/v1/faults") {
    const node = url.searchParams.get("node") ?? undefined;
    if (node !== undefined && !target.nodeNames().includes(node)) return problem(404, `no node ${JSON.stringify(node)}; the nodes are ${target.nodeNames().join(", ")}`);
    const where = node === undefined ? "" : `?node=${node}`;
    const view = () => json(200, target.view(node));
    if (req.method === "GET") return view();
    if (req.method === "DELETE") {
      target.apply({ ...NO_CLIENT_FAULTS }, `DELETE /v1/faults${where}`, node);
      return view();
    }
    if (req.method === "PUT" || req.method === "POST") {
      const buf = await req.arrayBuffer();
      if (buf.byteLength > MAX_BODY) return problem(413, `the body is ${buf.byteLength} bytes; at most ${MAX_BODY}`);
      try {
        target.apply(parseControlBody(new TextDecoder().decode(buf)), `${req.method} /v1/faults${where}`, node);
      } catch (e) {
        return problem(400, `${req.method} /v1/faults: ${(e as Error).message}`);
      }
      return view();
    }
    return problem(405, `${req.method} /v1/faults: use GET, PUT or DELETE`);
  }
  if (path === "/v1/log" && req.method === "GET") return json(200, target.log());
  if (path === "/") {
    return new Response(
      "shoal chaos control: GET|PUT|DELETE /v1/faults[?node=n0] (client faults: latency=200ms,jitter=50ms,bandwidth=64kb,reset=1%,timeout=5%,slice=16), GET /v1/log\n",
    );
  }
  return problem(404, `no route ${req.method} ${path}; try GET /v1/faults`);
}

/** A running control endpoint. */
export interface ControlServer {
  url: string;
  stop(): void;
}

/** Serves the endpoint on 127.0.0.1:`port` (0 = any free port). */
export function startControl(target: ControlTarget, port: number): ControlServer {
  const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: (req) => handleControl(req, target) });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => void server.stop(true) };
}
