/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
 * common subsequence of two strings by the classic dynamic-programming
 * table, walked back exactly as Redis walks it so IDX ranges come out in
 * the same order.
 */
import { ShoalError, syntaxError } from "../../errors.ts";
import { type Command, type CommandContext, cmd } from "../command.ts";

/** Most table cells one LCS may allocate (4 bytes each): 64 Mi cells, 256 MiB. */
const MAX_CELLS = 64 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

function lcs(ctx: CommandContext): void {
  const args = ctx.args;
  let getLen = false;
  let getIdx = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let i = 3; i < args.n; i++) {
    if (args.is(i, "len")) getLen = true;
    else if (args.is(i, "idx")) getIdx = true;
    else if (args.is(i, "withmatchlen")) withMatchLen = true;
    else if (args.is(i, "minmatchlen") && i + 1 < args.n) minMatchLen = Math.max(0, args.int(++i));
    else throw syntaxError();
  }
  if (getLen && getIdx) throw new ShoalError("ERR", "If you want both the length and indexes, please just use IDX.");
  const db = ctx.node.db;
  const ia = db.lookup(args.buf, args.off[1]!, args.len[1]!);
  const ib = db.lookup(args.buf, args.off[2]!, args.len[2]!);
  if ((ia >= 0 && !db.table.isString(ia)) || (ib >= 0 && !db.table.isString(ib)))
    throw new ShoalError("ERR", "The specified keys must contain string values");
  const a = ia < 0 ? EMPTY : db.table.value(ia);
  const b = ib < 0 ? EMPTY : db.table.value(ib);
  const alen = a.length;
  const blen = b.length;
  if ((alen + 1) * (blen + 1) > MAX_CELLS)
    throw new ShoalError("ERR", `Insufficient memory, LCS of ${alen} and ${blen} bytes needs more than ${MAX_CELLS} table cells`);
  const w = blen + 1;
  const table = new Uint32Array((alen + 1) * w);
  for (let i = 1; i <= alen; i++) {
    for (let j = 1; j <= blen; j++) {
      table[i * w + j] = a[i - 1] === b[j - 1] ? table[(i - 1) * w + j - 1]! + 1 : Math.max(table[(i - 1) * w + j]!, table[i * w + j - 1]!);
    }
  }
  const total = table[alen * w + blen]!;
  const r = ctx.reply;
  if (getLen) return r.int(total);
  const result = new Uint8Array(total);
  const ranges: [number, number, number, number][] = [];
  let idx = total;
  let aStart = alen;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1]!;
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else emit = true;
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (table[(i - 1) * w + j]! > table[i * w + j - 1]!) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    if (emit) {
      if (minMatchLen === 0 || aEnd - aStart + 1 >= minMatchLen) ranges.push([aStart, aEnd, bStart, bEnd]);
      aStart = alen;
    }
  }
  if (!getIdx) return r.bulk(result);
  r.map(2);
  r.bulkStr("matches");
  r.arr(ranges.length);
  for (const [as, ae, bs, be] of ranges) {
    r.arr(withMatchLen ? 3 : 2);
    r.arr(2);
    r.int(as);
    r.int(ae);
    r.arr(2);
    r.int(bs);
    r.int(be);
    if (withMatchLen) r.int(ae - as + 1);
  }
  r.bulkStr("len");
  r.int(total);
}

/** LCS. */
export const lcsCommands: Command[] = [cmd("lcs", -3, "readonly", [1, 2, 1], lcs)];
