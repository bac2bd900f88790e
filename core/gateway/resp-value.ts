/**
 * A command's reply as a typed value: what the {@link CommandGateway} hands
 * the HTTP API and the embedded API instead of RESP bytes. Decodes one
 * complete RESP2 reply (and the RESP3 types a forwarded reply may carry).
 */

/** One reply. An error keeps its code (the first word: `WRITEQUORUM`, `NOPERM`, …) apart from the text. */
export type RespValue =
  | { kind: "simple"; text: string }
  | { kind: "error"; code: string; message: string }
  | { kind: "int"; value: number; /** Exact value when outside ±2^53. */ big?: bigint }
  | { kind: "bulk"; value: Uint8Array }
  | { kind: "nil" }
  | { kind: "array"; items: RespValue[] };

const dec = new TextDecoder();

/**
 * Decodes the single reply in `bytes` (copied out: the input may be reused).
 * @throws Error when the bytes are not one complete reply (a bug in whoever wrote them).
 */
export function decodeReply(bytes: Uint8Array): RespValue {
  const r = new Reader(bytes);
  const v = r.value(0);
  if (r.pos !== bytes.length) throw new Error(`reply has ${bytes.length - r.pos} bytes after the first value`);
  return v;
}

/** The text of an error reply split into code and message ("WRITEQUORUM 1 of 2…" → code WRITEQUORUM). */
export function errorValue(line: string): RespValue {
  const sp = line.indexOf(" ");
  return sp < 0 ? { kind: "error", code: line, message: "" } : { kind: "error", code: line.slice(0, sp), message: line.slice(sp + 1) };
}

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  private line(): string {
    const b = this.b;
    const nl = b.indexOf(10, this.pos);
    if (nl < 1 || b[nl - 1] !== 13) throw new Error("truncated reply line");
    // most lines are short ASCII (lengths, integers, OK): no decoder call for them
    let s = "";
    let ascii = true;
    for (let i = this.pos + 1; i < nl - 1; i++) {
      const c = b[i]!;
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      s += String.fromCharCode(c);
    }
    if (!ascii) s = dec.decode(b.subarray(this.pos + 1, nl - 1));
    this.pos = nl + 1;
    return s;
  }

  private count(): number {
    const n = Number(this.line());
    if (!Number.isInteger(n)) throw new Error("bad length in reply");
    return n;
  }

  value(depth: number): RespValue {
    if (depth > 32) throw new Error("reply nested too deeply");
    const t = this.b[this.pos];
    switch (t) {
      case 43 /* + */:
        return { kind: "simple", text: this.line() };
      case 45 /* - */:
      case 33 /* ! */:
        return errorValue(t === 33 ? this.blob() : this.line());
      case 58 /* : */:
      case 40 /* ( */: {
        const text = this.line();
        const n = Number(text);
        return Number.isSafeInteger(n) ? { kind: "int", value: n } : { kind: "int", value: n, big: BigInt(text) };
      }
      case 44 /* , */:
        return { kind: "bulk", value: new TextEncoder().encode(this.line()) };
      case 35 /* # */:
        return { kind: "int", value: this.line() === "t" ? 1 : 0 };
      case 95 /* _ */:
        this.line();
        return { kind: "nil" };
      case 36 /* $ */:
      case 61 /* = */: {
        const n = this.count();
        if (n < 0) return { kind: "nil" };
        if (this.pos + n + 2 > this.b.length) throw new Error("truncated bulk in reply");
        let value = this.b.slice(this.pos, this.pos + n);
        if (t === 61) value = value.subarray(4); // verbatim: "txt:" prefix
        this.pos += n + 2;
        return { kind: "bulk", value };
      }
      case 42 /* * */:
      case 126 /* ~ */:
      case 62 /* > */:
      case 37 /* % */: {
        let n = this.count();
        if (n < 0) return { kind: "nil" };
        if (t === 37) n *= 2; // a map is its pairs, flat
        const items: RespValue[] = [];
        for (let i = 0; i < n; i++) items.push(this.value(depth + 1));
        return { kind: "array", items };
      }
      default:
        throw new Error(`unknown reply type byte ${t}`);
    }
  }

  private blob(): string {
    const n = this.count();
    const s = dec.decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n + 2;
    return s;
  }
}
