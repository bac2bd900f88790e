import type { Logger } from "../core/discovery.ts";

/**
 * Waits for SIGINT/SIGTERM, then closes the node; resolves the exit status:
 * 0 after a clean close, 1 when closing fails, exceeds `forceMs`, or a second
 * signal arrives. `listen` registers a signal handler on the runtime at hand.
 */
export function untilStopped(
  close: () => Promise<unknown>,
  log: Logger,
  forceMs: number,
  listen: (signal: "SIGINT" | "SIGTERM", handler: () => void) => void,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn("forced exit", { signal });
        resolve(1);
        return;
      }
      stopping = true;
      log.info("shutting down", { signal });
      const force = setTimeout(() => {
        log.error("shutdown timed out", { afterMs: forceMs });
        resolve(1);
      }, forceMs);
      close().then(
        () => {
          clearTimeout(force);
          log.info("stopped");
          resolve(0);
        },
        (err: Error) => {
          clearTimeout(force);
          log.error("shutdown failed", { error: err.message });
          resolve(1);
        },
      );
    };
    listen("SIGINT", () => stop("SIGINT"));
    listen("SIGTERM", () => stop("SIGTERM"));
  });
}
