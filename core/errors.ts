/**
 * Domain errors. Each carries the RESP error prefix (Redis' `ERR`, `WRONGTYPE`,
 * Olric's `KEYNOTFOUND`, …) and the HTTP status it maps to.
 */
export class ShoalError extends Error {
  constructor(
    /** RESP error prefix, e.g. "ERR" or "KEYNOTFOUND". */
    readonly prefix: string,
    message: string,
    /** HTTP status for the HTTP API. */
    readonly status = 400,
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
export const syntaxError = (): ShoalError => new ShoalError("ERR", "syntax error");
export const keyNotFound = (): ShoalError => new ShoalError("KEYNOTFOUND", "key not found", 404);
export const keyFound = (): ShoalError => new ShoalError("KEYFOUND", "key found", 409);
export const noSuchLock = (): ShoalError => new ShoalError("NOSUCHLOCK", "no such lock", 404);
export const lockNotAcquired = (): ShoalError => new ShoalError("LOCKNOTACQUIRED", "lock not acquired", 409);
export const tooLarge = (what: string, size: number, limit: number): ShoalError =>
  new ShoalError("ERR", `${what} is ${size} bytes, above the limit of ${limit} bytes`, 413);
