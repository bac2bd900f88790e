/** One file or directory in a release archive. */
export interface ArchiveEntry {
  /** Path inside the archive, "/"-separated; directories end with "/". */
  path: string;
  /** File contents (absent for directories). */
  data?: Uint8Array;
  /** Unix permission bits (0o755 for the binary, 0o644 for documents, 0o755 for directories). */
  mode: number;
}
