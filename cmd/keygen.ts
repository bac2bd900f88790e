/**
 * `shoal keygen`: makes a new random cluster key (32 bytes from the system's
 * CSPRNG, base64url, 43 characters) for `--cluster-key-file`. Prints it, or
 * with `--out FILE` writes it to a new file readable only by its owner (0600)
 * and prints where it went, never the key.
 */
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { KEYGEN_HELP } from "./help.ts";
import { type CommandIO, parseOptions, UsageError } from "./io.ts";

/** Bytes of randomness in a key made by keygen. */
export const KEY_BYTES = 32;

/** A new random cluster key: {@link KEY_BYTES} random bytes, base64url without padding. */
export function newClusterKey(): string {
  const bytes = new Uint8Array(KEY_BYTES);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString("base64url");
}

/** Runs `shoal keygen`; returns the exit status. */
export async function runKeygen(args: readonly string[], io: CommandIO): Promise<number> {
  const { options, rest, help } = parseOptions(args, {
    "--out": { key: "out", value: true },
    "-o": { key: "out", value: true },
    "--force": { key: "force", value: false },
  });
  if (help) {
    io.out(KEYGEN_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const key = newClusterKey();
  const out = options["out"];
  if (out === undefined) {
    io.out(`${key}\n`);
    return 0;
  }
  if (existsSync(out) && options["force"] !== "true") {
    io.err(`shoal keygen: ${out} already exists; keep it (every node needs the same key) or pass --force to replace it\n`);
    return 1;
  }
  try {
    writeFileSync(out, `${key}\n`, { mode: 0o600 });
    chmodSync(out, 0o600); // an existing file (--force) keeps its old mode otherwise
  } catch (e) {
    io.err(`shoal keygen: cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 1;
  }
  io.out(`wrote a new cluster key to ${out} (mode 0600); copy it to every node and start each with --cluster-key-file ${out}\n`);
  return 0;
}
