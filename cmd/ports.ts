/**
 * Free loopback ports: ask the kernel (bind port 0, read it, release it) so
 * parallel runs on one machine do not collide. Used by `shoal chaos --real`
 * and `--soak` to place their nodes, and by the tests.
 */
import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port assigned"))));
    });
  });
}

/** `n` distinct free loopback ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < n && attempt < n * 10; attempt++) ports.add(await freePort());
  if (ports.size < n) throw new Error(`could not find ${n} free loopback ports`);
  return [...ports];
}
