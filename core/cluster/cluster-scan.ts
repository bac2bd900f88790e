/**
 * SCAN (and DM.SCANALL) over the whole cluster for plain clients, by partition: the cursor
 * names a partition, a position in its owner's entry table and a tag of
 * that owner. Each call scans partitions in order on their owners
 * (`DM.SCAN p <map> <position>`), so a membership change never skips a
 * partition: when a partition's owner changed since the cursor was issued,
 * the partition is scanned again from the start on the new owner (keys may
 * repeat, as Redis allows; none present throughout the scan is missed). A
 * partition its new owner is still catching up answers TRYAGAIN; the call
 * then returns what it has with a cursor that resumes there.
 *
 * Cursor layout: an integer below 2^53 (exact in JSON and JavaScript
 * numbers, as HTTP hands it out): bits 0–15 owner tag, then ⌈log2 P⌉ bits
 * of partition, the rest the entry position on the owner (28 bits with the
 * default 271 partitions). 0 starts (and ends) a scan.
 */
import type { Args } from "../protocol/args.ts";
import type { ClientSession } from "../protocol/session.ts";
import type { Forwarder } from "./forwarding.ts";
import { fnv1a64, utf8 } from "./hash.ts";
import type { PartitionTable } from "./partition-table.ts";

const TAG_BITS = 16;
const TAG_RANGE = 2 ** TAG_BITS;
/** Owner scans one client call may make before it answers with what it has. */
const SCANS_PER_CALL = 8;

/** A decoded cluster SCAN cursor. */
export interface ScanCursor {
  partition: number;
  /** Entry position on the partition's owner (its DM.SCAN cursor). */
  position: number;
  /** {@link ownerTag} of the owner that position belongs to. */
  tag: number;
}

/** 16 bits identifying a member name (a changed owner is told apart with probability 1 − 2⁻¹⁶). */
export function ownerTag(member: string): number {
  return fnv1a64(utf8(member)).lo & (TAG_RANGE - 1);
}

/** How many values the partition field holds for `partitionCount` partitions (a power of two). */
function partitionRange(partitionCount: number): number {
  return 2 ** Math.max(1, Math.ceil(Math.log2(partitionCount)));
}

/**
 * Encodes a cursor for `partitionCount` partitions. Throws RangeError when
 * the position does not fit (a map of more than 2^28 entries on one node).
 */
export function encodeCursor(c: ScanCursor, partitionCount: number): string {
  const pr = partitionRange(partitionCount);
  const v = (c.position * pr + c.partition) * TAG_RANGE + c.tag;
  if (!Number.isSafeInteger(v)) throw new RangeError(`cluster SCAN: entry position ${c.position} does not fit in a cursor`);
  return String(v);
}

/** Decodes a cursor; null when it is not one {@link encodeCursor} produces for `partitionCount` partitions. */
export function decodeCursor(text: string, partitionCount: number): ScanCursor | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  const v = Number(text);
  if (!Number.isSafeInteger(v)) return null;
  const pr = partitionRange(partitionCount);
  const tag = v % TAG_RANGE;
  const rest = Math.floor(v / TAG_RANGE);
  const partition = rest % pr;
  if (partition >= partitionCount) return null;
  return { partition, position: Math.floor(rest / pr), tag };
}

/** SCAN options a plain client may give. */
interface ScanOptions {
  count: number;
  match: Uint8Array | null;
  /** TYPE given and not `string`: nothing matches (every value is a string). */
  none: boolean;
}

/** The options after the cursor (argument `at`). */
function scanOptions(args: Args, at: number): ScanOptions | null {
  const o: ScanOptions = { count: 10, match: null, none: false };
  for (let i = at + 1; i < args.n; i++) {
    if (args.is(i, "count") && i + 1 < args.n) {
      const n = args.intOrNull(++i);
      if (n === null || n < 1) return null;
      o.count = n;
    } else if (args.is(i, "match") && i + 1 < args.n) o.match = args.bytes(++i).slice();
    else if (args.is(i, "type") && i + 1 < args.n && at === 1) o.none = args.lower(++i) !== "string";
    else return null;
  }
  return o;
}

/**
 * One cluster scan call over `map`, the cursor in argument `at` (SCAN: 1,
 * DM.SCANALL: 2). Returns false when the arguments are not valid (the caller
 * runs the command locally, whose validation answers them).
 */
export async function clusterScan(session: ClientSession, args: Args, table: PartitionTable, f: Forwarder, map = "default", at = 1): Promise<boolean> {
  const opts = scanOptions(args, at);
  const cursor = decodeCursor(args.latin1(at), table.partitionCount);
  if (opts === null || cursor === null) return false;
  const reply = session.reply;
  if (opts.none) {
    // TYPE other than string: no value is of that type
    reply.arr(2);
    reply.bulkStr("0");
    reply.arr(0);
    return true;
  }
  const keys: Uint8Array[] = [];
  let { partition: p, position, tag } = cursor;
  if (args.latin1(at) === "0") tag = ownerTag(table.owner(0));
  // the owner walks up to `budget` entries of its table per call and returns the ones in partition p
  const budget = Math.min(65_536, Math.max(1024, opts.count * table.partitionCount));
  for (let calls = 0; calls < SCANS_PER_CALL && p < table.partitionCount && keys.length < opts.count; calls++) {
    const owner = table.owner(p);
    if (ownerTag(owner) !== tag) {
      // the partition changed owner since this cursor was issued: its positions mean nothing on the new owner
      position = 0;
      tag = ownerTag(owner);
    }
    const argv = [utf8("DM.SCAN"), utf8(String(p)), utf8(map), utf8(String(position)), utf8("COUNT"), utf8(String(budget))];
    if (opts.match) argv.push(utf8("MATCH"), opts.match);
    let page: { cursor: number; keys: Uint8Array[] } | null;
    try {
      page = parseScanReply(await f.execOn(owner, argv, 2, false, session.user));
    } catch (e) {
      reply.error(`CLUSTERDOWN ${owner}: ${e instanceof Error ? e.message : String(e)}`);
      return true;
    }
    if (page === null) break; // TRYAGAIN (the owner is catching the partition up) or an error: resume here next call
    for (const k of page.keys) keys.push(k);
    if (page.cursor === 0) {
      p++;
      position = 0;
      if (p < table.partitionCount) tag = ownerTag(table.owner(p));
    } else position = page.cursor;
  }
  reply.arr(2);
  reply.bulkStr(p >= table.partitionCount ? "0" : encodeCursor({ partition: p, position, tag }, table.partitionCount));
  reply.arr(keys.length);
  for (const k of keys) reply.bulk(k);
  return true;
}

const dec = new TextDecoder();

/** A RESP2 DM.SCAN reply (`*2 :cursor *n $key…`); null for an error reply or anything else. */
export function parseScanReply(b: Uint8Array): { cursor: number; keys: Uint8Array[] } | null {
  let o = 0;
  const line = (): string | null => {
    const nl = b.indexOf(10, o);
    if (nl < 1 || b[nl - 1] !== 13) return null;
    const s = dec.decode(b.subarray(o, nl - 1));
    o = nl + 1;
    return s;
  };
  if (line() !== "*2") return null;
  const c = line();
  if (c === null || c[0] !== ":") return null;
  const cursor = Number(c.slice(1));
  const n = line();
  if (n === null || n[0] !== "*" || !Number.isSafeInteger(cursor)) return null;
  const count = Number(n.slice(1));
  const keys: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const h = line();
    if (h === null || h[0] !== "$") return null;
    const len = Number(h.slice(1));
    if (!Number.isSafeInteger(len) || len < 0 || o + len + 2 > b.length) return null;
    keys.push(b.slice(o, o + len));
    o += len + 2;
  }
  return { cursor, keys };
}
