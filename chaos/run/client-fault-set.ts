/**
 * The client faults of a --run, per node: each node's RESP and HTTP proxies
 * share one {@link ClientFaultState}; a change applies to every node or to
 * one (`PUT /v1/faults?node=n1`). Every change is written to the fault log
 * as intervals: one entry with target `all` while every node has the same
 * faults, entries per node once they differ.
 */
import type { FaultLogEntry } from "../report.ts";
import { type ClientFaults, formatClientFaults, isNoFault, NO_CLIENT_FAULTS } from "./client-faults.ts";
import type { ControlTarget } from "./control.ts";
import { ClientFaultState } from "./proxy.ts";

const same = (a: ClientFaults, b: ClientFaults) => formatClientFaults(a) === formatClientFaults(b) && a.sliceDelayMs === b.sliceDelayMs;

/** Per-node client-fault states plus their log; the control endpoint's target. */
export class ClientFaultSet implements ControlTarget {
  private readonly states = new Map<string, ClientFaultState>();
  /** Open log entries by target ("all" or a node name). */
  private readonly open = new Map<string, FaultLogEntry>();

  constructor(
    private readonly names: readonly string[],
    /** Seeded random sources, one per node (index order). */
    random: (i: number) => () => number,
    private readonly entries: FaultLogEntry[],
    /** ms since the command started. */
    private readonly now: () => number,
    private readonly onChange: (line: string) => void = () => {},
  ) {
    names.forEach((n, i) => {
      this.states.set(n, new ClientFaultState({ ...NO_CLIENT_FAULTS }, random(i)));
    });
  }

  /** The state node `name`'s proxies share. */
  state(name: string): ClientFaultState {
    const s = this.states.get(name);
    if (!s) throw new Error(`no node ${name}`);
    return s;
  }

  nodeNames(): string[] {
    return [...this.names];
  }

  /** Counters summed over every node's proxies. */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.states.values()) for (const [k, v] of Object.entries(s.stats)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  view(node?: string): object {
    if (node !== undefined) {
      const f = this.state(node).faults;
      return { node, spec: formatClientFaults(f), faults: f, stats: this.state(node).stats };
    }
    const all = [...this.states.values()].map((s) => s.faults);
    const common = all.every((f) => same(f, all[0]!)) ? all[0]! : null;
    return {
      spec: common ? formatClientFaults(common) : "per node",
      faults: common,
      nodes: Object.fromEntries([...this.states].map(([n, s]) => [n, formatClientFaults(s.faults)])),
      stats: this.stats(),
    };
  }

  log(): FaultLogEntry[] {
    return this.entries;
  }

  private close(target: string, at: number): void {
    const e = this.open.get(target);
    if (e) e.endMs = at;
    this.open.delete(target);
  }

  private openEntry(target: string, f: ClientFaults, at: number, source: string): void {
    if (isNoFault(f)) return;
    const e: FaultLogEntry = { what: "client", target, startMs: at, endMs: null, detail: formatClientFaults(f), source };
    this.open.set(target, e);
    this.entries.push(e);
  }

  /** Puts `f` in force on every node, or on `node` only; logs the change (nothing when nothing changes). */
  apply(f: ClientFaults, source: string, node?: string): void {
    const targets = node === undefined ? this.names : [node];
    for (const t of targets) this.state(t);
    if (targets.every((t) => same(this.state(t).faults, f))) return;
    const at = this.now();
    if (node === undefined) {
      for (const t of [...this.open.keys()]) this.close(t, at);
      for (const s of this.states.values()) s.faults = { ...f };
      this.openEntry("all", f, at, source);
    } else {
      const all = this.open.get("all");
      if (all) {
        // the nodes part ways: the shared interval ends, the others go on under their own names
        this.close("all", at);
        for (const n of this.names) if (n !== node) this.openEntry(n, this.state(n).faults, at, all.source ?? source);
      }
      this.close(node, at);
      this.state(node).faults = { ...f };
      this.openEntry(node, f, at, source);
    }
    this.onChange(`client faults${node ? ` on ${node}` : ""}: ${formatClientFaults(f)} (${source})`);
  }

  /** Removes every client fault (the end of the run). */
  clear(source: string): void {
    this.apply({ ...NO_CLIENT_FAULTS }, source);
  }
}
