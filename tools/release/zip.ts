/**
 * A ZIP writer (PKWARE APPNOTE 6.3: local headers, deflate via node:zlib,
 * central directory, end record) so the Windows archive needs no zip binary.
 * Unix modes go in the external attributes (made by "Unix"), so `unzip`
 * keeps the binary executable; times are a fixed DOS timestamp, so the same
 * inputs give the same bytes. No ZIP64: every file and the archive stay
 * under 4 GiB (checked).
 */
import { crc32, deflateRawSync } from "node:zlib";
import type { ArchiveEntry } from "./archive-entry.ts";

const enc = new TextEncoder();
const LIMIT = 0xffff_ffff;

/** DOS date and time fields of a Unix time (UTC, 2-second resolution, 1980 at the earliest). */
function dosTime(unixSec: number): { date: number; time: number } {
  const d = new Date(Math.max(unixSec, 315_532_800) * 1000);
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/** The bytes of a .zip holding `entries`. @throws Error when a size passes 4 GiB. */
export function zip(entries: readonly ArchiveEntry[], mtimeSec: number): Uint8Array {
  const { date, time } = dosTime(mtimeSec);
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.path);
    const isDir = e.path.endsWith("/");
    const raw = isDir ? new Uint8Array(0) : (e.data ?? new Uint8Array(0));
    const deflated = isDir ? raw : deflateRawSync(raw, { level: 6 });
    const stored = deflated.length >= raw.length; // incompressible (or empty): store it
    const body = stored ? raw : deflated;
    if (raw.length > LIMIT || offset > LIMIT) throw new Error(`zip: ${e.path} needs ZIP64 (over 4 GiB)`);
    const crc = crc32(raw) >>> 0;
    const method = stored ? 0 : 8;

    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true); // version needed: 2.0 (deflate, directories)
    lv.setUint16(6, 0x0800, true); // UTF-8 names
    lv.setUint16(8, method, true);
    lv.setUint16(10, time, true);
    lv.setUint16(12, date, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, raw.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);

    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, (3 << 8) | 20, true); // made by Unix, spec 2.0
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, method, true);
    cv.setUint16(12, time, true);
    cv.setUint16(14, date, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, raw.length, true);
    cv.setUint16(28, name.length, true);
    const unixMode = (isDir ? 0o040000 : 0o100000) | e.mode;
    cv.setUint32(38, ((unixMode << 16) | (isDir ? 0x10 : 0)) >>> 0, true); // high 16 bits: Unix mode; low: MS-DOS directory bit
    cv.setUint32(42, offset, true);
    central.set(name, 46);

    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const centralSize = centrals.reduce((n, c) => n + c.length, 0);
  if (offset + centralSize > LIMIT) throw new Error("zip: archive needs ZIP64 (over 4 GiB)");
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + centralSize + end.length);
  let o = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}
