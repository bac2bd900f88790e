/**
 * Fault-injection routes (only mounted when the node runs with
 * `--fault-injection`; for tests and chaos runs, never in production):
 *
 *   GET    /v1/faults   the faults in force and the injector's counters
 *   PUT    /v1/faults   replaces every fault with the JSON body
 *   DELETE /v1/faults   removes every fault (heals every partition)
 *
 * The body of PUT (and of GET's answer) is
 * `{ "rules": [FaultRuleSpec…], "partitions": [{ "a", "b", "oneWay"? }…] }`
 * with peer addresses (`host:port` as the nodes name themselves). Faults
 * apply to what *this* node sends (and to replies to its requests), so
 * isolating a node takes a PUT on every node: a partition `{a: self, b: X}`
 * on each side. Runtime-neutral: the injector is reached through
 * {@link FaultControl} (transports/faulty.ts's FaultyTransport satisfies it).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { BadRequest, readBodyCapped } from "./params.ts";
import { jsonError } from "./problem.ts";

const probability = z.number().min(0).max(1);
const millis = z.number().min(0).max(600_000);

/** One fault rule: `from`/`to` are peer addresses (omitted = any); probabilities in [0, 1], delays in ms. */
export const FaultRuleSpec = z
  .object({
    from: z.string().min(1).optional(),
    to: z.string().min(1).optional(),
    drop: probability.optional(),
    delayMs: millis.optional(),
    jitterMs: millis.optional(),
    duplicate: probability.optional(),
    reorder: probability.optional(),
    reorderDelayMs: millis.optional(),
    corrupt: probability.optional(),
  })
  .strict();

/** A validated fault rule. */
export type FaultRuleSpec = z.infer<typeof FaultRuleSpec>;

/** Traffic between `a` and `b` is blocked (only `a` → `b` when `oneWay`). */
export const PartitionSpec = z.object({ a: z.string().min(1), b: z.string().min(1), oneWay: z.boolean().optional() }).strict();

/** A validated partition. */
export type PartitionSpec = z.infer<typeof PartitionSpec>;

/** The body of PUT /v1/faults. */
export const FaultSet = z
  .object({ rules: z.array(FaultRuleSpec).max(1000).default([]), partitions: z.array(PartitionSpec).max(10_000).default([]) })
  .strict();

/** A validated set of faults. */
export type FaultSet = z.infer<typeof FaultSet>;

/** What the routes need from a fault injector. */
export interface FaultControl {
  /** Adds a rule; returns a function removing it. */
  addRule(rule: FaultRuleSpec): () => void;
  /** Blocks `a` → `b`, and `b` → `a` unless `oneWay`. */
  partition(a: string, b: string, oneWay?: boolean): void;
  /** Removes every rule and partition. */
  clear(): void;
  /** Counters of injected faults. */
  readonly stats: object;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Builds the /v1/faults routes (mount under "/v1/faults"). `control()`
 * returns the node's injector, or undefined while it has none (no cluster
 * started yet, or a node without peers): then the routes answer 409.
 */
export function faultRoutes(control: () => FaultControl | undefined): Hono {
  const app = new Hono();
  let current: FaultSet = { rules: [], partitions: [] };

  const noInjector = (c: Context) =>
    jsonError(c, 409, "NOFAULTS", "this node has no peer transport to inject faults into (it is not in a cluster, or not started yet)");

  app.get("/", (c) => {
    const f = control();
    if (!f) return noInjector(c);
    return c.json({ ...current, stats: f.stats });
  });

  app.put("/", async (c) => {
    const f = control();
    if (!f) return noInjector(c);
    const raw = await readBodyCapped(c.req.raw, MAX_BODY_BYTES);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw new BadRequest('PUT /v1/faults expects JSON: {"rules": [...], "partitions": [{"a": "host:port", "b": "host:port"}]}');
    }
    const parsed = FaultSet.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0]!;
      throw new BadRequest(`PUT /v1/faults: ${first.path.join(".") || "body"}: ${first.message}`);
    }
    f.clear();
    for (const r of parsed.data.rules) f.addRule({ ...r });
    for (const p of parsed.data.partitions) f.partition(p.a, p.b, p.oneWay ?? false);
    current = parsed.data;
    return c.json({ ...current, stats: f.stats });
  });

  app.delete("/", (c) => {
    const f = control();
    if (!f) return noInjector(c);
    f.clear();
    current = { rules: [], partitions: [] };
    return c.json({ ...current, stats: f.stats });
  });

  return app;
}
