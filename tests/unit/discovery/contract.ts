/**
 * Discovery contract suite: every plugin runs through the same cases against
 * a harness that can change its source, make it unavailable and heal it.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { Discovery, Logger, Peer } from "../../../core/discovery.ts";

/** One captured log line. */
export interface LogLine {
  level: "info" | "warn" | "error";
  event: string;
  fields?: Record<string, unknown>;
}

/** A Logger that records every line (and prints nothing). */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  info(event: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "info", event, fields });
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "warn", event, fields });
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: "error", event, fields });
  }
  /** Number of warnings so far. */
  warnings(): number {
    return this.lines.filter((l) => l.level === "warn").length;
  }
}

/** What a plugin's test provides to the contract suite. */
export interface DiscoveryHarness {
  /** The plugin under test, not yet started, logging to `logger`. */
  discovery: Discovery;
  logger: RecordingLogger;
  /** Makes the source report exactly these peer addresses. */
  setPeers(addresses: string[]): Promise<void>;
  /** Makes the source unavailable (server down, 500s, resolver failure). */
  breakSource(): Promise<void>;
  /** Makes the source available again (with whatever peers were last set). */
  healSource(): Promise<void>;
  /** Releases the source (servers, processes). */
  close(): Promise<void>;
}

/** Options of {@link runDiscoveryContract}. */
export interface ContractOptions {
  /** Upper bound for the plugin to notice a change (ms); test bound, not a speed assertion. */
  noticeWithinMs?: number;
  /** The plugin has no status() (an external plugin may leave it out); built-in plugins must have it. */
  withoutStatus?: boolean;
}

/** Sample addresses used by the suite (the harness maps them onto its source). */
export const A = "127.0.0.11:3322";
export const B = "127.0.0.12:3322";
export const C = "127.0.0.13:3322";

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < 100_000 && performance.now() < deadline; i++) {
    if (check()) return;
    await Bun.sleep(20);
  }
  if (!check()) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const addresses = (peers: Peer[]): string[] => peers.map((p) => p.address).sort();

/** Runs the contract cases for one plugin. `makeHarness(initial)` builds a source already holding `initial`. */
export function runDiscoveryContract(
  name: string,
  makeHarness: (initial: string[]) => Promise<DiscoveryHarness>,
  options: ContractOptions = {},
): void {
  const within = options.noticeWithinMs ?? 5_000;
  describe(`discovery contract: ${name}`, () => {
    let h: DiscoveryHarness;
    let reports: string[][];
    const last = (): string[] => reports[reports.length - 1] ?? [];
    const lastIs = (want: string[]) => () => JSON.stringify(last()) === JSON.stringify([...want].sort());

    beforeEach(async () => {
      reports = [];
      h = await makeHarness([A, B]);
    });
    afterEach(async () => {
      await h.discovery.stop();
      await h.close();
    });

    const start = () => h.discovery.start((peers) => reports.push(addresses(peers)));

    test("reports the initial list on start and from members()", async () => {
      await start();
      await until(lastIs([A, B]), within, "initial list");
      expect(addresses(await h.discovery.members())).toEqual([A, B]);
    });

    test("reports an added peer with the full list", async () => {
      await start();
      await until(lastIs([A, B]), within, "initial list");
      await h.setPeers([A, B, C]);
      await until(lastIs([A, B, C]), within, "added peer");
      expect(addresses(await h.discovery.members())).toEqual([A, B, C]);
    });

    test("reports a removed peer with the full list", async () => {
      await start();
      await until(lastIs([A, B]), within, "initial list");
      await h.setPeers([B]);
      await until(lastIs([B]), within, "removed peer");
      expect(addresses(await h.discovery.members())).toEqual([B]);
    });

    test("flapping settles on the final list and never repeats a report", async () => {
      await start();
      await until(lastIs([A, B]), within, "initial list");
      for (const set of [[A], [A, B, C], [C], [A, C]]) await h.setPeers(set);
      await until(lastIs([A, C]), within, "final list after flapping");
      for (let i = 1; i < reports.length; i++) expect(reports[i]).not.toEqual(reports[i - 1]!);
    });

    test("source unavailable keeps the last known list and logs a warning; recovery reports changes", async () => {
      await start();
      await until(lastIs([A, B]), within, "initial list");
      const warningsBefore = h.logger.warnings();
      const reportsBefore = reports.length;
      await h.breakSource();
      await until(() => h.logger.warnings() > warningsBefore, within, "a warning while the source is down");
      expect(reports.length).toBe(reportsBefore);
      expect(addresses(await h.discovery.members())).toEqual([A, B]);
      await h.setPeers([A, C]);
      await h.healSource();
      await until(lastIs([A, C]), within * 2, "list after recovery");
    });

    if (!options.withoutStatus) {
      test("status(): the last answer (full list, when) and the last error while the source is down, cleared on recovery", async () => {
        expect(typeof h.discovery.status).toBe("function");
        const status = () => h.discovery.status!();
        const t0 = Date.now();
        await start();
        await until(lastIs([A, B]), within, "initial list");
        const first = status();
        expect(first.plugin).toBe(h.discovery.name);
        expect([...(first.lastResult?.peers ?? [])].sort()).toEqual([A, B]);
        expect(first.lastResult!.at).toBeGreaterThanOrEqual(t0);
        expect(first.lastResult!.at).toBeLessThanOrEqual(Date.now());
        expect(first.lastError).toBeNull();
        expect(first.failuresSinceResult).toBe(0);

        await h.breakSource();
        await until(() => status().lastError !== null, within, "lastError while the source is down");
        const down = status();
        expect(down.lastError!.message.length).toBeGreaterThan(0);
        expect(down.failuresSinceResult).toBeGreaterThanOrEqual(1);
        expect([...(down.lastResult?.peers ?? [])].sort()).toEqual([A, B]); // still what it last saw

        await h.setPeers([A, C]);
        await h.healSource();
        await until(() => status().lastError === null && JSON.stringify([...(status().lastResult?.peers ?? [])].sort()) === JSON.stringify([A, C]), within * 2, "status after recovery");
        expect(status().failuresSinceResult).toBe(0);
        expect(status().lastResult!.at).toBeGreaterThanOrEqual(down.lastError!.at);
      });
    }

    test("stop is idempotent and ends reporting", async () => {
      await start();
      await until(lastIs([A, B]), within, "initial list");
      await h.discovery.stop();
      await h.discovery.stop();
      const count = reports.length;
      await h.setPeers([C]);
      await Bun.sleep(300);
      expect(reports.length).toBe(count);
    });
  });
}
