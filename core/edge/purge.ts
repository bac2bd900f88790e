/**
 * Purging: a URL on its owner (PURGE, and invalidation after a successful
 * unsafe request, RFC 9111 §4.4), and by Surrogate-Key tag on every member.
 * Deletes go through the cluster (the edge map's owner deletes, replicas
 * follow). A URL's purge drops its primary entry — the object, or the vary
 * spec whose generation names every variant — so all its variants go at once.
 */
import type { Clock } from "../clock.ts";
import type { Logger } from "../discovery.ts";
import { primaryKey } from "./cache-key.ts";
import { type HeaderList, headerValue } from "./headers.ts";
import { decodeEntry } from "./object.ts";
import type { EdgePlacement } from "./placement.ts";
import type { EdgeStats } from "./stats.ts";
import type { EdgeStore } from "./store.ts";

/** What a tag purge did. */
export interface TagPurgeResult {
  purged: number;
  /** Members that did not answer (their objects with those tags may remain). */
  unreachable: string[];
}

/** What purging is built from. */
export interface PurgeDeps {
  store: EdgeStore;
  placement: EdgePlacement;
  clock: Clock;
  stats: EdgeStats;
  /** Told of each URL purged here (the lookup forgets its hit-for-pass marker). */
  forget(url: string): void;
  /** How long to wait for another member's answer, ms. */
  askTimeoutMs: number;
  log?: Logger;
}

/** Keys deleted per routed delete during a tag purge. */
const PURGE_BATCH = 256;
/** Keys visited per page of a tag purge's scan (the event loop gets a turn between pages). */
const SCAN_PAGE = 512;

/** Purges of one node. */
export class EdgePurger {
  constructor(private readonly d: PurgeDeps) {}

  /**
   * Drops a URL's object (all its variants) cluster-wide, on its owner;
   * resolves with the number of entries removed.
   * @throws Error when the owner cannot be reached.
   */
  async url(url: string): Promise<number> {
    const owner = this.d.placement.ownerOf(primaryKey(url));
    if (owner === null) return this.local([url]);
    const res = await this.d.placement.ask(owner, { t: "purge", urls: [url] }, this.d.askTimeoutMs);
    if (res.t !== "purged") throw new Error(`${owner}: ${res.t === "error" ? res.message : "unexpected answer"}`);
    return res.count;
  }

  /** Drops every object whose origin response carried one of `tags` in Surrogate-Key, on every member. */
  async tags(tags: readonly string[]): Promise<TagPurgeResult> {
    const answers = await Promise.all([
      this.localTags(tags).then((n) => ({ member: "self", n })),
      ...this.d.placement.others().map((m) =>
        this.d.placement.ask(m, { t: "purge-tags", tags: [...tags] }, this.d.askTimeoutMs).then(
          (r) => ({ member: m, n: r.t === "purged" ? r.count : -1 }),
          () => ({ member: m, n: -1 }),
        ),
      ),
    ]);
    let purged = 0;
    const unreachable: string[] = [];
    for (const a of answers) {
      if (a.n < 0) unreachable.push(a.member);
      else purged += a.n;
    }
    return { purged, unreachable };
  }

  /** RFC 9111 §4.4: after a successful unsafe request, the target URL and its Location/Content-Location on the same origin. */
  async invalidate(url: string, fields: HeaderList): Promise<void> {
    const urls = new Set([url]);
    const base = new URL(url);
    for (const name of ["location", "content-location"]) {
      const v = headerValue(fields, name);
      if (v === null) continue;
      try {
        const u = new URL(v, url);
        if (u.origin === base.origin) urls.add(u.href);
      } catch {
        // not a URL: nothing to invalidate
      }
    }
    for (const u of urls) {
      try {
        await this.url(u);
      } catch (e) {
        this.d.log?.warn("edge invalidation failed", { url: u.slice(0, 200), reason: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  /** Drops URLs this node owns. */
  async local(urls: readonly string[]): Promise<number> {
    for (const u of urls) this.d.forget(u);
    const n = await this.d.store.remove(urls.map(primaryKey));
    this.d.stats.purged += n;
    return n;
  }

  /** Deletes (through the cluster) the objects this node owns that carry one of `tags`. */
  async localTags(tags: readonly string[]): Promise<number> {
    const { store, placement } = this.d;
    const wanted = new Set(tags);
    const doomed: string[] = [];
    let cursor = 0;
    do {
      const page = store.scanLocal(cursor, SCAN_PAGE);
      cursor = page.cursor;
      for (const key of page.keys) {
        if (placement.ownerOf(key) !== null) continue; // the owner deletes it, replicas follow
        const raw = store.read(key);
        const e = raw === null ? null : decodeEntry(raw);
        if (e?.kind === "object" && e.meta.tags.some((t) => wanted.has(t))) doomed.push(key);
      }
      if (cursor !== 0) await new Promise<void>((resolve) => this.d.clock.setTimer(0, resolve));
    } while (cursor !== 0);
    let n = 0;
    for (let i = 0; i < doomed.length; i += PURGE_BATCH) n += await store.remove(doomed.slice(i, i + PURGE_BATCH));
    this.d.stats.purged += n;
    return n;
  }
}
