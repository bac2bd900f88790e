/**
 * The origin of the edge benchmark: every path answers `--size` bytes,
 * cacheable for an hour (Cache-Control, ETag, Last-Modified), and counts
 * what it served (GET /__count). Runs as its own process.
 *
 *   bun bench/edge/origin.ts --port 18080 --size 1024
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "18080" }, size: { type: "string", default: "1024" } } });
const body = new Uint8Array(Number(values.size)).fill(120);
const modified = new Date(Date.UTC(2025, 0, 1)).toUTCString();
let served = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  fetch(req) {
    if (new URL(req.url).pathname === "/__count") return new Response(String(served));
    served++;
    return new Response(body, { headers: { "content-type": "application/octet-stream", "cache-control": "public, max-age=3600", etag: '"bench-1"', "last-modified": modified } });
  },
});
console.log(`origin listening on ${server.port}`);
