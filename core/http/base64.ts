/** Runtime-neutral base64 (RFC 4648, with padding) of bytes. */

const CHUNK = 0x8000;

/** Encodes bytes as standard base64 with padding. */
export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}
