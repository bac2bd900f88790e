const CRLF_NIL2 = new Uint8Array([36, 45, 49, 13, 10]); // $-1\r\n
const NIL3 = new Uint8Array([95, 13, 10]); // _\r\n
const OK = new Uint8Array([43, 79, 75, 13, 10]); // +OK\r\n
const enc = new TextEncoder();

/**
 * Growable output buffer of RESP replies for one client. The session
 * flushes it once per read event, so a pipelined batch costs one write.
 */
export class Reply {
  buf = new Uint8Array(16 * 1024);
  len = 0;
  /** RESP protocol version of the client (2 or 3). */
  proto = 2;

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  /** Appends bytes as they are. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  private ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let o = this.len;
    for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i) & 0xff;
    this.len = o;
  }

  private crlf(): void {
    this.ensure(2);
    this.buf[this.len++] = 13;
    this.buf[this.len++] = 10;
  }

  ok(): void {
    this.raw(OK);
  }

  /** `+s\r\n`; CR/LF in s are replaced by spaces. */
  simple(s: string): void {
    this.ascii(`+${s.replace(/[\r\n]/g, " ")}\r\n`);
  }

  /** `-s\r\n` (s already carries its prefix, e.g. "ERR …"). */
  error(s: string): void {
    const b = enc.encode(`-${s.replace(/[\r\n]/g, " ")}\r\n`);
    this.raw(b);
  }

  int(n: number | bigint): void {
    this.ascii(`:${n}\r\n`);
  }

  /** Bulk string from bytes; null writes the nil reply. */
  bulk(b: Uint8Array | null): void {
    if (b === null) return this.nil();
    this.ascii(`$${b.length}\r\n`);
    this.raw(b);
    this.crlf();
  }

  /** Bulk string from a JS string (UTF-8). */
  bulkStr(s: string): void {
    this.bulk(enc.encode(s));
  }

  /** Nil bulk (RESP2 `$-1`, RESP3 `_`). */
  nil(): void {
    this.raw(this.proto === 3 ? NIL3 : CRLF_NIL2);
  }

  /** Nil array (RESP2 `*-1`, RESP3 `_`). */
  nilArray(): void {
    this.ascii(this.proto === 3 ? "_\r\n" : "*-1\r\n");
  }

  arr(n: number): void {
    this.ascii(`*${n}\r\n`);
  }

  /** Map header: RESP3 `%n`, RESP2 a flat array of 2n. */
  map(n: number): void {
    this.ascii(this.proto === 3 ? `%${n}\r\n` : `*${n * 2}\r\n`);
  }

  /** Set header: RESP3 `~n`, RESP2 an array. */
  set(n: number): void {
    this.ascii(this.proto === 3 ? `~${n}\r\n` : `*${n}\r\n`);
  }

  /** Push header (RESP3 `>n`, RESP2 array) for pub/sub messages. */
  push(n: number): void {
    this.ascii(this.proto === 3 ? `>${n}\r\n` : `*${n}\r\n`);
  }

  /** Double: RESP3 `,` type, RESP2 a bulk string. */
  double(s: string): void {
    if (this.proto === 3) this.ascii(`,${s}\r\n`);
    else this.bulkStr(s);
  }

  /** Verbatim text (INFO): RESP3 `=len\r\ntxt:…`, RESP2 bulk. */
  verbatim(s: string): void {
    if (this.proto !== 3) return this.bulkStr(s);
    const b = enc.encode(s);
    this.ascii(`=${b.length + 4}\r\ntxt:`);
    this.raw(b);
    this.crlf();
  }

  /** Takes the pending bytes and resets the buffer (shrinks it after a big reply). */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.len);
    this.len = 0;
    return out;
  }

  /** Drops an oversized buffer after it was flushed. */
  shrink(): void {
    if (this.buf.length > 1 << 20) this.buf = new Uint8Array(16 * 1024);
  }
}
