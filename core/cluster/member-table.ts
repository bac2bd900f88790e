/**
 * The local view of cluster membership and SWIM's precedence rules for
 * applying an update about another member (memberlist semantics):
 * - alive overrides anything at a strictly higher incarnation;
 * - suspect overrides alive at the same or higher incarnation;
 * - dead overrides alive/suspect at the same or higher incarnation;
 * - left (graceful) overrides everything but left at the same or higher one.
 * Suspect/dead/left reports about unknown members are ignored. Rules about
 * the local member (refutation) live in {@link Membership}.
 */
import { fnv1a64, utf8 } from "./hash.ts";
import type { MemberStatus, MemberUpdate } from "./membership-wire.ts";

/** What is known about one member. */
export interface MemberInfo {
  name: string;
  status: MemberStatus;
  incarnation: number;
  /** Clock.monotonic() when the status last changed. */
  since: number;
}

/** The result of applying an update that changed the view. */
export interface MemberChange {
  previous: MemberStatus | undefined;
  current: MemberInfo;
}

/** Members by name, including the local one. */
export class MemberTable {
  private readonly members = new Map<string, MemberInfo>();
  /** Sorted snapshots, rebuilt after a change (the router asks for the live count on every write). */
  private sorted: MemberInfo[] | null = null;
  private liveNames: string[] | null = null;

  /** The member named `name`, if known. */
  get(name: string): MemberInfo | undefined {
    return this.members.get(name);
  }

  /** All known members, sorted by name (a fresh array). */
  all(): MemberInfo[] {
    return this.sortedMembers().slice();
  }

  /** Names of members that are alive or suspect (still owners of data), sorted (a fresh array). */
  live(): string[] {
    return this.liveSorted().slice();
  }

  /** How many members are alive or suspect, without building a list. */
  liveCount(): number {
    return this.liveSorted().length;
  }

  /** Sets a member unconditionally (used for the local member). */
  set(info: MemberInfo): void {
    this.members.set(info.name, info);
    this.changed();
  }

  /** Forgets a member (reaping long-dead entries). */
  remove(name: string): void {
    if (this.members.delete(name)) this.changed();
  }

  private changed(): void {
    this.sorted = null;
    this.liveNames = null;
  }

  private sortedMembers(): MemberInfo[] {
    this.sorted ??= [...this.members.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.sorted;
  }

  private liveSorted(): string[] {
    this.liveNames ??= this.sortedMembers()
      .filter((m) => m.status === "alive" || m.status === "suspect")
      .map((m) => m.name);
    return this.liveNames;
  }

  /** Applies `u` by the precedence rules; returns the change, or undefined if `u` is stale. */
  apply(u: MemberUpdate, now: number): MemberChange | undefined {
    const cur = this.members.get(u.name);
    if (!winsOver(u, cur)) return undefined;
    const current: MemberInfo = { name: u.name, status: u.status, incarnation: u.incarnation, since: now };
    this.members.set(u.name, current);
    this.changed();
    return { previous: cur?.status, current };
  }

  /**
   * Checksum of the view (names, statuses, incarnations): equal checksums
   * mean a push-pull has nothing to exchange.
   */
  checksum(): number {
    const text = this.sortedMembers()
      .map((m) => `${m.name}\u0000${m.status}\u0000${m.incarnation}`)
      .join("\n");
    return fnv1a64(utf8(text)).lo;
  }
}

function winsOver(u: MemberUpdate, cur: MemberInfo | undefined): boolean {
  if (!cur) return u.status === "alive";
  switch (u.status) {
    case "alive":
      return u.incarnation > cur.incarnation;
    case "suspect":
      return u.incarnation >= cur.incarnation && (cur.status === "alive" || (cur.status === "suspect" && u.incarnation > cur.incarnation));
    case "dead":
      return u.incarnation >= cur.incarnation && (cur.status === "alive" || cur.status === "suspect");
    case "left":
      return u.incarnation >= cur.incarnation && cur.status !== "left";
  }
}
