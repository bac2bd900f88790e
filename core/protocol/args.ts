import { notInteger } from "../errors.ts";

const dec = new TextDecoder();

/**
 * Arguments of one command as byte ranges into the read buffer: no copies.
 * Views are valid only while the command executes synchronously; copy
 * (`bytes(i).slice()`) anything kept longer.
 */
export class Args {
  buf: Uint8Array = new Uint8Array(0);
  off = new Int32Array(16);
  len = new Int32Array(16);
  n = 0;

  /** Makes room for `n` arguments. */
  reserve(n: number): void {
    if (n <= this.off.length) return;
    let cap = this.off.length;
    while (cap < n) cap *= 2;
    this.off = new Int32Array(cap);
    this.len = new Int32Array(cap);
  }

  /**
   * An independent copy (own buffer): for a command that runs after an
   * await, when the read buffer its views point into may have been reused.
   */
  copy(): Args {
    const c = new Args();
    c.reserve(this.n);
    let size = 0;
    for (let i = 0; i < this.n; i++) size += this.len[i]!;
    c.buf = new Uint8Array(size);
    let o = 0;
    for (let i = 0; i < this.n; i++) {
      c.buf.set(this.bytes(i), o);
      c.off[i] = o;
      c.len[i] = this.len[i]!;
      o += this.len[i]!;
    }
    c.n = this.n;
    return c;
  }

  /** View of argument i. */
  bytes(i: number): Uint8Array {
    const o = this.off[i]!;
    return this.buf.subarray(o, o + this.len[i]!);
  }

  /** Argument i decoded as UTF-8. */
  str(i: number): string {
    return dec.decode(this.bytes(i));
  }

  /** Argument i as a latin1 string with ASCII letters lower-cased (command names, options). */
  lower(i: number): string {
    const o = this.off[i]!;
    const n = this.len[i]!;
    let s = "";
    for (let k = 0; k < n; k++) {
      let c = this.buf[o + k]!;
      if (c >= 65 && c <= 90) c += 32;
      s += String.fromCharCode(c);
    }
    return s;
  }

  /** Argument i as a raw latin1 string (byte for byte), for Redis-style error echoes. */
  latin1(i: number): string {
    const o = this.off[i]!;
    const n = Math.min(this.len[i]!, 4096);
    let s = "";
    for (let k = 0; k < n; k++) s += String.fromCharCode(this.buf[o + k]!);
    return s;
  }

  /** Case-insensitive compare of argument i with a lower-case ASCII literal. */
  is(i: number, lit: string): boolean {
    const n = this.len[i]!;
    if (n !== lit.length) return false;
    const o = this.off[i]!;
    for (let k = 0; k < n; k++) {
      let c = this.buf[o + k]!;
      if (c >= 65 && c <= 90) c += 32;
      if (c !== lit.charCodeAt(k)) return false;
    }
    return true;
  }

  /** Argument i as a safe integer (Redis string2ll rules); throws ERR not an integer. */
  int(i: number): number {
    const v = this.intOrNull(i);
    if (v === null) throw notInteger();
    return v;
  }

  /** Argument i as an integer within ±2^53, or null. */
  intOrNull(i: number): number | null {
    const o = this.off[i]!;
    const n = this.len[i]!;
    if (n === 0 || n > 20) return null;
    let k = 0;
    let neg = false;
    if (this.buf[o] === 45) {
      if (n === 1) return null;
      neg = true;
      k = 1;
    }
    if (this.buf[o + k] === 48 && n > k + 1) return null;
    let v = 0;
    for (; k < n; k++) {
      const c = this.buf[o + k]!;
      if (c < 48 || c > 57) return null;
      v = v * 10 + (c - 48);
    }
    if (v > Number.MAX_SAFE_INTEGER) {
      // within int64 Redis accepts it (then usually rejects the value's meaning); keep it approximate
      const big = BigInt(this.latin1(i));
      if (big > 9223372036854775807n || big < -9223372036854775808n) return null;
    }
    if (neg && v === 0) return null;
    return neg ? -v : v;
  }
}
