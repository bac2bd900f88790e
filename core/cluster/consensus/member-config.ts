/**
 * The cluster's member configuration, the one thing the consensus log
 * agrees on: which members exist (and so which partition table is in force)
 * and which incarnations vote.
 *
 * A member is its name (peer address) plus a boot id drawn at start: a
 * process that restarts comes back under a new boot id, so it is a new
 * member until the configuration says otherwise. That is what lets the
 * consensus log live in memory only — a restarted process never votes with
 * the memory of its previous life (Raft's safety needs durable votes).
 *
 * Voters are listed apart from members: a voter that stopped answering
 * leaves the member list (its partitions move) but may keep its vote, since
 * it may only be cut off and come back; see {@link nextStep} for when it is
 * worth removing. Voters change one per step, so every majority of the old
 * voters meets every majority of the new ones (Raft's single-server
 * membership change, Ongaro's thesis §4.1).
 */

/** One member incarnation. */
export interface MemberRef {
  /** Peer address, also the member name the partition table uses. */
  name: string;
  /** Random id of this process's start (a restart is a new member). */
  boot: number;
}

/** Members (sorted by name, one incarnation per name) and voters (sorted by name, one incarnation per name). */
export interface MemberConfig {
  members: MemberRef[];
  voters: MemberRef[];
}

/** Largest voter set a configuration grows to by default (Consul and etcd advise 3 or 5). */
export const DEFAULT_MAX_VOTERS = 5;

/** `name#boot` in hex: unique per member incarnation. */
export function refId(m: MemberRef): string {
  return `${m.name}#${(m.boot >>> 0).toString(16)}`;
}

/** Whether two refs are the same incarnation. */
export function sameRef(a: MemberRef, b: MemberRef): boolean {
  return a.name === b.name && a.boot === b.boot;
}

/** Votes needed out of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The incarnation of `name` in `c`'s members, if it is a member. */
export function memberOf(c: MemberConfig, name: string): MemberRef | undefined {
  return c.members.find((m) => m.name === name);
}

/** Whether `who` (this incarnation) is a member of `c`. */
export function isMember(c: MemberConfig, who: MemberRef): boolean {
  return c.members.some((m) => sameRef(m, who));
}

/** Whether `who` (this incarnation) votes in `c`. */
export function isVoter(c: MemberConfig, who: MemberRef): boolean {
  return c.voters.some((m) => sameRef(m, who));
}

/** Everyone the log is replicated to: members and voters, one ref per incarnation. */
export function participants(c: MemberConfig): MemberRef[] {
  const out = [...c.members];
  for (const v of c.voters) if (!out.some((m) => sameRef(m, v))) out.push(v);
  return out;
}

/** Member names of `c`, sorted. */
export function memberNames(c: MemberConfig): string[] {
  return c.members.map((m) => m.name);
}

function sameList(a: readonly MemberRef[], b: readonly MemberRef[]): boolean {
  return a.length === b.length && a.every((m, i) => sameRef(m, b[i]!));
}

/** Whether two configurations are the same. */
export function sameConfig(a: MemberConfig, b: MemberConfig): boolean {
  return sameList(a.members, b.members) && sameList(a.voters, b.voters);
}

const byName = (x: MemberRef, y: MemberRef): number => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.boot - y.boot);

function uniqueByName(list: readonly MemberRef[], what: string): MemberRef[] {
  const sorted = list.map((m) => ({ name: m.name, boot: m.boot >>> 0 })).sort(byName);
  const out: MemberRef[] = [];
  for (const m of sorted) {
    const last = out.at(-1);
    if (last && sameRef(last, m)) continue;
    if (last && last.name === m.name) throw new RangeError(`member config: two ${what} incarnations of ${m.name}`);
    out.push(m);
  }
  return out;
}

/** A configuration in canonical form (sorted, deduplicated). Throws on two incarnations of one name in a list. */
export function normalize(c: MemberConfig): MemberConfig {
  return { members: uniqueByName(c.members, "member"), voters: uniqueByName(c.voters, "voter") };
}

/** Whether going from `a` to `b` adds or removes at most one voter (safe in one step) and leaves at least one. */
export function isSafeStep(a: MemberConfig, b: MemberConfig): boolean {
  let diff = 0;
  for (const v of a.voters) if (!b.voters.some((x) => sameRef(x, v))) diff++;
  for (const v of b.voters) if (!a.voters.some((x) => sameRef(x, v))) diff++;
  return diff <= 1 && b.voters.length > 0;
}

/** How many voters `members` live members should have: the largest odd number ≤ min(maxVoters, members), at least 1. */
export function targetVoterCount(members: number, maxVoters = DEFAULT_MAX_VOTERS): number {
  const n = Math.min(Math.max(1, maxVoters), Math.max(1, members));
  return n % 2 === 1 ? n : n - 1;
}

/**
 * The next safe step from `current` towards the live incarnations in
 * `wanted` (what the failure detector reports), or null when there is
 * nothing to do. The member list becomes `wanted` in one step (table
 * changes are not a quorum matter). The voters change by one, the first of:
 * 1. an even number of voters and one of them gone → remove it (with an
 *    even count, one fewer voter lowers the majority needed; with an odd
 *    count it would not, and a voter that is only cut off may come back);
 * 2. a voter gone whose name has a newer incarnation ready to vote → remove
 *    the old one (a restarted process never votes as its old self again);
 * 3. a voter gone, or fewer voters than {@link targetVoterCount} → add the
 *    lowest-named member that is not a voter, was already a member of
 *    `current` and that `promotable` accepts (it holds the log; a voter
 *    that has not received it yet could stall the majority — Raft thesis
 *    §4.2.1, learners first);
 * 4. more voters than the target, none gone → remove the highest-named.
 */
export function nextStep(
  current: MemberConfig,
  wanted: readonly MemberRef[],
  maxVoters = DEFAULT_MAX_VOTERS,
  promotable: (m: MemberRef) => boolean = () => true,
): MemberConfig | null {
  const cur = normalize(current);
  const members = uniqueByName(wanted, "wanted");
  const isWanted = (v: MemberRef): boolean => members.some((m) => sameRef(m, v));
  const gone = cur.voters.filter((v) => !isWanted(v));
  const target = targetVoterCount(members.length, maxVoters);
  const candidates = members.filter(
    (m) => !cur.voters.some((v) => v.name === m.name) && cur.members.some((c) => sameRef(c, m)) && promotable(m),
  );
  const replacedReady = gone.filter((v) => members.some((m) => m.name === v.name && !sameRef(m, v) && cur.members.some((c) => sameRef(c, m)) && promotable(m)));
  let voters = cur.voters;
  if (gone.length > 0 && cur.voters.length % 2 === 0 && cur.voters.length > 1) {
    voters = cur.voters.filter((v) => !sameRef(v, gone[0]!));
  } else if (replacedReady.length > 0 && cur.voters.length > 1) {
    voters = cur.voters.filter((v) => !sameRef(v, replacedReady[0]!));
  } else if ((gone.length > 0 || cur.voters.length < target) && candidates.length > 0) {
    voters = [...cur.voters, candidates[0]!];
  } else if (gone.length === 0 && cur.voters.length > target) {
    voters = cur.voters.slice(0, -1);
  }
  const next = normalize({ members, voters });
  return sameConfig(next, cur) ? null : next;
}
