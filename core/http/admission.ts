/**
 * Admission of HTTP requests under the port's limits: requests handled at
 * once in total and from one IP address (an SSE stream counts until it
 * ends). Runtime-neutral bookkeeping; the server adapter (cmd/http-limits.ts)
 * asks {@link HttpAdmission.admit} before handing a request to the app and
 * calls the returned release once the response is done.
 */

/** Limits of {@link HttpAdmission}; 0 means unlimited. */
export interface HttpAdmissionLimits {
  maxRequests: number;
  maxRequestsPerIp: number;
}

/** Why a request was not admitted. */
export type HttpRefusal = { kind: "total"; limit: number } | { kind: "per-ip"; limit: number };

/** Counts requests in progress, in total and per IP address. */
export class HttpAdmission {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly limits: HttpAdmissionLimits) {}

  /** Requests in progress. */
  get inProgress(): number {
    return this.total;
  }

  /**
   * Admits a request from `ip`: returns a release function (call it exactly
   * once, when the response is done; later calls do nothing), or the refusal.
   */
  admit(ip: string): (() => void) | HttpRefusal {
    const { maxRequests, maxRequestsPerIp } = this.limits;
    if (maxRequests > 0 && this.total >= maxRequests) return { kind: "total", limit: maxRequests };
    const n = this.perIp.get(ip) ?? 0;
    if (maxRequestsPerIp > 0 && n >= maxRequestsPerIp) return { kind: "per-ip", limit: maxRequestsPerIp };
    this.total++;
    this.perIp.set(ip, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    };
  }
}

/** The 503 body of a refused request: `{ error, message }` like every HTTP API error. */
export function refusalBody(r: HttpRefusal): { error: string; message: string } {
  return r.kind === "total"
    ? { error: "BUSY", message: `the node already handles ${r.limit} HTTP requests (--http-max-requests); retry later` }
    : { error: "BUSY", message: `this IP address already has ${r.limit} HTTP requests in progress (--http-max-requests-per-ip); retry later` };
}
