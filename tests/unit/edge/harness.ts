/**
 * An in-process origin and request builder for the edge-cache tests: the
 * origin is the outside world the edge talks to (it is not shoal's), so
 * tests script it; everything on shoal's side runs for real.
 */
import { SeededRng } from "../../../core/clock.ts";
import { SimClock } from "../../../core/cluster/sim-clock.ts";
import type { EdgeResponse } from "../../../core/edge/deliver.ts";
import { EdgeCache, type EdgeCacheOptions, type EdgePlacement, LOCAL_PLACEMENT } from "../../../core/edge/edge-cache.ts";
import type { HeaderList } from "../../../core/edge/headers.ts";
import { type Origin, OriginError, type OriginRequest, type OriginResponse } from "../../../core/edge/origin.ts";
import type { EdgeRequest } from "../../../core/edge/recv.ts";
import { MemoryEdgeStore } from "../../../core/edge/store.ts";

/** What the scripted origin answers. */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array | ReadableStream<Uint8Array>;
}

/** A scripted origin: `answer` decides each response; every request is recorded. */
export class TestOrigin implements Origin {
  readonly requests: OriginRequest[] = [];
  answer: (req: OriginRequest, n: number) => Reply | "unreachable" | Promise<Reply | "unreachable"> = () => ({ body: "ok" });

  async fetch(req: OriginRequest): Promise<OriginResponse> {
    this.requests.push(req);
    const r = await this.answer(req, this.requests.length);
    if (r === "unreachable") throw new OriginError("connection refused", "unreachable");
    const headers: HeaderList = Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]);
    const b = r.body ?? "";
    const body = b instanceof ReadableStream ? b : new Blob([typeof b === "string" ? b : (b as Uint8Array<ArrayBuffer>)]).stream();
    return { status: r.status ?? 200, headers, body };
  }

  /** Requests for a path. */
  count(path: string): number {
    return this.requests.filter((r) => new URL(r.url).pathname === path).length;
  }
}

/** A request of the edge port. */
export function request(target: string, init: { method?: string; headers?: Record<string, string> } = {}): EdgeRequest {
  const list: HeaderList = Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]);
  return {
    method: init.method ?? "GET",
    target,
    header: (n) => list.find(([k]) => k === n)?.[1] ?? null,
    headers: () => list,
    clientIp: "10.0.0.1",
    body: null,
  };
}

/** A response's field. */
export function field(r: EdgeResponse, name: string): string | null {
  return r.headers.find(([n]) => n === name)?.[1] ?? null;
}

/** A response's body as text (streams are read to the end). */
export async function text(r: EdgeResponse): Promise<string> {
  if (r.body === null) return "";
  if (r.body instanceof Uint8Array) return new TextDecoder().decode(r.body);
  return new Response(r.body).text();
}

/** One edge node over a memory store with a simulated clock. */
export function edgeNode(origin: Origin, opts: Partial<EdgeCacheOptions> & { clock?: SimClock; store?: MemoryEdgeStore; placement?: EdgePlacement } = {}) {
  const clock = opts.clock ?? new SimClock(Date.UTC(2025, 0, 1));
  const store = opts.store ?? new MemoryEdgeStore(() => clock.now());
  const edge = new EdgeCache({
    origin,
    store,
    placement: opts.placement ?? LOCAL_PLACEMENT,
    clock,
    rng: new SeededRng(1),
    defaultOrigin: "http://origin.test",
    settings: { maxObjectBytes: 1024 * 1024, originTimeoutMs: 5000, defaultTtlMs: 0, keepMs: 3_600_000, ...opts.settings },
    ...opts,
  });
  return { edge, clock, store };
}

/** A promise with its resolver, for holding an origin response back. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
