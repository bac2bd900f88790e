/**
 * Domain errors, and the one table that maps an error code (the RESP error
 * prefix: Redis' `ERR`, `NOPERM`, Olric's `KEYNOTFOUND`, shoal's cluster
 * codes `WRITEQUORUM`, `CLUSTERDOWN`, …) to the HTTP status the HTTP API
 * answers it with.
 */

/** What the HTTP API answers for an error code. */
export interface HttpErrorMapping {
  status: number;
  /** Seconds for a Retry-After header (transient cluster conditions). */
  retryAfter?: number;
}

/**
 * Error code → HTTP status. Cluster conditions that pass by themselves are
 * 503 with Retry-After. MOVED/ASK never reach an HTTP client (the command
 * gateway forwards instead): seeing one is a bug, hence 500. Codes missing
 * here answer 500.
 */
export const HTTP_ERRORS: Readonly<Record<string, HttpErrorMapping>> = {
  ERR: { status: 400 },
  WRONGTYPE: { status: 409 },
  CROSSSLOT: { status: 400 },
  NOPROTO: { status: 400 },
  NOAUTH: { status: 401 },
  WRONGPASS: { status: 401 },
  NOPERM: { status: 403 },
  KEYNOTFOUND: { status: 404 },
  NOSUCHLOCK: { status: 404 },
  KEYFOUND: { status: 409 },
  LOCKNOTACQUIRED: { status: 409 },
  OOM: { status: 507 },
  WRITEQUORUM: { status: 503, retryAfter: 1 },
  READQUORUM: { status: 503, retryAfter: 1 },
  CLUSTERQUORUM: { status: 503, retryAfter: 1 },
  CLUSTERDOWN: { status: 503, retryAfter: 1 },
  TRYAGAIN: { status: 503, retryAfter: 1 },
  MOVED: { status: 500 },
  ASK: { status: 500 },
};

/**
 * The HTTP status and Retry-After of an error code (500 for unknown codes).
 * With the reply's message: `ERR internal error: …` (a command that crashed,
 * as the RESP session words it) is 500 too, not a client error.
 */
export function httpErrorOf(code: string, message = ""): HttpErrorMapping {
  if (code === "ERR" && message.startsWith("internal error")) return { status: 500 };
  return HTTP_ERRORS[code] ?? { status: 500 };
}

export class ShoalError extends Error {
  constructor(
    /** RESP error prefix, e.g. "ERR" or "KEYNOTFOUND". */
    readonly prefix: string,
    message: string,
    /** HTTP status for the HTTP API (default: the {@link HTTP_ERRORS} entry of the prefix). */
    readonly status = httpErrorOf(prefix).status,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ShoalError";
  }

  /** The RESP error line without the leading '-': "PREFIX message". */
  get resp(): string {
    return this.message ? `${this.prefix} ${this.message}` : this.prefix;
  }
}

export const notInteger = (): ShoalError => new ShoalError("ERR", "value is not an integer or out of range");
export const notFloat = (): ShoalError => new ShoalError("ERR", "value is not a valid float");
export const overflow = (): ShoalError => new ShoalError("ERR", "increment or decrement would overflow");
/** Redis' error for a command on a key of another type (GET on a hash, SADD on a string…). */
export const wrongType = (): ShoalError => new ShoalError("WRONGTYPE", "Operation against a key holding the wrong kind of value", 409);
export const syntaxError = (): ShoalError => new ShoalError("ERR", "syntax error");
export const keyNotFound = (): ShoalError => new ShoalError("KEYNOTFOUND", "key not found");
export const keyFound = (): ShoalError => new ShoalError("KEYFOUND", "key found");
export const noSuchLock = (): ShoalError => new ShoalError("NOSUCHLOCK", "no such lock");
export const lockNotAcquired = (): ShoalError => new ShoalError("LOCKNOTACQUIRED", "lock not acquired");
export const tooLarge = (what: string, size: number, limit: number): ShoalError =>
  new ShoalError("ERR", `${what} is ${size} bytes, above the limit of ${limit} bytes`, 413);
