/** Shared setup for e2e tests: the compiled binary must exist (`npm run build`), else tests fail with a clear message. */
import { existsSync } from "node:fs";
import { shoalBinary } from "../helpers/processes.ts";

/** Absolute path of the binary under test ($SHOAL_BIN, default dist/shoal). */
export const BIN = shoalBinary();

/** Throws a clear error when the binary is missing. */
export function requireBinary(): string {
  if (!existsSync(BIN)) throw new Error(`shoal binary not found at ${BIN}: run \`npm run build\` or set SHOAL_BIN`);
  return BIN;
}
