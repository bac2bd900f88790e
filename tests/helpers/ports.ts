/**
 * Loopback port helpers for tests: ask the kernel for a free port so
 * parallel test files and other workers on the machine do not collide.
 */
export { freePort, freePorts } from "../../cmd/ports.ts";

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
